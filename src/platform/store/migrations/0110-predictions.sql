-- Predictions (src/understand/engine/predictions): a named model per workspace, trained in the
-- background on the one leased queue (src/platform/jobs/leased-queue.ts): the row is the job.
-- `queued` waits for a worker; `training` is held by a lease (`locked_until`) and is claimable
-- again when that runs out (the worker died); `ready` has a report and traits on profiles;
-- `insufficient_data` has a report that says why no model was trained; `failed` is the dead
-- letter after the attempts. Outputs are computed_trait_values rows with the reserved ids
-- `predicted.<name>.<output>` (src/understand/core/predictions/prediction-traits.ts).
CREATE TABLE predictions (
  workspace_id  text NOT NULL,
  id            text NOT NULL,
  name          text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('clv')),
  -- The kind's settings, parsed (defaults filled in): src/understand/core/predictions clvSettingsSchema.
  settings      jsonb NOT NULL,
  status        text NOT NULL
    CHECK (status IN ('queued', 'training', 'ready', 'insufficient_data', 'failed')),
  -- { phase, at } while training: reading, fitting, scoring, writing.
  progress      jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- The model report of the last finished training (or the reasons none was trained).
  report        jsonb,
  error         text,
  attempts      integer NOT NULL DEFAULT 0,
  next_run_at   timestamptz NOT NULL,
  locked_until  timestamptz,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  started_at    timestamptz,
  finished_at   timestamptz,
  trained_at    timestamptz,
  PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX predictions_name ON predictions (workspace_id, name);
CREATE INDEX predictions_due ON predictions (next_run_at) WHERE status IN ('queued', 'training');
