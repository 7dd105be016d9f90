-- Named reads and writes used by genai_platform/store.py and the preprocessing assets.
-- name: image_stats
SELECT (SELECT count(*) FROM raw_images) AS raw_rows,
       count(*) AS rows,
       (SELECT count(*) FROM raw_images) - count(*) AS duplicates_removed,
       count(*) FILTER (split = 'train') AS train_rows,
       count(*) FILTER (split = 'val') AS val_rows,
       count(*) FILTER (split = 'test') AS test_rows,
       count(DISTINCT label) AS classes
FROM images;
-- name: text_stats
SELECT (SELECT count(*) FROM raw_documents) AS raw_documents,
       count(*) AS documents,
       (SELECT count(*) FROM raw_documents) - count(*) AS removed_empty_or_duplicate,
       count(*) FILTER (split = 'train') AS train_documents,
       count(*) FILTER (split = 'val') AS val_documents,
       count(*) FILTER (split = 'test') AS test_documents,
       sum(characters) AS characters,
       (SELECT count(*) FROM sentences) AS sentences,
       (SELECT count(*) FROM char_vocabulary) AS char_vocabulary_size,
       (SELECT count(*) FROM word_vocabulary) AS word_vocabulary_size
FROM documents;
-- name: dataset_info
SELECT source, description, data_version, row_count, provenance, ingested_at FROM datasets WHERE modality = $modality;
-- name: image_split
SELECT pixels, label, content_hash, channels, height, width FROM images WHERE split = $split ORDER BY row_id;
-- name: image_class_names
SELECT label, any_value(class_name) FROM images WHERE label IS NOT NULL GROUP BY label ORDER BY label;
-- name: documents
SELECT text FROM documents WHERE split = $split ORDER BY doc_id;
-- name: sentences
SELECT sentence FROM sentences WHERE split = $split ORDER BY doc_id, sentence_index;
-- name: char_vocabulary
SELECT token FROM char_vocabulary ORDER BY count DESC, token;
-- name: delete_image_samples
DELETE FROM image_samples WHERE family = $family;
-- name: insert_image_samples
INSERT INTO image_samples SELECT $family, $run_id, unnest($index), $c, $h, $w, unnest($pixels);
-- name: image_samples
SELECT pixels, channels, height, width FROM image_samples WHERE family = $family ORDER BY sample_index;
-- name: delete_text_samples
DELETE FROM text_samples WHERE family = $family;
-- name: insert_text_samples
INSERT INTO text_samples SELECT $family, $run_id, unnest($index), unnest($kind), unnest($prompt),
       unnest($reference), unnest($text);
-- name: text_samples
SELECT kind, prompt, reference, text FROM text_samples WHERE family = $family ORDER BY sample_index;
-- name: table_columns
SELECT column_name FROM information_schema.columns WHERE table_name = $table;
-- name: insert_metrics
INSERT INTO metrics_history (run_id, recorded_at, modality, dataset, subject, role, metric, value, sample_count,
                             data_version, code_version, ci_low, ci_high)
SELECT $run_id, now()::TIMESTAMP, $modality, $dataset, unnest($subject), unnest($role), unnest($metric), unnest($value),
       unnest($count), $data_version, $code_version, unnest($ci_low), unnest($ci_high);
-- name: latest_metrics
SELECT run_id, recorded_at, modality, dataset, subject, role, metric, value, sample_count, data_version, code_version,
       ci_low, ci_high
FROM metrics_history
WHERE modality = $modality
  AND run_id = (SELECT run_id FROM metrics_history WHERE modality = $modality ORDER BY recorded_at DESC LIMIT 1)
ORDER BY subject, metric;
-- name: recent_metrics
-- every row of the last $runs runs that evaluated $modality on $dataset, oldest run first
WITH runs AS (
    SELECT run_id, max(recorded_at) AS finished FROM metrics_history
    WHERE modality = $modality AND dataset = $dataset
    GROUP BY run_id ORDER BY finished DESC LIMIT $runs)
SELECT m.run_id, runs.finished, m.subject, m.role, m.metric, m.value, m.ci_low, m.ci_high, m.code_version, m.data_version
FROM metrics_history m JOIN runs USING (run_id)
WHERE m.modality = $modality
ORDER BY runs.finished, m.subject, m.metric;
