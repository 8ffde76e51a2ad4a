-- How long a failing delivery to this destination is retried before it becomes a dead letter
-- (src/activate/engine/dispatcher): NULL takes the dispatcher's default, 24 hours. A time budget,
-- not a count: a receiver down for an afternoon gets everything once it is back.
ALTER TABLE destinations ADD COLUMN retry_hours double precision;
