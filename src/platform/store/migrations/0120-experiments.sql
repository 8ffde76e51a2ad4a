-- Standalone experiments: arms with weights, a salt for stable-hash assignment, goal and
-- guardrail metrics (src/understand/engine/experiments). Exposures and conversions are events.
CREATE TABLE experiments (
  workspace_id text NOT NULL,
  id           text NOT NULL,
  key          text NOT NULL,
  name         text NOT NULL,
  salt         text NOT NULL,
  arms         jsonb NOT NULL,
  metrics      jsonb NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id),
  UNIQUE (workspace_id, key)
);
