-- Telemetry: a series is (model, metric, sorted labels). Each series-minute row keeps
-- that minute's raw points (a blob of (ts, value) pairs sorted by ts, one value per ts)
-- and their rollup: count, sum, min, max and a quantile sketch. Dashboards read only
-- the rollup columns.
CREATE TABLE series (
    id         TEXT PRIMARY KEY,
    model_id   TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    metric     TEXT NOT NULL,
    -- Canonical JSON object with sorted keys, e.g. {"model_version":"v2","region":"cz"}.
    labels     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (model_id, metric, labels)
);

CREATE TABLE series_minutes (
    series_id TEXT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    -- Unix milliseconds of the minute's start.
    minute    BIGINT NOT NULL,
    points    BYTEA NOT NULL,
    count     BIGINT NOT NULL,
    sum       DOUBLE PRECISION NOT NULL,
    min       DOUBLE PRECISION NOT NULL,
    max       DOUBLE PRECISION NOT NULL,
    sketch    BYTEA NOT NULL,
    PRIMARY KEY (series_id, minute)
);

-- Answers already given to requests with an Idempotency-Key, replayed on retry.
CREATE TABLE ingest_requests (
    idempotency_key TEXT PRIMARY KEY,
    response        TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
