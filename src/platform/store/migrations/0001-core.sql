-- Kindred core schema. Every table carries workspace_id; profile-keyed tables are keyed by
-- (workspace_id, profile_id) so a distributed Postgres (Citus) can shard and co-locate them.

CREATE TABLE workspaces (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Admin and scoped API keys. Only a SHA-256 of the secret is kept: keys are high-entropy random
-- tokens, so a slow password hash buys nothing and would cost every request.
CREATE TABLE api_keys (
  id            text PRIMARY KEY,
  workspace_id  text REFERENCES workspaces(id) ON DELETE CASCADE,
  name          text NOT NULL,
  key_hash      text NOT NULL UNIQUE,
  key_prefix    text NOT NULL,
  scopes        text[] NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);

CREATE TABLE sources (
  workspace_id    text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id              text NOT NULL,
  name            text NOT NULL,
  write_key_hash  text NOT NULL UNIQUE,
  write_key_prefix text NOT NULL,
  settings        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX sources_id_key ON sources (id);

-- The durable event log (default adapter of src/platform/stream). One row per accepted ingest request
-- chunk: ingest group-commits many requests in one INSERT and answers 200 only after COMMIT.
-- The processor reads it in seq order and expands rows into the events store.
CREATE TABLE event_log (
  seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  text NOT NULL,
  source_id     text NOT NULL,
  received_at   timestamptz NOT NULL,
  event_count   integer NOT NULL,
  -- A JSON array of canonical events, kept as text: ingest already serialised it, and jsonb
  -- parsing on the hot path would cost more than the processor's JSON.parse.
  events        text NOT NULL
);
ALTER TABLE event_log ALTER COLUMN events SET STORAGE EXTERNAL;

-- Consumer cursors over the event log (one row per consumer group and partition).
CREATE TABLE stream_cursors (
  consumer   text NOT NULL,
  partition  integer NOT NULL DEFAULT 0,
  position   bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, partition)
);

-- Dedup index for messageIds per source (SDKs retry whole requests). Kept apart from the
-- time-partitioned events table because a partitioned table's unique keys must contain the
-- partition key, and a retried event can carry a different timestamp.
CREATE TABLE event_ids (
  workspace_id  text NOT NULL,
  source_id     text NOT NULL,
  message_id    text NOT NULL,
  seen_at       timestamptz NOT NULL,
  PRIMARY KEY (source_id, message_id)
);

-- The event store: append-only, every field received (payload), partitioned by event time.
CREATE TABLE events (
  workspace_id   text NOT NULL,
  profile_id     text,
  source_id      text NOT NULL,
  message_id     text NOT NULL,
  seq            bigint NOT NULL,
  type           text NOT NULL,
  event          text,
  user_id        text,
  anonymous_id   text,
  "timestamp"    timestamptz NOT NULL,
  received_at    timestamptz NOT NULL,
  properties     jsonb NOT NULL DEFAULT '{}'::jsonb,
  traits         jsonb NOT NULL DEFAULT '{}'::jsonb,
  context        jsonb NOT NULL DEFAULT '{}'::jsonb,
  payload        jsonb NOT NULL
) PARTITION BY RANGE ("timestamp");
-- A default partition catches everything; the scheduler adds monthly partitions ahead of time
-- (see src/platform/store/partitions.ts) and rows outside them still land here, never rejected.
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_profile_time ON events (workspace_id, profile_id, "timestamp" DESC);
CREATE INDEX events_source_seq ON events (source_id, seq);
CREATE INDEX events_message ON events (workspace_id, message_id);

CREATE TABLE profiles (
  workspace_id  text NOT NULL,
  id            text NOT NULL,
  traits        jsonb NOT NULL DEFAULT '{}'::jsonb,
  merged_into   text,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  first_seen_at timestamptz,
  last_seen_at  timestamptz,
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE computed_trait_values (
  workspace_id      text NOT NULL,
  profile_id        text NOT NULL,
  computed_trait_id text NOT NULL,
  value             jsonb,
  state             jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at        timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, profile_id, computed_trait_id)
);

CREATE TABLE segment_members (
  workspace_id  text NOT NULL,
  segment_id    text NOT NULL,
  profile_id    text NOT NULL,
  entered_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, segment_id, profile_id)
);

CREATE TABLE profile_consents (
  workspace_id  text NOT NULL,
  profile_id    text NOT NULL,
  purpose       text NOT NULL,
  status        text NOT NULL CHECK (status IN ('granted', 'denied')),
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, profile_id, purpose)
);

CREATE TABLE outbox (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  text NOT NULL,
  kind          text NOT NULL,
  profile_id    text,
  payload       jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
