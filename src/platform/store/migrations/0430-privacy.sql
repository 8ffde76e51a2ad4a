-- Privacy requests and suppressions. Owned by src/govern/engine/privacy.
--
-- Neither table keeps a person's identifiers in clear once a request is done: identifiers are
-- stored as sha256(type || ':' || normalised value) plus a masked form for people to read, and the
-- working state of a request (`subject`: resolved profile ids and identifiers) is cleared when a
-- deletion completes. The deletion sweep test searches every table for the person afterwards.

CREATE TABLE privacy_requests (
  workspace_id     text NOT NULL,
  id               text NOT NULL,
  type             text NOT NULL CHECK (type IN ('access', 'deletion', 'suppression')),
  status           text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
  identifier_type  text NOT NULL,
  identifier_hash  text NOT NULL,
  identifier_mask  text NOT NULL,
  -- Working state: { identifier?, profileId?, profileIds?, identities?, jobs? }. Holds personal
  -- data while the request runs; a completed deletion leaves it '{}'.
  subject          jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Per-step receipts: [{ step, status, at, details }] and per-destination deletion receipts.
  steps            jsonb NOT NULL DEFAULT '[]'::jsonb,
  destinations     jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- Who asked (API key id) and how often a worker picked it up.
  actor            text,
  attempts         integer NOT NULL DEFAULT 0,
  error            text,
  -- Worker lease and wake-up: a request whose lease ran out is picked up again (restarts).
  next_run_at      timestamptz NOT NULL,
  locked_until     timestamptz,
  created_at       timestamptz NOT NULL,
  started_at       timestamptz,
  updated_at       timestamptz NOT NULL,
  finished_at      timestamptz,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX privacy_requests_list ON privacy_requests (workspace_id, created_at DESC, id DESC);
CREATE INDEX privacy_requests_due ON privacy_requests (next_run_at)
  WHERE status IN ('pending', 'running');

-- Identifiers blocked at ingest. `reason` 'suppression' is permanent until removed; 'deletion' is a
-- tombstone a deletion request adds, lifted at `expires_at` (see src/govern/engine/privacy/README.md).
CREATE TABLE privacy_suppressions (
  workspace_id     text NOT NULL,
  id               text NOT NULL,
  identifier_type  text NOT NULL,
  identifier_hash  text NOT NULL,
  identifier_mask  text NOT NULL,
  reason           text NOT NULL CHECK (reason IN ('suppression', 'deletion')),
  request_id       text,
  dropped_count    bigint NOT NULL DEFAULT 0,
  last_dropped_at  timestamptz,
  created_at       timestamptz NOT NULL,
  expires_at       timestamptz,
  PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX privacy_suppressions_hash
  ON privacy_suppressions (workspace_id, identifier_hash, reason);
