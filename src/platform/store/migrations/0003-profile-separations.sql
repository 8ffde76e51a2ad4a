-- A split is a person's decision that two profiles are different people: a later event carrying
-- identifiers of both sides must not merge them again. Stored in both directions so the processor
-- reads a snapshot's separations with one indexed lookup; merges rewrite both columns to the
-- survivor, like every other profile-keyed table.
CREATE TABLE profile_separations (
  workspace_id      text NOT NULL,
  profile_id        text NOT NULL,
  other_profile_id  text NOT NULL,
  reason            text NOT NULL,
  created_at        timestamptz NOT NULL
);
CREATE INDEX profile_separations_profile ON profile_separations (workspace_id, profile_id);
CREATE INDEX profile_separations_other ON profile_separations (workspace_id, other_profile_id);
