-- The processor keeps identifier → profile between micro-batches (src/unify/core/identity-cache.ts)
-- and checks each entry against the profile rows it locks anyway. An entry stays true while its
-- profile keeps every identifier it had, so any statement that moves identifiers off a profile or
-- deletes them (merges, splits, matching, erasure, reprocess, and writers not yet written) gives
-- that profile a new identity_version, here rather than in each writer. Versions come from one
-- sequence, so a profile id created again (reprocess re-derives the same ids) never reuses one.
CREATE SEQUENCE profile_identity_version;
ALTER TABLE profiles
  ADD COLUMN identity_version bigint NOT NULL DEFAULT nextval('profile_identity_version');

CREATE FUNCTION kindred_identities_left_profile() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  UPDATE profiles p SET identity_version = nextval('profile_identity_version')
  FROM (SELECT DISTINCT workspace_id, profile_id FROM old_rows) o
  WHERE p.workspace_id = o.workspace_id AND p.id = o.profile_id;
  RETURN NULL;
END
$$;
-- Statement-level with a transition table: a merge moving thousands of identifiers bumps each
-- profile once, in one set-based UPDATE.
CREATE TRIGGER identities_moved AFTER UPDATE ON identities
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION kindred_identities_left_profile();
CREATE TRIGGER identities_deleted AFTER DELETE ON identities
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION kindred_identities_left_profile();
-- TRUNCATE fires no row or transition-table trigger: renumber every profile instead.
CREATE FUNCTION kindred_identities_truncated() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  UPDATE profiles SET identity_version = nextval('profile_identity_version');
  RETURN NULL;
END
$$;
CREATE TRIGGER identities_truncated AFTER TRUNCATE ON identities
  FOR EACH STATEMENT EXECUTE FUNCTION kindred_identities_truncated();
