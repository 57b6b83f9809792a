-- The newest timeline entry of an incident when each user last opened it: the bell
-- counts the incidents waiting for a user with a newer entry (or never opened) as unread.
CREATE TABLE incident_reads (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    seen_entry  TEXT NOT NULL,
    PRIMARY KEY (user_id, incident_id)
);
