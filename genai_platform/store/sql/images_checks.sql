-- Checks of images_staging before it is swapped in. Each returns one row: passed; a detail that
-- says what was found; offending_count, how many rows (or splits) break the rule; and examples,
-- up to 5 of them naming the row and its file, empty when the check passes.
-- name: non_empty
WITH counts AS (
    SELECT count(*) FILTER (split = 'train') AS train, count(*) FILTER (split = 'val') AS val,
           count(*) FILTER (split = 'test') AS test
    FROM images_staging
), empty_splits AS (
    SELECT *, list_filter(['train', 'test'], lambda s: (s = 'train' AND train = 0) OR (s = 'test' AND test = 0)) AS splits
    FROM counts
)
SELECT len(splits) = 0 AS passed,
       format('{} train, {} val, {} test images', train, val, test) AS detail,
       len(splits) AS offending_count,
       list_transform(splits, lambda s: format('the {} split is empty', s)) AS examples
FROM empty_splits;
-- name: pixel_range
-- the raw values over their scale: what readers normalise the pixels to
WITH ranges AS (
    SELECT i.row_id, i.low / i.scale AS low, i.high / i.scale AS high, r.source_file
    FROM images_staging i JOIN raw_images r USING (row_id)
), offending AS (
    SELECT * FROM ranges WHERE NOT (low >= 0 AND high <= 1)
)
SELECT (SELECT count(*) FROM ranges) > 0 AND count(*) = 0 AS passed,
       coalesce(format('normalised pixels span [{}, {}]; {} images outside [0, 1]',
                       (SELECT min(low) FROM ranges), (SELECT max(high) FROM ranges), count(*)),
                'no images') AS detail,
       count(*) AS offending_count,
       coalesce(list(format('row_id {} in {}: pixels span [{}, {}]', row_id, source_file, low, high)
                     ORDER BY row_id)[1:5], []) AS examples
FROM offending;
-- name: no_nan
WITH offending AS (
    SELECT i.row_id, r.source_file
    FROM images_staging i JOIN raw_images r USING (row_id)
    WHERE i.has_nan
)
SELECT count(*) = 0 AS passed,
       format('{} images with NaN pixels', count(*)) AS detail,
       count(*) AS offending_count,
       coalesce(list(format('row_id {} in {}', row_id, source_file) ORDER BY row_id)[1:5], []) AS examples
FROM offending;
-- name: no_train_test_overlap
WITH shared AS (
    SELECT content_hash FROM images_staging WHERE split = 'train'
    INTERSECT SELECT content_hash FROM images_staging WHERE split = 'test'
)
SELECT count(*) = 0 AS passed,
       format('{} content hashes in both train and test', count(*)) AS detail,
       count(*) AS offending_count,
       coalesce(list(format('content hash {}', content_hash) ORDER BY content_hash)[1:5], []) AS examples
FROM shared;
-- name: labels_in_range
-- Labels are all present or all absent: when some are missing, the unlabelled rows are the offending ones.
WITH counts AS (
    SELECT min(label) AS low, max(label) AS high, count(*) FILTER (label IS NULL) AS unlabelled, count(*) AS total
    FROM images_staging
), offending AS (
    SELECT i.row_id, i.label, r.source_file
    FROM images_staging i JOIN raw_images r USING (row_id), counts
    WHERE i.label < 0 OR i.label >= 1024 OR (i.label IS NULL AND counts.unlabelled < counts.total)
)
SELECT (SELECT count(*) FROM offending) = 0 AS passed,
       format('{}, {} of {} images unlabelled',
              coalesce(format('labels span [{}, {}]', low, high), 'no labels'), unlabelled, total) AS detail,
       (SELECT count(*) FROM offending) AS offending_count,
       (SELECT coalesce(list(format('row_id {} in {}: label {}', row_id, source_file, coalesce(label::VARCHAR, 'missing'))
                             ORDER BY row_id)[1:5], []) FROM offending) AS examples
FROM counts;
-- name: one_image_size
-- The rows whose shape differs from the most common one are the offending ones.
WITH shapes AS (
    SELECT channels, height, width, count(*) AS images FROM images_staging GROUP BY ALL
), common AS (
    SELECT channels, height, width FROM shapes ORDER BY images DESC, channels, height, width LIMIT 1
), offending AS (
    SELECT i.row_id, i.channels, i.height, i.width, r.source_file
    FROM images_staging i JOIN raw_images r USING (row_id)
    ANTI JOIN common c ON i.channels = c.channels AND i.height = c.height AND i.width = c.width
)
SELECT (SELECT count(*) FROM shapes) = 1 AS passed,
       format('{} distinct channel x height x width shapes', (SELECT count(*) FROM shapes)) AS detail,
       count(*) AS offending_count,
       coalesce(list(format('row_id {} in {}: {}x{}x{}', row_id, source_file, channels, height, width)
                     ORDER BY row_id)[1:5], []) AS examples
FROM offending;
