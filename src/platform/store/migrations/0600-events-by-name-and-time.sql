-- Batch segment evaluation and previews ask "which profiles did event X, how often, in
-- this window": with only events_profile_time that is a scan of every event of the workspace.
-- This index answers it from the index alone (profile_id is included), reading the events in the
-- window and nothing else, once the pages are all-visible (autovacuum on a server; the segment
-- scheduler's periodic VACUUM on the embedded store). Costs one more index entry per event insert.
CREATE INDEX events_name_time ON events (workspace_id, event, "timestamp") INCLUDE (profile_id);
