-- Homes written before compact samples: image_samples.pixels was FLOAT[]. store/schema.py renames the old
-- table, lets schema.sql create the current one (constraints included), moves each sample run's rows over
-- with each list turned into the bytes of its float32 values (little-endian) through Arrow, and drops the
-- old table, in the transaction ensure_schema runs in.
-- name: runs
SELECT DISTINCT family, run_id FROM image_samples ORDER BY family, run_id;
-- name: rename
ALTER TABLE image_samples RENAME TO image_samples_float_lists;
-- name: read
SELECT family, run_id, sample_index, channels, height, width, pixels FROM image_samples_float_lists
WHERE family = $family AND run_id = $run_id;
-- name: insert
INSERT INTO image_samples (family, run_id, sample_index, channels, height, width, pixels)
SELECT family, run_id, sample_index, channels, height, width, pixels::BLOB FROM image_samples_arrow;
-- name: drop_old
DROP TABLE image_samples_float_lists;
