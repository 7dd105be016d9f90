-- The toy signal modality's raw table: one row per signal, its values as a list (tests/toy_modality.py).
-- name: create
DROP TABLE IF EXISTS raw_signals_previous;
ALTER TABLE IF EXISTS raw_signals RENAME TO raw_signals_previous;
CREATE TABLE raw_signals AS SELECT row_id::INTEGER AS row_id, samples::FLOAT[] AS samples FROM raw_signals_arrow;
