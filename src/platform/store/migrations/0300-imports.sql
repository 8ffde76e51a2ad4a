-- Batch imports of CSV/JSONL files. Owned by src/engine/imports.
-- One row per import run. Rows become events in the event log; this record keeps the
-- checkpoint (every row up to checkpoint_row is durably appended or rejected) for resume, the
-- counters for progress, and a sample of the first rejected rows for the API.
CREATE TABLE imports (
  workspace_id    text NOT NULL,
  id              text NOT NULL,
  source_id       text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('profiles', 'events')),
  format          text NOT NULL CHECK (format IN ('csv', 'jsonl')),
  mapping         jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- hash(source, kind, format, mapping, file content): the same file imported the same way has
  -- the same key, hence the same messageIds (re-imports change nothing).
  import_key      text,
  file_name       text,
  file_hash       text,
  file_size       bigint,
  -- Where the rejected rows are written (a file on the machine that ran the import).
  rejects_path    text,
  status          text NOT NULL
                  CHECK (status IN ('awaiting_upload', 'running', 'completed', 'failed')),
  -- Timestamp of rows without one, and receivedAt of every row: fixed, so replays are identical.
  import_time     timestamptz NOT NULL,
  rows_read       bigint NOT NULL DEFAULT 0,
  rows_accepted   bigint NOT NULL DEFAULT 0,
  rows_rejected   bigint NOT NULL DEFAULT 0,
  bytes_read      bigint NOT NULL DEFAULT 0,
  checkpoint_row  bigint NOT NULL DEFAULT 0,
  -- Size of the rejects file at the checkpoint: a resume cuts it back to this.
  rejects_bytes   bigint NOT NULL DEFAULT 0,
  errors          jsonb NOT NULL DEFAULT '[]'::jsonb,
  error           text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  finished_at     timestamptz,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX imports_key_idx ON imports (workspace_id, import_key);
