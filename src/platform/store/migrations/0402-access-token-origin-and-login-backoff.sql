-- Which global key came from where: 'env' for the key of KINDRED_ADMIN_TOKEN, 'generated' for the
-- token printed on first start. A start with a different KINDRED_ADMIN_TOKEN revokes the keys of
-- the previous one, which it can only tell apart from other global keys by this mark. Keys made
-- through the API have none.
ALTER TABLE api_keys ADD COLUMN origin text CHECK (origin IN ('env', 'generated'));
UPDATE api_keys SET origin = 'env' WHERE workspace_id IS NULL AND name = 'KINDRED_ADMIN_TOKEN';
UPDATE api_keys SET origin = 'generated'
  WHERE workspace_id IS NULL AND name = 'generated on first start';

-- Backoff for the sign-in buckets that have it (per e-mail, from any address): how many times
-- the bucket has been emptied since it was last full. Each emptying doubles the next wait, up to
-- a cap; the row, and with it the count, goes once the bucket is full again.
ALTER TABLE login_attempts ADD COLUMN strikes integer NOT NULL DEFAULT 0;
