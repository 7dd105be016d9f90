-- Checks of signals_staging: each returns passed, detail, offending_count, examples.
-- name: non_empty
SELECT count(*) FILTER (split = 'train') > 0 AND count(*) FILTER (split = 'test') > 0 AS passed,
       format('{} train, {} test signals', count(*) FILTER (split = 'train'), count(*) FILTER (split = 'test')) AS detail,
       (count(*) FILTER (split = 'train') = 0)::INTEGER + (count(*) FILTER (split = 'test') = 0)::INTEGER AS offending_count,
       []::VARCHAR[] AS examples
FROM signals_staging;
-- name: finite
SELECT count(*) = 0 AS passed, format('{} signals with a value that is not finite', count(*)) AS detail,
       count(*) AS offending_count, coalesce(list(format('row {}', row_id))[:5], []) AS examples
FROM signals_staging WHERE NOT list_bool_and(list_transform(samples, x -> isfinite(x)));
-- name: one_length
SELECT count(DISTINCT length) = 1 AS passed, format('{} distinct lengths', count(DISTINCT length)) AS detail,
       greatest(count(DISTINCT length) - 1, 0) AS offending_count, []::VARCHAR[] AS examples
FROM signals_staging;
