-- Sign-in throttling shared by every node. The buckets used to live in each process's memory, so
-- N nodes behind a load balancer gave an attacker N times the attempts. One row per throttle key
-- (per IP, and per IP and e-mail), holding the moment its bucket is full again ("theoretical
-- arrival time" of the generic cell rate algorithm): one timestamp is the whole state, and a row
-- whose full_at has passed counts nothing any more and can be deleted.
-- Keys are SHA-256 hashes, so the table holds no e-mail address or IP in clear. Global like users
-- and sessions: a sign-in happens before any workspace is chosen.
CREATE TABLE login_attempts (
  key      text PRIMARY KEY,
  full_at  timestamptz NOT NULL
);
-- The sweep of expired rows.
CREATE INDEX login_attempts_full_at ON login_attempts (full_at);
