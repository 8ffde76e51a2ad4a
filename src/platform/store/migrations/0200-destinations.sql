-- Destinations, delivery jobs and the delivery log. Owned by src/engine/destinations
-- and src/activate/engine/dispatcher.ts.

-- Configured destination instances. Secret settings are stored encrypted (AES-256-GCM,
-- `enc:v1:…`, see src/activate/core/secrets.ts) and never returned by the API.
CREATE TABLE destinations (
  workspace_id          text NOT NULL,
  id                    text NOT NULL,
  type                  text NOT NULL,
  name                  text NOT NULL,
  settings              jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- { forwardEvents?: { events?, types?, where?, mapping? }, upsertProfiles?, syncAudience? }
  actions               jsonb NOT NULL DEFAULT '{}'::jsonb,
  enabled               boolean NOT NULL DEFAULT true,
  -- Requests per second for this instance's token bucket; NULL = the manifest's default.
  rate_limit            double precision,
  status                text NOT NULL DEFAULT 'healthy' CHECK (status IN ('healthy', 'degraded')),
  consecutive_failures  integer NOT NULL DEFAULT 0,
  last_error            text,
  last_success_at       timestamptz,
  last_failure_at       timestamptz,
  created_at            timestamptz NOT NULL,
  updated_at            timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX destinations_id_key ON destinations (id);

-- One unit of work for one destination (the transform's input, minus the profile snapshot,
-- which is read at send time). Claimed with FOR UPDATE SKIP LOCKED; `dead` = dead letter.
CREATE TABLE delivery_jobs (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id     text NOT NULL,
  destination_id   text NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('event', 'profile', 'audience', 'delete')),
  profile_id       text,
  input            jsonb NOT NULL,
  -- Same work, same key: a reprocessed event or a repeated outbox row is not enqueued twice.
  idempotency_key  text NOT NULL,
  state            text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'in_flight', 'succeeded', 'skipped', 'dead')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  -- Lease of an in_flight job: a dispatcher that died leaves it claimable again after this.
  locked_until     timestamptz,
  last_error       text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  finished_at      timestamptz
);
CREATE UNIQUE INDEX delivery_jobs_idempotency ON delivery_jobs (destination_id, idempotency_key);
CREATE INDEX delivery_jobs_due ON delivery_jobs (destination_id, next_attempt_at)
  WHERE state IN ('pending', 'in_flight');
CREATE INDEX delivery_jobs_by_state ON delivery_jobs (workspace_id, destination_id, state, id);

-- Every attempt: one row per request (or SQL statement, or file) sent, with what came back.
CREATE TABLE delivery_attempts (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id      text NOT NULL,
  destination_id    text NOT NULL,
  job_ids           bigint[] NOT NULL,
  attempt           integer NOT NULL,
  -- success | retry | failed | partial | skipped
  status            text NOT NULL,
  -- The redacted effect (src/activate/core/secrets.ts redactEffectForLog).
  request           jsonb NOT NULL,
  response_status   integer,
  response_excerpt  text,
  latency_ms        double precision,
  error             text,
  at                timestamptz NOT NULL
);
CREATE INDEX delivery_attempts_destination ON delivery_attempts (workspace_id, destination_id, id DESC);

-- Last traits the destinations stage saw per profile, to find which traits an event changed
-- (kept only while some destination upserts profiles).
CREATE TABLE destination_profile_traits (
  workspace_id  text NOT NULL,
  profile_id    text NOT NULL,
  traits        jsonb NOT NULL,
  PRIMARY KEY (workspace_id, profile_id)
);
