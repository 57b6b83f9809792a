-- Alert rules (the spec as JSON: `keel_shared::alerting::AlertRuleSpec`), each rule's
-- state per model, and every state change as history.
CREATE TABLE alert_rules (
    id         TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    builtin    BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE alert_states (
    rule_id  TEXT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    state    TEXT NOT NULL,
    since    BIGINT NOT NULL,
    value    DOUBLE PRECISION,
    PRIMARY KEY (rule_id, model_id)
);

CREATE TABLE alert_history (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    rule_id    TEXT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    model_id   TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    value      DOUBLE PRECISION,
    silenced   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX alert_history_by_rule ON alert_history (rule_id, at);

-- The default rules every model gets unless they are turned off.
INSERT INTO alert_rules (id, spec, builtin, created_at, updated_at) VALUES
('builtin-health-critical', '{"name":"Health critical","description":"The model''s health is critical.","scope":{},"signal":{"kind":"health"},"condition":{"op":"above","threshold":1.5,"recovery":null},"for_seconds":0,"keep_firing_for_seconds":0,"severity":"sev2","no_data":"keep_state","min_rows":30,"runbook":null,"enabled":true}', 1, 0, 0),
('builtin-health-degraded', '{"name":"Health degraded for 30 min","description":"The model has been degraded or worse for 30 minutes.","scope":{},"signal":{"kind":"health"},"condition":{"op":"above","threshold":0.5,"recovery":null},"for_seconds":1800,"keep_firing_for_seconds":0,"severity":"sev3","no_data":"keep_state","min_rows":30,"runbook":null,"enabled":true}', 1, 0, 0),
('builtin-dataset-drift', '{"name":"Dataset drift","description":"The latest drift evaluation found dataset drift.","scope":{},"signal":{"kind":"dataset_drift"},"condition":{"op":"above","threshold":0.5,"recovery":null},"for_seconds":0,"keep_firing_for_seconds":0,"severity":"sev3","no_data":"keep_state","min_rows":30,"runbook":null,"enabled":true}', 1, 0, 0);

-- Incidents. At most one open incident per fingerprint (rule + model, or a sender's
-- dedup key); `revision` makes concurrent edits fail instead of overwriting each other.
CREATE TABLE incidents (
    id               TEXT PRIMARY KEY,
    number           BIGINT NOT NULL UNIQUE,
    title            TEXT NOT NULL,
    status           TEXT NOT NULL,
    severity         TEXT NOT NULL,
    model_id         TEXT REFERENCES models (id) ON DELETE SET NULL,
    model_label      TEXT,
    version          TEXT,
    source           TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    rule_id          TEXT,
    impact           TEXT NOT NULL DEFAULT '',
    assignee         TEXT,
    commander        TEXT,
    opened_at        BIGINT NOT NULL,
    detected_at      BIGINT NOT NULL,
    acknowledged_at  BIGINT,
    mitigated_at     BIGINT,
    resolved_at      BIGINT,
    closed_at        BIGINT,
    acknowledge_by   BIGINT NOT NULL,
    resolve_by       BIGINT NOT NULL,
    escalation_level BIGINT NOT NULL DEFAULT 0,
    runbook_id       TEXT,
    runbook_done     TEXT NOT NULL DEFAULT '[]',
    postmortem       TEXT,
    serious          TEXT,
    revision         BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX incidents_open_fingerprint ON incidents (fingerprint)
    WHERE status IN ('triage', 'investigating', 'mitigated');
CREATE INDEX incidents_by_detection ON incidents (detected_at);

CREATE TABLE incident_timeline (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX incident_timeline_by_incident ON incident_timeline (incident_id, at);

CREATE TABLE silences (
    id         TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL
);

CREATE TABLE runbooks (
    id         TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Keys of inbound alert senders (Alertmanager, PagerDuty Events v2); only the hash is kept.
CREATE TABLE integrations (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    model_id     TEXT REFERENCES models (id) ON DELETE CASCADE,
    key_hash     TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
