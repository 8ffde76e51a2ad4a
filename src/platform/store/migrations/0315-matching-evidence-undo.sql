-- Probabilistic matching reports what each run merged and can undo it. Owned by
-- src/unify/engine/matching.

-- A pair's row now also records the merges a run made on its own (`auto_merged`, status
-- `merged`), which profile went into which (`merged_from` → `merged_into`: what an undo splits
-- apart), why a queued pair was not merged (`reason_code`: identity_rules, different_identifiers,
-- rejected) and an undo (status `undone`, `undo` = what the split did).
ALTER TABLE matching_pairs DROP CONSTRAINT matching_pairs_status_check;
ALTER TABLE matching_pairs ADD CONSTRAINT matching_pairs_status_check
  CHECK (status IN ('pending', 'merged', 'rejected', 'stale', 'undone'));
ALTER TABLE matching_pairs
  ADD COLUMN reason_code text,
  ADD COLUMN auto_merged boolean NOT NULL DEFAULT false,
  ADD COLUMN merged_from text,
  ADD COLUMN merged_into text,
  ADD COLUMN undo jsonb;
-- A run's merges, listed and undone by run.
CREATE INDEX matching_pairs_run ON matching_pairs (workspace_id, run_id, probability DESC, id);

-- Which import started a run, whether the run could merge on its own, what held merges back
-- (by reason), the look-alike pairs its identifiers told apart (neither merged nor queued), and
-- the last undo of the run.
ALTER TABLE matching_runs
  ADD COLUMN import_id text,
  ADD COLUMN auto_merge boolean,
  ADD COLUMN blocked_by jsonb NOT NULL DEFAULT '{}'::jsonb,
  ADD COLUMN told_apart integer NOT NULL DEFAULT 0,
  ADD COLUMN undo jsonb;
