-- Hourly rollups, so long-range charts read 60× fewer rows. A series-minute written
-- since its hour was last rolled up has rolled_up = 0; the rollup task recomputes those
-- hours from their minutes (the partial index keeps finding them cheap).
ALTER TABLE series_minutes ADD COLUMN rolled_up SMALLINT NOT NULL DEFAULT 0;
CREATE INDEX series_minutes_pending ON series_minutes (series_id, minute) WHERE rolled_up = 0;

CREATE TABLE series_hours (
    series_id TEXT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    -- Unix milliseconds of the hour's start.
    hour      BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    sum       DOUBLE PRECISION NOT NULL,
    min       DOUBLE PRECISION NOT NULL,
    max       DOUBLE PRECISION NOT NULL,
    sketch    BLOB NOT NULL,
    PRIMARY KEY (series_id, hour)
);
