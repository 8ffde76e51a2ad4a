-- Data quality and PII controls. Owned by src/engine/quality.

-- One tracking plan per source. `version` grows on every save: processors on every node compile
-- a plan once per version and notice a new one by reading this number with each batch.
CREATE TABLE tracking_plans (
  workspace_id  text NOT NULL,
  source_id     text NOT NULL,
  version       integer NOT NULL,
  plan          jsonb NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, source_id)
);
CREATE UNIQUE INDEX tracking_plans_source ON tracking_plans (source_id);

-- Every event that broke its source's plan (flagged or quarantined), keyed like event_ids: the
-- violations of a stored event are found by its messageId, and counts come from here.
CREATE TABLE event_violations (
  workspace_id  text NOT NULL,
  source_id     text NOT NULL,
  message_id    text NOT NULL,
  type          text NOT NULL,
  event         text,
  action        text NOT NULL CHECK (action IN ('flag', 'quarantine')),
  plan_version  integer NOT NULL,
  violations    jsonb NOT NULL,
  seen_at       timestamptz NOT NULL,
  PRIMARY KEY (source_id, message_id)
);
CREATE INDEX event_violations_time ON event_violations (workspace_id, source_id, seen_at DESC);

-- Events kept aside instead of applied: breaking a plan in quarantine mode (reason 'plan') or
-- failing the processor on their own (reason 'poison'). The full canonical event is kept; a
-- replay appends it to the event log again with its messageId, and the processor deletes the row
-- in the transaction that applies it (exactly once).
CREATE TABLE quarantined_events (
  workspace_id    text NOT NULL,
  source_id       text NOT NULL,
  message_id      text NOT NULL,
  reason          text NOT NULL CHECK (reason IN ('plan', 'poison')),
  type            text NOT NULL,
  event           text,
  payload         jsonb NOT NULL,
  violations      jsonb NOT NULL DEFAULT '[]'::jsonb,
  error           text,
  plan_version    integer,
  attempts        integer NOT NULL DEFAULT 1,
  quarantined_at  timestamptz NOT NULL,
  replayed_at     timestamptz,
  PRIMARY KEY (source_id, message_id)
);
CREATE INDEX quarantined_events_time
  ON quarantined_events (workspace_id, source_id, quarantined_at DESC, message_id DESC);
-- Replays in flight: the processor checks this (tiny) index before looking for rows to clear.
CREATE INDEX quarantined_events_replaying
  ON quarantined_events (source_id) WHERE replayed_at IS NOT NULL;
