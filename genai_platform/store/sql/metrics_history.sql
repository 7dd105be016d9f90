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
