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

-- Generated samples, one table per modality. A family keeps the samples of its newest two sample
-- runs (store/tables.py KEPT_SAMPLE_RUNS): the evaluation compares tonight's model with the previous
-- run's samples on tonight's reference set.
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
-- When each family's samples were drawn: which run is a family's newest, which its previous.
CREATE TABLE IF NOT EXISTS sample_runs (
    modality     VARCHAR NOT NULL,
    family       VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL,
    drawn_at     TIMESTAMP NOT NULL
);

-- Paired differences (subject minus baseline) of a run's evaluation, each on one reference set at one
-- sample size with a 95% interval: family against family in the same run (baseline_run_id NULL), and a
-- family against its own previous run's samples (baseline = subject, baseline_run_id = that run).
CREATE TABLE IF NOT EXISTS metric_comparisons (
    run_id          VARCHAR NOT NULL,
    recorded_at     TIMESTAMP NOT NULL,
    modality        VARCHAR NOT NULL,
    subject         VARCHAR NOT NULL,
    baseline        VARCHAR NOT NULL,
    baseline_run_id VARCHAR,
    metric          VARCHAR NOT NULL,
    delta           DOUBLE NOT NULL,
    sample_count    INTEGER NOT NULL,
    ci_low          DOUBLE,
    ci_high         DOUBLE
);
