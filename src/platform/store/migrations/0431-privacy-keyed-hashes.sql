-- Keyed identifier hashes (ADR 0007). Owned by src/govern/engine/privacy.
--
-- Identifier hashes were sha256(type || ':' || normalised value): whoever reads the database can
-- test candidate e-mails and phone numbers against them. New rows hold HMAC-SHA256 under a key
-- derived from the instance secret (KINDRED_SECRET_KEY or the data dir's key), which the
-- database never sees. Existing rows cannot be converted without the plaintext, so they keep
-- their hash and say so: `scheme` 'sha256'. A legacy suppression is rewritten under the key when
-- the same identifier is suppressed again (src/govern/engine/privacy/requests.ts `addSuppressions`).
--
-- `key_id` is a fingerprint of the key a keyed row was written with (HMAC of a fixed label, not
-- the key): a node configured with another key can tell it cannot check such a row.
--
-- No default after this migration: every writer states its scheme.

ALTER TABLE privacy_suppressions ADD COLUMN scheme text NOT NULL DEFAULT 'sha256'
  CHECK (scheme IN ('sha256', 'hmac-sha256'));
ALTER TABLE privacy_suppressions ADD COLUMN key_id text;
ALTER TABLE privacy_suppressions ALTER COLUMN scheme DROP DEFAULT;
ALTER TABLE privacy_suppressions ADD CONSTRAINT privacy_suppressions_keyed
  CHECK ((scheme = 'sha256') = (key_id IS NULL));

ALTER TABLE privacy_requests ADD COLUMN scheme text NOT NULL DEFAULT 'sha256'
  CHECK (scheme IN ('sha256', 'hmac-sha256'));
ALTER TABLE privacy_requests ADD COLUMN key_id text;
ALTER TABLE privacy_requests ALTER COLUMN scheme DROP DEFAULT;
ALTER TABLE privacy_requests ADD CONSTRAINT privacy_requests_keyed
  CHECK ((scheme = 'sha256') = (key_id IS NULL));
