-- Write keys that members can see again, and rotation with an overlap.
--
-- The current key stays in `sources` (write_key_hash is the lookup ingest uses). Its value is now
-- also kept sealed (AES-256-GCM under the secret key, like destination secrets), so a member
-- allowed to manage sources can copy it, and the install snippets, at any time. Keys made before
-- this migration have only their hash: NULL here, and they can be shown again only after a
-- rotation.
ALTER TABLE sources ADD COLUMN write_key_sealed text;
-- When the current key was issued (renames move updated_at, so it cannot say).
ALTER TABLE sources ADD COLUMN write_key_issued_at timestamptz;
UPDATE sources SET write_key_issued_at = created_at;
ALTER TABLE sources ALTER COLUMN write_key_issued_at SET NOT NULL;
ALTER TABLE sources ALTER COLUMN write_key_issued_at SET DEFAULT now();

-- A key a rotation replaced keeps working until expires_at (the overlap, so SDKs deployed with it
-- can be moved to the new one), then stops. Rows past their expiry open nothing and are deleted
-- by the next rotation of their source.
CREATE TABLE source_retired_write_keys (
  workspace_id text NOT NULL,
  id           text NOT NULL,
  source_id    text NOT NULL,
  key_hash     text NOT NULL UNIQUE,
  key_prefix   text NOT NULL,
  key_sealed   text,
  issued_at    timestamptz NOT NULL,
  retired_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, source_id) REFERENCES sources (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX source_retired_write_keys_by_source
  ON source_retired_write_keys (workspace_id, source_id, expires_at);
