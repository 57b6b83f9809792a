-- The model registry. Timestamps are Unix milliseconds (UTC); ids are UUIDv7 text.
CREATE TABLE models (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    owner       TEXT NOT NULL,
    use_case    TEXT NOT NULL,
    risk_tier   TEXT NOT NULL CHECK (risk_tier IN ('minimal', 'limited', 'high', 'prohibited')),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
-- Names are unique regardless of case.
CREATE UNIQUE INDEX models_name_unique ON models (lower(name));

CREATE TABLE model_versions (
    id                TEXT PRIMARY KEY,
    model_id          TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    tag               TEXT NOT NULL,
    stage             TEXT NOT NULL CHECK (stage IN ('development', 'staging', 'canary', 'production', 'archived')),
    training_data_ref TEXT NOT NULL,
    notes             TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    UNIQUE (model_id, tag)
);
CREATE INDEX model_versions_by_model ON model_versions (model_id, created_at);
-- At most one production version per model, whatever the application does.
CREATE UNIQUE INDEX model_versions_one_production ON model_versions (model_id) WHERE stage = 'production';
CREATE INDEX model_versions_by_stage ON model_versions (stage, model_id);
