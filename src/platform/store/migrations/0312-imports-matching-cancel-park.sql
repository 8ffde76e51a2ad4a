-- Cancellable, bounded imports and matching runs. Owned by src/engine/imports and
-- src/unify/engine/matching.

-- An import can be cancelled (API or CLI); it then stays `cancelled` and is never resumed.
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check
  CHECK (status IN ('awaiting_upload', 'running', 'completed', 'failed', 'cancelled'));
-- Resumes on start since the import last stopped cleanly. An import that takes the process down
-- would otherwise be resumed, and take it down again, on every start: after a few attempts it is
-- parked (`failed`, with the reason) instead.
ALTER TABLE imports ADD COLUMN resume_attempts integer NOT NULL DEFAULT 0;

-- A matching run can be cancelled; a cancelled run no longer blocks new runs of its workspace.
ALTER TABLE matching_runs DROP CONSTRAINT matching_runs_status_check;
ALTER TABLE matching_runs ADD CONSTRAINT matching_runs_status_check
  CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled'));
