-- Drift monitoring: per model its settings, per version a reference profile, the feature
-- rows and labels it reports, and the evaluation runs.

-- JSON of keel_shared::monitoring::MonitoringSettings; without a row, the defaults.
CREATE TABLE monitoring_settings (
    model_id   TEXT PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One reference per model version; replacing it replaces its columns.
CREATE TABLE reference_profiles (
    id         TEXT PRIMARY KEY,
    model_id   TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version    TEXT NOT NULL,
    source     TEXT NOT NULL,
    rows       BIGINT NOT NULL,
    -- Rows repeating an earlier row exactly.
    duplicate_rows BIGINT NOT NULL,
    -- JSON of keel_shared::monitoring::PerformanceMetrics, when the reference has labels.
    baseline   TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (model_id, version)
);

-- A reference column as the statistics need it: its summary (kind, counts, spread,
-- categories with counts; JSON) and, for numbers, the sorted values kept (little-endian
-- f64s: every value up to a cap, then evenly spaced order statistics).
CREATE TABLE reference_columns (
    profile_id TEXT NOT NULL REFERENCES reference_profiles (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    summary    TEXT NOT NULL,
    sorted_values BLOB NOT NULL,
    PRIMARY KEY (profile_id, position)
);

-- What the model saw for each prediction (features: a JSON object; prediction: JSON).
-- A resent prediction id is stored once.
CREATE TABLE feature_rows (
    model_id      TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    prediction_id TEXT NOT NULL,
    version       TEXT NOT NULL,
    observed_at   BIGINT NOT NULL,
    features      TEXT NOT NULL,
    prediction    TEXT,
    PRIMARY KEY (model_id, prediction_id)
);
CREATE INDEX feature_rows_by_time ON feature_rows (model_id, version, observed_at);

-- Ground truth per prediction (JSON); a label may arrive before or after its row.
CREATE TABLE labels (
    model_id      TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    prediction_id TEXT NOT NULL,
    label         TEXT NOT NULL,
    received_at   BIGINT NOT NULL,
    PRIMARY KEY (model_id, prediction_id)
);

-- Evaluation runs: the whole run as JSON (keel_shared::monitoring::DriftRun), and
-- why it makes the model degraded (JSON array of sentences; empty when it does not).
CREATE TABLE drift_runs (
    id           TEXT PRIMARY KEY,
    model_id     TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version      TEXT NOT NULL,
    evaluated_at BIGINT NOT NULL,
    degradation  TEXT NOT NULL,
    run          TEXT NOT NULL
);
CREATE INDEX drift_runs_by_time ON drift_runs (model_id, evaluated_at);

-- Each run's score per feature: the drift score time series.
CREATE TABLE drift_scores (
    run_id       TEXT NOT NULL REFERENCES drift_runs (id) ON DELETE CASCADE,
    model_id     TEXT NOT NULL,
    feature      TEXT NOT NULL,
    evaluated_at BIGINT NOT NULL,
    version      TEXT NOT NULL,
    method       TEXT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    threshold    DOUBLE PRECISION NOT NULL,
    drifted      BIGINT NOT NULL,
    PRIMARY KEY (run_id, feature)
);
CREATE INDEX drift_scores_by_feature ON drift_scores (model_id, feature, evaluated_at);
