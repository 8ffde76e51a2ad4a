-- Probabilistic identity matching in the CDP. Owned by src/unify/engine/matching.

-- Per-workspace matching settings (thresholds, trait mapping, schedule); defaults when absent.
CREATE TABLE matching_settings (
  workspace_id  text PRIMARY KEY,
  settings      jsonb NOT NULL,
  updated_at    timestamptz NOT NULL
);

-- One row per matching run (on demand, scheduled, after an import), with its counts and timing.
CREATE TABLE matching_runs (
  workspace_id     text NOT NULL,
  id               text NOT NULL,
  trigger          text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'import')),
  status           text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  profiles         integer NOT NULL DEFAULT 0,
  changed_profiles integer NOT NULL DEFAULT 0,
  candidate_pairs  integer NOT NULL DEFAULT 0,
  auto_merged      integer NOT NULL DEFAULT 0,
  queued           integer NOT NULL DEFAULT 0,
  blocked          integer NOT NULL DEFAULT 0,
  skipped_decided  integer NOT NULL DEFAULT 0,
  timings          jsonb NOT NULL DEFAULT '{}'::jsonb,
  error            text,
  started_at       timestamptz NOT NULL,
  finished_at      timestamptz,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX matching_runs_started ON matching_runs (workspace_id, started_at DESC);
-- At most one run per workspace at a time, across nodes.
CREATE UNIQUE INDEX matching_runs_one_running ON matching_runs (workspace_id) WHERE status = 'running';

-- Candidate pairs a run kept: the review queue (pending) and every decision. profile_a < profile_b.
-- A rejected pair is a remembered non-match; runs resolve both sides to their live survivors, so
-- the non-match follows a profile that is later merged into another.
CREATE TABLE matching_pairs (
  workspace_id  text NOT NULL,
  id            text NOT NULL,
  profile_a     text NOT NULL,
  profile_b     text NOT NULL,
  status        text NOT NULL CHECK (status IN ('pending', 'merged', 'rejected', 'stale')),
  probability   double precision NOT NULL,
  explanation   jsonb NOT NULL,
  -- Why a pair above the auto-merge threshold waits for review (identity rules), else null.
  reason        text,
  run_id        text,
  created_at    timestamptz NOT NULL,
  decided_at    timestamptz,
  decided_by    text,
  PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX matching_pairs_profiles ON matching_pairs (workspace_id, profile_a, profile_b);
CREATE INDEX matching_pairs_pending ON matching_pairs (workspace_id, probability DESC, id) WHERE status = 'pending';

-- The last m/u/λ estimated by EM on enough candidate pairs. A run with few candidates (typically
-- an incremental run after the bulk of duplicates merged) scores with these instead of running
-- EM on a handful of pairs, where λ drifts to 1 and every candidate looks certain.
CREATE TABLE matching_models (
  workspace_id     text PRIMARY KEY,
  parameters       jsonb NOT NULL,
  candidate_pairs  integer NOT NULL,
  trained_at       timestamptz NOT NULL
);
