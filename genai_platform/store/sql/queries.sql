-- Named reads and writes of genai_platform/store/tables.py and store/schema.py.
-- name: record_dataset
INSERT OR REPLACE INTO datasets VALUES ($modality, $source, $description, $data_version,
                                        $row_count, $provenance, now()::TIMESTAMP);
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
-- a family's samples of this run (a retried step draws them again) and of runs older than the kept ones
DELETE FROM image_samples WHERE family = $family AND (run_id = $run_id OR run_id NOT IN (
    SELECT run_id FROM sample_runs WHERE modality = 'image' AND family = $family ORDER BY drawn_at DESC LIMIT $keep));
-- name: insert_image_samples
INSERT INTO image_samples SELECT $family, $run_id, unnest($index), $c, $h, $w, unnest($pixels);
-- name: image_samples
-- a NULL $run_id reads a home from before sample_runs, which held one run per family
SELECT pixels, channels, height, width FROM image_samples
WHERE family = $family AND ($run_id IS NULL OR run_id = $run_id) ORDER BY sample_index;
-- name: delete_text_samples
DELETE FROM text_samples WHERE family = $family AND (run_id = $run_id OR run_id NOT IN (
    SELECT run_id FROM sample_runs WHERE modality = 'text' AND family = $family ORDER BY drawn_at DESC LIMIT $keep));
-- name: insert_text_samples
INSERT INTO text_samples SELECT $family, $run_id, unnest($index), unnest($kind), unnest($prompt),
       unnest($reference), unnest($text);
-- name: text_samples
SELECT kind, prompt, reference, text FROM text_samples
WHERE family = $family AND ($run_id IS NULL OR run_id = $run_id) ORDER BY sample_index;
-- name: record_sample_run
INSERT INTO sample_runs SELECT $modality, $family, $run_id, now()::TIMESTAMP
WHERE NOT EXISTS (SELECT 1 FROM sample_runs WHERE modality = $modality AND family = $family AND run_id = $run_id);
-- name: sample_runs
SELECT run_id FROM sample_runs WHERE modality = $modality AND family = $family ORDER BY drawn_at DESC;
-- name: forget_sample_runs
DELETE FROM sample_runs WHERE modality = $modality AND family = $family AND run_id NOT IN (
    SELECT run_id FROM sample_runs WHERE modality = $modality AND family = $family ORDER BY drawn_at DESC LIMIT $keep);
-- name: insert_comparisons
INSERT INTO metric_comparisons (run_id, recorded_at, modality, subject, baseline, baseline_run_id, metric, delta,
                                sample_count, ci_low, ci_high)
SELECT $run_id, now()::TIMESTAMP, $modality, unnest($subject), unnest($baseline), unnest($baseline_run_id),
       unnest($metric), unnest($delta), unnest($count), unnest($ci_low), unnest($ci_high);
-- name: comparisons
SELECT subject, baseline, baseline_run_id, metric, delta, sample_count, ci_low, ci_high FROM metric_comparisons
WHERE run_id = $run_id AND modality = $modality ORDER BY subject, baseline, metric;
-- name: table_columns
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_catalog = current_database() AND table_schema = current_schema()
ORDER BY table_name, ordinal_position;
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
-- name: database_path
SELECT path FROM duckdb_databases() WHERE database_name = current_database();
