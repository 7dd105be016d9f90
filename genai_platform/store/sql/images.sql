-- Images content-hashed (MD5 of their raw bytes), exact duplicates removed, and split 80/10/10 by
-- content hash so an image keeps its split across runs; pixels stay in their raw type and scale
-- (readers normalise to [0, 1]). Built as images_staging, checked (images_checks.sql), then swapped
-- in: the images table is never written in place.
-- name: stage
CREATE OR REPLACE TABLE images_staging AS
WITH hashed AS (
    SELECT row_id, md5(pixels) AS content_hash FROM raw_images
),
kept AS (  -- the first row of each content hash; only the keys are sorted, not the pixels
    SELECT * FROM hashed
    QUALIFY row_number() OVER (PARTITION BY content_hash ORDER BY row_id) = 1
)
SELECT r.row_id, r.label, r.class_name, r.channels, r.height, r.width, r.dtype, r.scale, r.low, r.high, r.has_nan,
       r.pixels, k.content_hash,
       CASE WHEN md5_number(k.content_hash) % 10 < 8 THEN 'train'
            WHEN md5_number(k.content_hash) % 10 = 8 THEN 'val'
            ELSE 'test' END AS split
FROM raw_images r JOIN kept k USING (row_id);  -- no ORDER BY: readers order by row_id, and sorting the pixels costs memory
-- name: swap_in
DROP TABLE IF EXISTS images;
ALTER TABLE images_staging RENAME TO images;
DROP TABLE IF EXISTS raw_images_previous;
-- name: restore_raw
-- the staged images failed a check: yesterday's raw table, which raw_images.sql kept, comes back
DROP TABLE raw_images;
ALTER TABLE raw_images_previous RENAME TO raw_images;
-- name: stats
SELECT (SELECT count(*) FROM raw_images) AS raw_rows,
       count(*) AS rows,
       (SELECT count(*) FROM raw_images) - count(*) AS duplicates_removed,
       count(*) FILTER (split = 'train') AS train_rows,
       count(*) FILTER (split = 'val') AS val_rows,
       count(*) FILTER (split = 'test') AS test_rows,
       count(DISTINCT label) AS classes
FROM images;
