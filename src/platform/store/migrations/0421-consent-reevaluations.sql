-- Audience re-evaluations after a consent settings change (src/govern/engine/consent/reevaluation.ts).
--
-- A change of the default for profiles that never answered (`unknown`, `unknownByPurpose`) flips
-- whether their data may go to the destinations of a purpose. The settings write inserts one row
-- here in its own transaction (so the change and the work it owes commit together); a worker
-- then walks the members of the synced audiences in chunks, one transaction per chunk that
-- queues the delivery jobs and advances the cursor, so a crash resumes where it stopped.
CREATE TABLE consent_reevaluations (
  workspace_id    text NOT NULL,
  id              bigint GENERATED ALWAYS AS IDENTITY,
  -- [{ "purpose": "advertising", "action": "remove" | "add" }]
  flips           jsonb NOT NULL,
  status          text NOT NULL CHECK (status IN ('pending', 'completed')),
  -- Keyset cursor over segment_members (segment_id, profile_id): the last member done. Cleared
  -- when completed (a profile id is not kept longer than the work needs it).
  cursor_segment  text,
  cursor_profile  text,
  members_seen    bigint NOT NULL DEFAULT 0,
  jobs_queued     bigint NOT NULL DEFAULT 0,
  -- Who changed the settings (API key id).
  actor           text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  finished_at     timestamptz,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX consent_reevaluations_pending ON consent_reevaluations (id) WHERE status = 'pending';
