-- Every evaluated number, one row per run x model x metric; reports read from here.
CREATE TABLE IF NOT EXISTS metrics_history (
    run_id       VARCHAR NOT NULL,
    recorded_at  TIMESTAMP NOT NULL,
    modality     VARCHAR NOT NULL,
    dataset      VARCHAR NOT NULL,
    family       VARCHAR NOT NULL,
    metric       VARCHAR NOT NULL,
    value        DOUBLE NOT NULL,
    sample_count INTEGER NOT NULL,
    data_version VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    ci_low       DOUBLE,  -- 95% interval where the value is an estimate, else NULL
    ci_high      DOUBLE
);
-- tables made before intervals were recorded gain the columns
ALTER TABLE metrics_history ADD COLUMN IF NOT EXISTS ci_low DOUBLE;
ALTER TABLE metrics_history ADD COLUMN IF NOT EXISTS ci_high DOUBLE;
