-- Homes written before compact samples: image_samples.pixels was FLOAT[]; store/schema.py turns each list
-- into the bytes of its float32 values (little-endian) through Arrow and swaps the table, in one transaction.
-- name: read
SELECT family, run_id, sample_index, channels, height, width, pixels FROM image_samples;
-- name: rewrite
CREATE OR REPLACE TABLE image_samples AS
SELECT family::VARCHAR AS family, run_id::VARCHAR AS run_id, sample_index::INTEGER AS sample_index,
       channels::INTEGER AS channels, height::INTEGER AS height, width::INTEGER AS width, pixels::BLOB AS pixels
FROM image_samples_arrow;
