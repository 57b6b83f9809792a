-- Organisation-wide settings edited in the console, by name, as JSON (`sla`: the
-- incident service levels per severity).
CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
