-- The outbox: every live event, written in the transaction of the change it announces.
-- `seq` is assigned under a lock (MAX + 1), so event N + 1 is never visible before N and
-- `Last-Event-ID` resumes across restarts and replicas. Pruned after a retention.
CREATE TABLE events (
    seq     BIGINT PRIMARY KEY,
    at      BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX events_by_time ON events (at);

-- Each model's health status as last judged by any replica: a status event is written
-- only when this row really changes.
CREATE TABLE model_status (
    model_id   TEXT PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
    status     TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);

-- Leases of jobs that run on one replica at a time (the holder renews before expiry).
CREATE TABLE job_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- The version that was in production before the current one: where a rollback returns.
ALTER TABLE models ADD COLUMN rollback_version TEXT;

-- Set while a user is deactivated: their sessions and tokens stop working at once.
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;
