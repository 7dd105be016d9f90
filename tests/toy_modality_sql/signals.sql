-- Signals deduplicated and split 80/10/10 by the hash of their values, staged, then swapped in.
-- name: stage
CREATE OR REPLACE TABLE signals_staging AS
SELECT row_id, samples, len(samples) AS length, md5(samples::VARCHAR) AS content_hash,
       CASE WHEN md5_number(samples::VARCHAR) % 10 < 8 THEN 'train'
            WHEN md5_number(samples::VARCHAR) % 10 = 8 THEN 'val'
            ELSE 'test' END AS split
FROM raw_signals
QUALIFY row_number() OVER (PARTITION BY samples::VARCHAR ORDER BY row_id) = 1;
-- name: swap_in
DROP TABLE IF EXISTS signals;
ALTER TABLE signals_staging RENAME TO signals;
DROP TABLE IF EXISTS raw_signals_previous;
-- name: restore_raw
DROP TABLE raw_signals;
ALTER TABLE raw_signals_previous RENAME TO raw_signals;
-- name: stats
SELECT count(*) AS rows, count(*) FILTER (split = 'train') AS train_rows, max(length) AS length FROM signals;
-- name: split
SELECT samples FROM signals WHERE split = $split ORDER BY row_id;
