-- Per-model health thresholds (JSON of keel_shared::health::HealthThresholds; fields
-- left out take their defaults). A model without a row uses the defaults.
CREATE TABLE model_health_thresholds (
    model_id   TEXT PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
    thresholds TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
