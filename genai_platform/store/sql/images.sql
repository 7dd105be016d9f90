-- Images normalised to [0, 1], content-hashed, exact duplicates removed, and split
-- 80/10/10 by content hash so an image keeps its split across runs. Built as images_staging,
-- checked (images_checks.sql), then swapped in: the images table is never written in place.
-- name: stage
CREATE OR REPLACE TABLE images_staging AS
WITH normalized AS (
    SELECT row_id, label, class_name, channels, height, width,
           list_transform(pixels, lambda p: CAST(p / scale AS FLOAT)) AS pixels
    FROM raw_images
),
hashed AS (
    SELECT *, md5(concat_ws(':', channels, height, width, CAST(pixels AS VARCHAR))) AS content_hash
    FROM normalized
),
deduplicated AS (
    SELECT * FROM hashed
    QUALIFY row_number() OVER (PARTITION BY content_hash ORDER BY row_id) = 1
)
SELECT row_id, label, class_name, channels, height, width, pixels, content_hash,
       CASE WHEN md5_number(content_hash) % 10 < 8 THEN 'train'
            WHEN md5_number(content_hash) % 10 = 8 THEN 'val'
            ELSE 'test' END AS split
FROM deduplicated
ORDER BY row_id;
-- name: swap_in
DROP TABLE IF EXISTS images;
ALTER TABLE images_staging RENAME TO images;
-- name: stats
SELECT (SELECT count(*) FROM raw_images) AS raw_rows,
       count(*) AS rows,
       (SELECT count(*) FROM raw_images) - count(*) AS duplicates_removed,
       count(*) FILTER (split = 'train') AS train_rows,
       count(*) FILTER (split = 'val') AS val_rows,
       count(*) FILTER (split = 'test') AS test_rows,
       count(DISTINCT label) AS classes
FROM images;
