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
INSERT OR REPLACE INTO datasets VALUES ($modality, $source, $description, $data_version,
                                        $row_count, $provenance, now()::TIMESTAMP);
