-- Homes written before model versions: samples were kept per run, metrics rows named no version.
-- Runs after schema.sql on every home; a no-op where the columns exist.
ALTER TABLE metrics_history ADD COLUMN IF NOT EXISTS model_version VARCHAR;
ALTER TABLE sample_runs ADD COLUMN IF NOT EXISTS version VARCHAR;
ALTER TABLE sample_runs ADD COLUMN IF NOT EXISTS fingerprint VARCHAR;
-- Homes written before the non-inferiority gate: nothing could be withheld, and no best version was kept.
ALTER TABLE promotions ALTER COLUMN champion DROP NOT NULL;
ALTER TABLE promotions ADD COLUMN IF NOT EXISTS best VARCHAR;
