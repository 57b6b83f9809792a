-- Change requests (`keel_shared::changes`). `tier` and `risk` are frozen at submission;
-- `previous_production` is the version production held before the change was
-- implemented: what rolling the change back restores. `revision` makes concurrent edits
-- fail instead of overwriting each other.
CREATE TABLE changes (
    id                  TEXT PRIMARY KEY,
    number              BIGINT NOT NULL UNIQUE,
    kind                TEXT NOT NULL,
    change_type         TEXT NOT NULL,
    status              TEXT NOT NULL,
    model_id            TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version             TEXT,
    target_stage        TEXT,
    title               TEXT NOT NULL,
    description         TEXT NOT NULL,
    implementation_plan TEXT NOT NULL,
    rollback_plan       TEXT NOT NULL,
    linked_incidents    TEXT NOT NULL,
    requester           TEXT NOT NULL,
    implementer         TEXT,
    tier                TEXT NOT NULL,
    risk                TEXT NOT NULL,
    risk_requested      TEXT,
    risk_reason         TEXT NOT NULL,
    scheduled_start     BIGINT,
    scheduled_end       BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    submitted_at        BIGINT,
    implemented_at      BIGINT,
    previous_production TEXT,
    revision            BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX changes_by_model ON changes (model_id, status);

-- Every approval and rejection, bound to the digests of what it saw; `voided` says why
-- it no longer counts.
CREATE TABLE change_approvals (
    id              TEXT PRIMARY KEY,
    change_id       TEXT NOT NULL REFERENCES changes (id) ON DELETE CASCADE,
    approver        TEXT NOT NULL,
    approver_role   TEXT NOT NULL,
    decision        TEXT NOT NULL,
    comment         TEXT NOT NULL,
    at              BIGINT NOT NULL,
    change_digest   TEXT NOT NULL,
    evidence_digest TEXT NOT NULL,
    voided          TEXT
);
CREATE INDEX change_approvals_by_change ON change_approvals (change_id, at);

CREATE TABLE change_timeline (
    id        TEXT PRIMARY KEY,
    change_id TEXT NOT NULL REFERENCES changes (id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    text      TEXT NOT NULL
);
CREATE INDEX change_timeline_by_change ON change_timeline (change_id, at);

-- Evidence per model version, each kind as JSON (`keel_shared::evidence`): `tests`
-- (JUnit results), `fairness` (a fairness review), `model_card`.
CREATE TABLE version_evidence (
    model_id   TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (model_id, version, kind)
);

-- Readiness items a named person attested, per model.
CREATE TABLE readiness_attestations (
    model_id TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    item     TEXT NOT NULL,
    by_user  TEXT NOT NULL,
    note     TEXT NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (model_id, item)
);

-- Deployments CI/CD pipelines reported (PagerDuty Change Events), with the change that
-- covers each (none: an unauthorised change) and the incident it opened.
CREATE TABLE observed_deployments (
    id          TEXT PRIMARY KEY,
    model_id    TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version     TEXT,
    summary     TEXT NOT NULL,
    source      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    change_id   TEXT,
    incident_id TEXT
);
CREATE INDEX observed_deployments_by_model ON observed_deployments (model_id, at);
