-- Database sources (reverse ETL): connections, models, runs and the per-row snapshot that makes
-- change detection and mirror deletions possible. Owned by src/collect/engine/syncs (ADR 0019).

-- A database Kindred reads from. The password is sealed with the secret key (the same AES-GCM
-- code and key as destination secrets); the other settings are plain.
CREATE TABLE sync_connections (
  workspace_id    text NOT NULL,
  id              text NOT NULL,
  name            text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('postgres', 'mysql')),
  settings        jsonb NOT NULL,
  password_sealed text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);

-- A table or SELECT of a connection, what each row becomes, and when it runs. Each model writes
-- through its own source, so provenance on golden records names the model.
CREATE TABLE sync_models (
  workspace_id    text NOT NULL,
  id              text NOT NULL,
  connection_id   text NOT NULL,
  source_id       text NOT NULL,
  name            text NOT NULL,
  definition      jsonb NOT NULL,
  schedule        jsonb,
  next_run_at     timestamptz,
  -- Highest cursor value of the last succeeded run (cursor models read from it on).
  watermark       text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX sync_models_due ON sync_models (next_run_at) WHERE next_run_at IS NOT NULL;

-- One run of a model: a job of the leased queue (src/platform/jobs), with its counters and the
-- checkpoint (the last source key whose batch is durable) a resumed attempt starts after.
CREATE TABLE sync_runs (
  workspace_id    text NOT NULL,
  id              text NOT NULL,
  model_id        text NOT NULL,
  trigger         text NOT NULL,
  status          text NOT NULL
                  CHECK (status IN ('queued', 'running', 'retrying', 'succeeded', 'failed')),
  run_at          timestamptz NOT NULL,
  leased_until    timestamptz,
  attempts        integer NOT NULL DEFAULT 0,
  error           text,
  checkpoint_key  text,
  rows_read       bigint NOT NULL DEFAULT 0,
  rows_changed    bigint NOT NULL DEFAULT 0,
  rows_sent       bigint NOT NULL DEFAULT 0,
  rows_skipped    bigint NOT NULL DEFAULT 0,
  rows_rejected   bigint NOT NULL DEFAULT 0,
  rows_deleted    bigint NOT NULL DEFAULT 0,
  max_cursor      text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  started_at      timestamptz,
  finished_at     timestamptz,
  PRIMARY KEY (workspace_id, id)
);
-- One run at a time per model: a second one cannot even be queued while one is not over.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (workspace_id, model_id)
  WHERE status IN ('queued', 'running', 'retrying');
CREATE INDEX sync_runs_ready ON sync_runs (run_at) WHERE status IN ('queued', 'retrying');
CREATE INDEX sync_runs_by_model ON sync_runs (workspace_id, model_id, created_at);

-- What Kindred knows of each source row: its checksum (a change is a different checksum), a
-- version counted per change (part of the messageId, so a row that changes back is sent again),
-- who it was (identity, to remove what it set when mirror sees it deleted), the traits it set,
-- and the last run that saw it (rows a full scan did not see are gone).
CREATE TABLE sync_rows (
  workspace_id    text NOT NULL,
  model_id        text NOT NULL,
  row_key         text NOT NULL,
  checksum        text NOT NULL,
  version         integer NOT NULL DEFAULT 1,
  sent            boolean NOT NULL,
  identity        jsonb NOT NULL DEFAULT '{}'::jsonb,
  fields          jsonb NOT NULL DEFAULT '[]'::jsonb,
  seen_run        text,
  PRIMARY KEY (workspace_id, model_id, row_key)
);

-- Every rejected row of a run with its reasons (downloadable as JSON lines).
CREATE TABLE sync_rejects (
  workspace_id    text NOT NULL,
  run_id          text NOT NULL,
  row_key         text NOT NULL,
  raw             jsonb NOT NULL,
  errors          jsonb NOT NULL,
  PRIMARY KEY (workspace_id, run_id, row_key)
);
