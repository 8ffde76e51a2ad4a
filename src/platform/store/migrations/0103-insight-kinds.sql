-- Saved insights of the kinds added since 0102: customer value, lifecycle and stickiness.
ALTER TABLE insights DROP CONSTRAINT insights_kind_check;
ALTER TABLE insights ADD CONSTRAINT insights_kind_check
  CHECK (kind IN ('trends', 'funnel', 'retention', 'rfm', 'value', 'lifecycle', 'stickiness'));
