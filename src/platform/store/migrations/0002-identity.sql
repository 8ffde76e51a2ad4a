-- Identity graph and golden records (issue: unify).

-- Every identifier points to one live profile; merges move identifiers to the survivor.
CREATE TABLE identities (
  workspace_id   text NOT NULL,
  type           text NOT NULL,
  value          text NOT NULL,
  profile_id     text NOT NULL,
  source_id      text,
  message_id     text,
  first_seen_at  timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, type, value)
);
CREATE INDEX identities_profile ON identities (workspace_id, profile_id);
-- Search by identifier prefix (console search, `GET /api/v1/profiles?q=`).
CREATE INDEX identities_value_prefix ON identities (workspace_id, value text_pattern_ops);

ALTER TABLE profiles
  ADD COLUMN merge_count integer NOT NULL DEFAULT 0,
  ADD COLUMN identifier_counts jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- The golden record: every trait with provenance and its losing values (src/unify/core/profiles).
  ADD COLUMN golden jsonb NOT NULL DEFAULT '{"traits":{}}'::jsonb;
CREATE INDEX profiles_merged_into ON profiles (workspace_id, merged_into) WHERE merged_into IS NOT NULL;

-- Merges and splits, with what caused them: explainable and reversible.
CREATE TABLE profile_merges (
  workspace_id     text NOT NULL,
  id               bigint GENERATED ALWAYS AS IDENTITY,
  kind             text NOT NULL CHECK (kind IN ('merge', 'split')),
  from_profile_id  text NOT NULL,
  into_profile_id  text NOT NULL,
  message_id       text,
  source_id        text,
  rule             text NOT NULL,
  identifiers      jsonb NOT NULL DEFAULT '[]'::jsonb,
  joined_with      jsonb NOT NULL DEFAULT '[]'::jsonb,
  details          jsonb NOT NULL DEFAULT '{}'::jsonb,
  at               timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX profile_merges_into ON profile_merges (workspace_id, into_profile_id);
CREATE INDEX profile_merges_from ON profile_merges (workspace_id, from_profile_id);

-- Identity rules and survivorship settings per workspace (defaults when absent).
CREATE TABLE identity_settings (
  workspace_id  text PRIMARY KEY,
  rules         jsonb NOT NULL,
  survivorship  jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Merge protection and caps, counted for the console and metrics.
CREATE TABLE identity_events (
  workspace_id  text NOT NULL,
  id            bigint GENERATED ALWAYS AS IDENTITY,
  kind          text NOT NULL,
  profile_id    text,
  message_id    text,
  details       jsonb NOT NULL,
  at            timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);
