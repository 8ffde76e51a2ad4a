-- Scale-out: the dispatcher no longer consumes the outbox by an id cursor. On a Postgres
-- server, concurrent processors commit outbox rows out of id order (ids are taken at INSERT, rows
-- become visible at COMMIT), so a cursor could pass a row that was still uncommitted and skip it
-- for ever. Each row now carries whether it has been fanned out, and a partial index keeps the
-- pending ones cheap to find however long the outbox grows.
ALTER TABLE outbox ADD COLUMN dispatched_at timestamptz;

-- Rows the old cursor already passed were fanned out.
UPDATE outbox SET dispatched_at = now()
WHERE id <= COALESCE(
  (SELECT position FROM stream_cursors WHERE consumer = 'dispatcher-outbox' AND partition = 0), 0);

CREATE INDEX outbox_pending ON outbox (id) WHERE dispatched_at IS NULL;
