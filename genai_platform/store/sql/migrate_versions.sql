-- Homes written before model versions: samples were kept per run, metrics rows named no version.
-- Runs after schema.sql on every home; a no-op where the columns exist.
ALTER TABLE metrics_history ADD COLUMN IF NOT EXISTS model_version VARCHAR;
ALTER TABLE sample_runs ADD COLUMN IF NOT EXISTS version VARCHAR;
ALTER TABLE sample_runs ADD COLUMN IF NOT EXISTS fingerprint VARCHAR;
-- Homes written before the non-inferiority gate kept no best version (their champion column is NOT NULL:
-- schema.py drops that where it is there, which DuckLake refuses on a nullable column).
ALTER TABLE promotions ADD COLUMN IF NOT EXISTS best VARCHAR;
-- Homes written before comparisons kept the baseline's own value (the gate falls back to the challenger's row).
ALTER TABLE metric_comparisons ADD COLUMN IF NOT EXISTS baseline_value DOUBLE;
