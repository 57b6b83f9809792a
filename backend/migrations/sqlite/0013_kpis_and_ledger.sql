-- Business KPIs (`keel_shared::kpis`): the definition as JSON, of one model or of a
-- programme, and its values (one per day; a later value of the same day replaces it).
CREATE TABLE kpis (
    id          TEXT PRIMARY KEY,
    model_id    TEXT REFERENCES models (id) ON DELETE CASCADE,
    programme   TEXT,
    definition  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX kpis_by_model ON kpis (model_id);

CREATE TABLE kpi_values (
    kpi_id      TEXT NOT NULL REFERENCES kpis (id) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    likely      DOUBLE PRECISION NOT NULL,
    low         DOUBLE PRECISION,
    high        DOUBLE PRECISION,
    note        TEXT NOT NULL,
    entered_by  TEXT NOT NULL,
    entered_at  BIGINT NOT NULL,
    PRIMARY KEY (kpi_id, day)
);

-- A model's cost and benefit ledger (`keel_shared::ledger`), each entry with the rates
-- it was converted at and their source. Entries with an `incident_id` are Keel's own,
-- from an incident's downtime; a ledger upload replaces only the others.
CREATE TABLE ledger_entries (
    id            TEXT PRIMARY KEY,
    model_id      TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    month         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    category      TEXT NOT NULL,
    amount        DOUBLE PRECISION NOT NULL,
    currency      TEXT NOT NULL,
    czk_per_unit  DOUBLE PRECISION NOT NULL,
    rate_source   TEXT NOT NULL,
    czk_per_eur   DOUBLE PRECISION,
    eur_source    TEXT,
    low           DOUBLE PRECISION,
    high          DOUBLE PRECISION,
    planned       BIGINT NOT NULL,
    incident_id   TEXT UNIQUE,
    position      BIGINT NOT NULL
);
CREATE INDEX ledger_by_model ON ledger_entries (model_id, month);

-- Exchange-rate fixings as imported: crowns per one unit of `currency` on `day`.
CREATE TABLE exchange_rates (
    day           TEXT NOT NULL,
    currency      TEXT NOT NULL,
    source        TEXT NOT NULL,
    czk_per_unit  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (currency, day, source)
);

-- The newest business event tells a cached stakeholder page whether it is still current.
CREATE INDEX events_by_kind ON events (kind, seq);

-- Programmes: named groups of models.
CREATE TABLE programmes (
    name        TEXT PRIMARY KEY,
    models      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Frozen governance reports: what the board saw, with its digest in the audit chain.
CREATE TABLE report_snapshots (
    id          TEXT PRIMARY KEY,
    month       TEXT NOT NULL,
    language    TEXT NOT NULL,
    body        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL
);
