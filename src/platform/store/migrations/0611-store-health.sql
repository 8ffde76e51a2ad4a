-- One row per checking node, written and read back by /healthz: a probe that touches a relation
-- file and the WAL, so a full or read-only data dir shows up as unhealthy (SELECT 1 touches none).
CREATE TABLE store_health (
  node        text PRIMARY KEY,
  checked_at  timestamptz NOT NULL
);
