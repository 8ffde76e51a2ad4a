-- Segments and computed traits. Owned by src/understand/core/segments and src/understand/core/computed-traits.
--
-- The helper functions below are the SQL half of the value coercion rules in
-- src/understand/core/segments/value-condition.ts; the in-memory evaluator implements the same rules in
-- TypeScript and the agreement tests prove both give the same answer. Change both together.

-- A JSON value as a number: JSON numbers, and strings that are plain decimals
-- (-?digits[.digits], at most 15 digits on each side). Anything else is NULL.
CREATE OR REPLACE FUNCTION kindred_num(v jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(v)
    WHEN 'number' THEN CASE WHEN abs(v::numeric) < 1e300 THEN v::double precision END
    WHEN 'string' THEN CASE WHEN (v #>> '{}') ~ '^-?[0-9]{1,15}(\.[0-9]{1,15})?$'
      THEN (v #>> '{}')::double precision END
  END
$$;

-- A JSON value as a boolean: JSON booleans and the exact strings 'true' / 'false'.
CREATE OR REPLACE FUNCTION kindred_bool(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(v)
    WHEN 'boolean' THEN v::boolean
    WHEN 'string' THEN CASE v #>> '{}' WHEN 'true' THEN true WHEN 'false' THEN false END
  END
$$;

-- ASCII-only case folding (A-Z -> a-z): identical in every locale and in JavaScript.
CREATE OR REPLACE FUNCTION kindred_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT translate(t, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
$$;

-- A JSON string holding an ISO 8601 date or date-time as epoch milliseconds (UTC when no
-- offset is given; fractions beyond milliseconds are truncated). Anything else is NULL.
-- Computed by arithmetic rather than a ::timestamptz cast so that it never raises an error
-- and never depends on the session time zone or DateStyle.
CREATE OR REPLACE FUNCTION kindred_ts_ms(v jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN m IS NULL THEN NULL
    WHEN m[2]::int NOT BETWEEN 1 AND 12 OR m[3]::int NOT BETWEEN 1 AND 31
      OR coalesce(m[4]::int, 0) > 23 OR coalesce(m[5]::int, 0) > 59
      OR coalesce(m[6]::int, 0) > 59 OR coalesce(m[10]::int, 0) > 23
      OR coalesce(m[11]::int, 0) > 59 THEN NULL
    ELSE extract(epoch FROM make_date(m[1]::int, m[2]::int, 1))::double precision * 1000
      + (m[3]::int - 1) * 86400000.0
      + coalesce(m[4]::int, 0) * 3600000.0
      + coalesce(m[5]::int, 0) * 60000.0
      + coalesce(m[6]::int, 0) * 1000.0
      + substr(coalesce(m[7], '') || '000', 1, 3)::int
      - CASE m[9] WHEN '+' THEN 1 WHEN '-' THEN -1 ELSE 0 END
        * (coalesce(m[10]::int, 0) * 3600000.0 + coalesce(m[11]::int, 0) * 60000.0)
  END
  FROM (SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN regexp_match(v #>> '{}',
    '^([1-9][0-9]{3})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?)?(Z|([+-])([0-9]{2}):([0-9]{2}))?$'
  ) END AS m) AS parsed
$$;

-- Segment definitions. `definition` is a src/understand/core/segments/definition.ts SegmentDefinition.
CREATE TABLE segments (
  workspace_id    text NOT NULL,
  id              text NOT NULL,
  name            text NOT NULL,
  description     text,
  definition      jsonb NOT NULL,
  -- dependencies(definition), kept so the processor can find affected segments in SQL.
  dependencies    jsonb NOT NULL DEFAULT '{}'::jsonb,
  time_dependent  boolean NOT NULL DEFAULT false,
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'building', 'paused')),
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  last_evaluated_at timestamptz,
  PRIMARY KEY (workspace_id, id)
);

-- Entered / exited history: one row per stay in a segment; exited_at NULL while still a member.
CREATE TABLE segment_membership_history (
  workspace_id  text NOT NULL,
  segment_id    text NOT NULL,
  profile_id    text NOT NULL,
  entered_at    timestamptz NOT NULL,
  exited_at     timestamptz,
  PRIMARY KEY (workspace_id, segment_id, profile_id, entered_at)
);
CREATE INDEX segment_membership_history_profile
  ON segment_membership_history (workspace_id, profile_id, entered_at DESC);

-- Size over time: one row per evaluation (batch) or per sampling period (real time).
CREATE TABLE segment_size_history (
  workspace_id  text NOT NULL,
  segment_id    text NOT NULL,
  at            timestamptz NOT NULL,
  size          bigint NOT NULL,
  entered       bigint NOT NULL DEFAULT 0,
  exited        bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (workspace_id, segment_id, at)
);

-- Membership lookup by profile (GET /api/v1/profiles/:id/segments).
CREATE INDEX segment_members_profile ON segment_members (workspace_id, profile_id);

-- Computed trait definitions. `definition` is a src/understand/core/computed-traits ComputedTraitDefinition.
CREATE TABLE computed_traits (
  workspace_id  text NOT NULL,
  id            text NOT NULL,
  name          text NOT NULL,
  description   text,
  definition    jsonb NOT NULL,
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'building', 'paused')),
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);

-- Computed trait values by trait (segment conditions on a computed trait, batch expiry).
CREATE INDEX computed_trait_values_trait
  ON computed_trait_values (workspace_id, computed_trait_id, profile_id);
