-- The toy modality's sample sets: one row per drawn signal, kept per family and run.
-- name: create
CREATE TABLE IF NOT EXISTS signal_samples (family VARCHAR, run_id VARCHAR, sample_index INTEGER, samples FLOAT[]);
-- name: insert
INSERT INTO signal_samples SELECT $family, $run_id, sample_index, samples FROM signal_samples_arrow;
-- name: drop
DELETE FROM signal_samples WHERE family = $family AND list_contains($runs, run_id);
-- name: read
SELECT samples FROM signal_samples WHERE family = $family AND run_id = $run_id ORDER BY sample_index;
