-- Users, sessions, API tokens and the hash-chained audit log.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'engineer', 'approver', 'admin')),
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_username_unique ON users (lower(username));

-- Only a SHA-256 of each secret is stored: a copy of the database opens no session.
CREATE TABLE sessions (
    secret_hash TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    -- The first characters of the secret, so people can tell tokens apart.
    prefix       TEXT NOT NULL,
    -- Comma-separated scopes, e.g. 'ingest,read'.
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- Append-only. hash = SHA-256 of the canonical encoding of the entry, which includes
-- prev_hash, the hash of the entry before it: editing or deleting a row breaks the chain.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_id    TEXT,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    changes     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_log_by_target ON audit_log (target_type, target_id);
CREATE INDEX audit_log_by_actor ON audit_log (actor);
CREATE INDEX audit_log_by_at ON audit_log (at);
