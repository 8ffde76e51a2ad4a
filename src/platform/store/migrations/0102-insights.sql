-- Saved insights (src/understand/engine/insights/insights-service.ts): a named definition of
-- src/understand/core/insights/insight-definition.ts, stored parsed (defaults filled in), per
-- workspace. Results are not stored: every read runs the definition against the current data.
CREATE TABLE insights (
  workspace_id  text NOT NULL,
  id            text NOT NULL,
  name          text NOT NULL,
  description   text,
  kind          text NOT NULL CHECK (kind IN ('trends', 'funnel', 'retention', 'rfm')),
  definition    jsonb NOT NULL,
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);
