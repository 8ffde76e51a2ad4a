-- Access control: users, workspace memberships with roles, console sessions, and the audit log.
-- Users and sessions are people, not workspace data: one person may belong to several workspaces,
-- so those two tables are global and the per-workspace part (the role) lives in
-- workspace_members, which carries workspace_id like every other table.

CREATE TABLE users (
  id             text PRIMARY KEY,
  -- Stored lower-cased: e-mail addresses are compared case-insensitively at login.
  email          text NOT NULL UNIQUE,
  name           text,
  -- scrypt$N$r$p$salt$hash (base64); see src/govern/engine/passwords.ts.
  password_hash  text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workspace_members (
  workspace_id  text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  user_id       text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role          text NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members (user_id);

-- Console sessions: an opaque random token, kept as its SHA-256 only (like API keys).
CREATE TABLE user_sessions (
  id           text PRIMARY KEY,
  user_id      text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash   text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  revoked_at   timestamptz,
  ip           text,
  user_agent   text
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

-- Who created a key: a key can never hold scopes its creator lacks, and the list shows it.
ALTER TABLE api_keys ADD COLUMN created_by text;

-- The audit log: append-only. workspace_id is NULL for actions outside any workspace (logins).
-- No foreign key to workspaces: deleting a workspace must not erase (or be blocked by) history.
CREATE TABLE audit_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id text,
  at           timestamptz NOT NULL,
  actor_kind   text NOT NULL CHECK (actor_kind IN ('user', 'key', 'anonymous', 'system')),
  actor_id     text,
  actor_label  text,
  action       text NOT NULL,
  target_type  text,
  target_id    text,
  outcome      text NOT NULL,
  status       integer,
  before       jsonb,
  after        jsonb,
  request_id   text,
  ip           text,
  method       text,
  path         text
);
CREATE INDEX audit_log_ws_id ON audit_log (workspace_id, id DESC);

-- Append-only in the database itself, not only in our code: any UPDATE, DELETE or TRUNCATE
-- fails, whoever issues it.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
