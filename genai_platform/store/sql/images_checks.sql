-- Each check returns one row: passed, and a detail that says what was found.
-- name: non_empty
SELECT count(*) FILTER (split = 'train') > 0 AND count(*) FILTER (split = 'test') > 0,
       format('{} train, {} val, {} test images', count(*) FILTER (split = 'train'),
              count(*) FILTER (split = 'val'), count(*) FILTER (split = 'test'))
FROM images;
-- name: pixel_range
SELECT coalesce(min(list_min(pixels)) >= 0 AND max(list_max(pixels)) <= 1, false),
       format('normalised pixels span [{}, {}]', min(list_min(pixels)), max(list_max(pixels)))
FROM images;
-- name: no_nan
SELECT count(*) = 0, format('{} images with NaN pixels (first row_id {})', count(*), min(row_id))
FROM images WHERE list_bool_or(list_transform(pixels, lambda p: isnan(p)));
-- name: no_train_test_overlap
SELECT count(*) = 0, format('{} content hashes in both train and test', count(*))
FROM (SELECT content_hash FROM images WHERE split = 'train'
      INTERSECT SELECT content_hash FROM images WHERE split = 'test');
-- name: labels_in_range
SELECT (count(*) FILTER (label IS NULL) = 0 OR count(*) FILTER (label IS NOT NULL) = 0)
       AND coalesce(min(label) >= 0 AND max(label) < 1024, true),
       format('labels span [{}, {}], {} of {} images unlabelled',
              min(label), max(label), count(*) FILTER (label IS NULL), count(*))
FROM images;
-- name: one_image_size
SELECT count(DISTINCT (channels, height, width)) = 1,
       format('{} distinct channel x height x width shapes', count(DISTINCT (channels, height, width)))
FROM images;
