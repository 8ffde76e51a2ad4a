-- Segments and computed traits at run time: what the processor stage, the scheduler and
-- the API (src/understand/engine/segments) need on top of 0100-segments.sql.

-- When a windowed computed trait value next changes with time alone (nextExpiry of its state):
-- the scheduler expires exactly the rows that are due, without scanning every value.
ALTER TABLE computed_trait_values ADD COLUMN expires_at timestamptz;
CREATE INDEX computed_trait_values_expiry
  ON computed_trait_values (workspace_id, computed_trait_id, expires_at)
  WHERE expires_at IS NOT NULL;

-- Identity merges move computed_trait_values rows to the survivor with one UPDATE. When the
-- survivor already has a value of the same computed trait that UPDATE would violate the primary
-- key; instead the merged-away row stays where it is, and the segments stage folds its state into
-- the survivor's with mergeStates (src/understand/core/computed-traits) in the same transaction.
CREATE OR REPLACE FUNCTION kindred_ctv_merge_guard() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM computed_trait_values c
    WHERE c.workspace_id = NEW.workspace_id AND c.profile_id = NEW.profile_id
      AND c.computed_trait_id = NEW.computed_trait_id
  ) THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER computed_trait_values_merge_guard
  BEFORE UPDATE OF profile_id ON computed_trait_values
  FOR EACH ROW WHEN (OLD.profile_id IS DISTINCT FROM NEW.profile_id)
  EXECUTE FUNCTION kindred_ctv_merge_guard();

-- Members in profile order (GET /api/v1/segments/:id/members pages by profile id) is the primary
-- key of segment_members already; the size job counts members per segment from it too.

-- Size history entered/exited counts read the history by segment and time.
CREATE INDEX segment_membership_history_exited
  ON segment_membership_history (workspace_id, segment_id, exited_at)
  WHERE exited_at IS NOT NULL;
