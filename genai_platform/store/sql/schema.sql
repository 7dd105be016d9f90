-- The platform's persistent tables. store/schema.py ensure_schema runs this once per process and
-- database file (defs/database.py), after migrating a home written by an older version.

-- One row per modality: where the current raw data came from (the datasheet reads this). No PRIMARY KEY:
-- a DuckLake has none; record_dataset deletes the modality's row before it inserts the new one.
CREATE TABLE IF NOT EXISTS datasets (
    modality     VARCHAR NOT NULL,
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
    ci_high      DOUBLE,
    model_version VARCHAR  -- the family's model version scored; NULL for reference rows and older homes
);

-- Generated samples, one table per modality, kept per model version: the newest sample set of every
-- kept version (store/tables.py), so the evaluation can score the champion's beside the challenger's
-- on tonight's reference set.
CREATE TABLE IF NOT EXISTS image_samples (
    family       VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL,
    sample_index INTEGER NOT NULL,
    channels     INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    width        INTEGER NOT NULL,
    pixels       BLOB NOT NULL  -- a C x H x W float32 array in [0, 1], little-endian
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
-- Which run drew each sample set, from which model version, with which settings.
CREATE TABLE IF NOT EXISTS sample_runs (
    modality     VARCHAR NOT NULL,
    family       VARCHAR NOT NULL,
    run_id       VARCHAR NOT NULL,
    drawn_at     TIMESTAMP NOT NULL,
    version      VARCHAR,  -- the model version sampled; NULL in homes from before versions
    fingerprint  VARCHAR   -- version, sampling settings, seed and code: equal means the set can be re-used
);

-- Every kept model of a family (models/<family>/versions/<version>/): the version id is the run id that
-- trained it. Retention (store/versions.py) deletes the rows of versions it removes.
CREATE TABLE IF NOT EXISTS model_versions (
    family       VARCHAR NOT NULL,
    modality     VARCHAR NOT NULL,
    version      VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    chosen_at    TIMESTAMP NOT NULL,  -- last time a training step made or re-used it: the newest is the challenger
    dataset      VARCHAR NOT NULL,
    data_version VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,  -- digest of the family's model and training source
    fingerprint  VARCHAR NOT NULL,  -- family, config, data, code and lineage: equal means nothing to retrain
    config       JSON NOT NULL,
    path         VARCHAR NOT NULL
);

-- Every promotion decision, newest last: the champion of a family is that of its newest row.
CREATE TABLE IF NOT EXISTS promotions (
    family       VARCHAR NOT NULL,
    decided_at   TIMESTAMP NOT NULL,
    run_id       VARCHAR NOT NULL,  -- the Dagster run, or "cli" for the command line
    challenger   VARCHAR,           -- the version judged (NULL for a rollback)
    previous     VARCHAR,           -- the champion before the decision (NULL for the first)
    champion     VARCHAR,           -- the version serving after it (NULL: nothing serves, a withheld first version)
    decision     VARCHAR NOT NULL,  -- records.DECISIONS
    reason       VARCHAR NOT NULL,
    best         VARCHAR            -- the best version that ever served, after it (NULL in older homes: the champion)
);

-- Paired differences (subject minus baseline) of a run's evaluation, each on one reference set at one
-- sample size with a 95% interval: family against family in the same run (baseline_run_id NULL), and a
-- family's challenger against its champion (baseline = subject, baseline_run_id = the champion version,
-- which is the run id that trained it).
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
    ci_high         DOUBLE,
    baseline_value  DOUBLE  -- the baseline's own value of the statistic differenced: the gate's margins scale it
);
