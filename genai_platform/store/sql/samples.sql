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
