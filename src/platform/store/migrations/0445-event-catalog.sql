-- Each source's event catalogue (src/collect/engine/event-catalog-repository.ts): the calls it
-- sends with counts and first/last seen, and the top-level fields each carries by value type.
-- Running totals, upserted once per micro-batch in the batch's transaction (so a replayed batch,
-- which rolls back with its events, never counts twice).
CREATE TABLE event_catalog (
  workspace_id  text NOT NULL,
  source_id     text NOT NULL,
  type          text NOT NULL,
  event         text NOT NULL,
  count         bigint NOT NULL,
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, source_id, type, event)
);

CREATE TABLE event_catalog_fields (
  workspace_id  text NOT NULL,
  source_id     text NOT NULL,
  type          text NOT NULL,
  event         text NOT NULL,
  field         text NOT NULL,
  value_type    text NOT NULL,
  count         bigint NOT NULL,
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, source_id, type, event, field, value_type)
);
