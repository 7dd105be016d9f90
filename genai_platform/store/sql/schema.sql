-- The platform's persistent tables. store/schema.py ensure_schema runs this once per process and
-- database file (defs/database.py), after migrating a home written by an older version.

-- One row per modality: where the current raw data came from (the datasheet reads this).
CREATE TABLE IF NOT EXISTS datasets (
    modality     VARCHAR PRIMARY KEY,
    source       VARCHAR NOT NULL,
    description  VARCHAR NOT NULL,
    data_version VARCHAR NOT NULL,
    row_count    INTEGER NOT NULL,
    provenance   JSON NOT NULL,
    ingested_at  TIMESTAMP NOT NULL
);

-- Every evaluated number, one row per run x subject x metric; reports read from here.
CREATE TABLE IF NOT EXISTS metrics_history (
    run_id       VARCHAR NOT NULL,
    recorded_at  TIMESTAMP NOT NULL,
    modality     VARCHAR NOT NULL,
    dataset      VARCHAR NOT NULL,
    subject      VARCHAR NOT NULL,  -- a family name, or a reference key (metrics/catalog.py REFERENCES)
    role         VARCHAR NOT NULL,  -- model, reference, baseline or data
    metric       VARCHAR NOT NULL,
    value        DOUBLE NOT NULL,
    sample_count INTEGER NOT NULL,
    data_version VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    ci_low       DOUBLE,  -- 95% interval where the value is an estimate, else NULL
    ci_high      DOUBLE
);

-- Generated samples, one table per modality; a family's rows are replaced per run.
CREATE TABLE IF NOT EXISTS image_samples (
    family       VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL,
    sample_index INTEGER NOT NULL,
    channels     INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    width        INTEGER NOT NULL,
    pixels       FLOAT[] NOT NULL
);
CREATE TABLE IF NOT EXISTS text_samples (
    family       VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL,
    sample_index INTEGER NOT NULL,
    kind         VARCHAR NOT NULL,  -- 'continuation' or 'free'
    prompt       VARCHAR,
    reference    VARCHAR,
    text         VARCHAR NOT NULL
);
