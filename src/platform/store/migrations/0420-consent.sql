-- Consent per purpose: every decision received, the workspace's settings. The current
-- state stays in profile_consents (0001), following the latest decision by occurred_at.
CREATE TABLE consent_history (
  workspace_id  text NOT NULL,
  profile_id    text NOT NULL,
  id            bigint GENERATED ALWAYS AS IDENTITY,
  purpose       text NOT NULL,
  status        text NOT NULL CHECK (status IN ('granted', 'denied')),
  source        text NOT NULL CHECK (source IN ('event', 'api', 'import')),
  -- event: the source id; api: the API key (actor) id
  source_id     text,
  -- event: its messageId; api: the request id
  proof         text NOT NULL,
  details       jsonb NOT NULL DEFAULT '{}',
  occurred_at   timestamptz NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, profile_id, id)
);
CREATE INDEX consent_history_by_time ON consent_history (workspace_id, profile_id, occurred_at DESC);

CREATE TABLE consent_settings (
  workspace_id  text PRIMARY KEY,
  settings      jsonb NOT NULL,
  updated_at    timestamptz NOT NULL
);
