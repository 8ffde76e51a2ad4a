-- Privacy deletions forwarded to a destination are claimed ahead of its backlog (the deletion
-- lane of src/activate/engine/dispatcher/delivery-jobs-repository.ts): a person's deletion should
-- not wait behind thousands of pending events. This index finds them without walking those events.
CREATE INDEX delivery_jobs_due_deletions ON delivery_jobs (destination_id, next_attempt_at, id)
  WHERE kind = 'delete' AND state = 'pending';
