-- Named reads and writes of genai_platform/store/tables.py and store/schema.py.
-- name: forget_dataset
DELETE FROM datasets WHERE modality = $modality;
-- name: record_dataset
INSERT INTO datasets VALUES ($modality, $source, $description, $data_version, $row_count, $provenance,
                             now()::TIMESTAMP);
-- name: ingested_modalities
SELECT modality FROM datasets;
-- name: dataset_info
SELECT source, description, data_version, row_count, provenance, ingested_at FROM datasets WHERE modality = $modality;
-- name: image_split
SELECT pixels, label, content_hash, channels, height, width, dtype, scale FROM images WHERE split = $split
ORDER BY row_id;
-- name: image_class_names
SELECT label, any_value(class_name) FROM images WHERE label IS NOT NULL GROUP BY label ORDER BY label;
-- name: documents
SELECT text FROM documents WHERE split = $split ORDER BY doc_id;
-- name: sentences
SELECT sentence FROM sentences WHERE split = $split ORDER BY doc_id, sentence_index;
-- name: char_vocabulary
SELECT token FROM char_vocabulary ORDER BY count DESC, token;
-- name: record_sample_run
INSERT INTO sample_runs (modality, family, run_id, drawn_at, version, fingerprint)
VALUES ($modality, $family, $run_id, now()::TIMESTAMP, $version, $fingerprint);
-- name: stale_sample_runs
-- sample sets no longer needed: of a version that is not kept, from before versions, or not the newest of their version
SELECT run_id FROM sample_runs s WHERE modality = $modality AND family = $family AND (
    version IS NULL
    OR version NOT IN (SELECT version FROM model_versions WHERE family = $family)
    OR drawn_at < (SELECT max(drawn_at) FROM sample_runs t
                   WHERE t.modality = s.modality AND t.family = s.family AND t.version = s.version));
-- name: drop_image_samples
DELETE FROM image_samples WHERE family = $family AND list_contains($runs, run_id);
-- name: drop_text_samples
DELETE FROM text_samples WHERE family = $family AND list_contains($runs, run_id);
-- name: drop_sample_runs
DELETE FROM sample_runs WHERE modality = $modality AND family = $family AND list_contains($runs, run_id);
-- name: insert_image_samples
INSERT INTO image_samples SELECT $family, $run_id, sample_index, $c, $h, $w, pixels FROM image_samples_arrow;
-- name: image_samples
SELECT pixels, channels, height, width FROM image_samples
WHERE family = $family AND run_id = $run_id ORDER BY sample_index;
-- name: insert_text_samples
INSERT INTO text_samples SELECT $family, $run_id, unnest($index), unnest($kind), unnest($prompt),
       unnest($reference), unnest($text);
-- name: text_samples
SELECT kind, prompt, reference, text FROM text_samples
WHERE family = $family AND run_id = $run_id ORDER BY sample_index;
-- name: version_sample_run
-- the newest sample set of a model version: (run id, fingerprint)
SELECT run_id, fingerprint FROM sample_runs WHERE modality = $modality AND family = $family AND version = $version
ORDER BY drawn_at DESC LIMIT 1;
-- name: newest_sample_run
SELECT run_id, fingerprint FROM sample_runs WHERE modality = $modality AND family = $family
ORDER BY drawn_at DESC LIMIT 1;
-- name: insert_version
INSERT INTO model_versions VALUES ($family, $modality, $version, now()::TIMESTAMP, now()::TIMESTAMP, $dataset,
                                   $data_version, $code_version, $fingerprint, $config, $path);
-- name: delete_version
DELETE FROM model_versions WHERE family = $family AND version = $version;
-- name: choose_version
UPDATE model_versions SET chosen_at = now()::TIMESTAMP WHERE family = $family AND version = $version;
-- name: version_by_fingerprint
SELECT version FROM model_versions WHERE family = $family AND fingerprint = $fingerprint
ORDER BY created_at DESC LIMIT 1;
-- name: versions
SELECT family, modality, version, created_at, chosen_at, dataset, data_version, code_version, fingerprint, config, path
FROM model_versions WHERE family = $family ORDER BY created_at DESC;
-- name: challenger
SELECT version FROM model_versions WHERE family = $family ORDER BY chosen_at DESC, created_at DESC LIMIT 1;
-- name: insert_decision
INSERT INTO promotions (family, decided_at, run_id, challenger, previous, champion, decision, reason, best)
VALUES ($family, now()::TIMESTAMP, $run_id, $challenger, $previous, $champion, $decision, $reason, $best);
-- name: decisions
SELECT family, decided_at, run_id, challenger, previous, champion, decision, reason, best FROM promotions
WHERE family = $family ORDER BY decided_at DESC LIMIT $limit;
-- name: ever_champions
SELECT DISTINCT champion FROM promotions WHERE family = $family AND champion IS NOT NULL;
-- name: version_metrics
-- a version's values in the newest evaluation that scored it
SELECT metric, value, ci_low, ci_high FROM metrics_history
WHERE subject = $family AND model_version = $version AND run_id = (
    SELECT run_id FROM metrics_history WHERE subject = $family AND model_version = $version
    ORDER BY recorded_at DESC LIMIT 1)
ORDER BY metric;
-- name: insert_comparisons
INSERT INTO metric_comparisons (run_id, recorded_at, modality, subject, baseline, baseline_run_id, metric, delta,
                                sample_count, ci_low, ci_high, baseline_value)
SELECT $run_id, now()::TIMESTAMP, $modality, unnest($subject), unnest($baseline), unnest($baseline_run_id),
       unnest($metric), unnest($delta), unnest($count), unnest($ci_low), unnest($ci_high), unnest($baseline_value);
-- name: latest_version_comparisons
-- a family's challenger against its earlier versions, in the newest evaluation that compared them
SELECT subject, baseline, baseline_run_id, metric, delta, sample_count, ci_low, ci_high, baseline_value
FROM metric_comparisons
WHERE modality = $modality AND subject = $family AND baseline = $family AND baseline_run_id IS NOT NULL
  AND run_id = (SELECT run_id FROM metric_comparisons WHERE modality = $modality AND subject = $family
                AND baseline = $family AND baseline_run_id IS NOT NULL ORDER BY recorded_at DESC LIMIT 1)
ORDER BY baseline_run_id, metric;
-- name: comparisons
SELECT subject, baseline, baseline_run_id, metric, delta, sample_count, ci_low, ci_high, baseline_value
FROM metric_comparisons
WHERE run_id = $run_id AND modality = $modality ORDER BY subject, baseline, metric;
-- name: not_null_columns
SELECT column_name FROM information_schema.columns
WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_name = $table
  AND is_nullable = 'NO';
-- name: nullable_champion
-- a withheld first version leaves nothing serving
ALTER TABLE promotions ALTER COLUMN champion DROP NOT NULL;
-- name: table_columns
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_catalog = current_database() AND table_schema = current_schema()
ORDER BY table_name, ordinal_position;
-- name: table_names
SELECT table_name FROM information_schema.tables
WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_type = 'BASE TABLE'
ORDER BY table_name;
-- name: table_exists
SELECT count(*) > 0 FROM information_schema.tables
WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_name = $table;
-- name: insert_metrics
INSERT INTO metrics_history (run_id, recorded_at, modality, dataset, subject, role, metric, value, sample_count,
                             data_version, code_version, ci_low, ci_high, model_version)
SELECT $run_id, now()::TIMESTAMP, $modality, $dataset, unnest($subject), unnest($role), unnest($metric), unnest($value),
       unnest($count), $data_version, $code_version, unnest($ci_low), unnest($ci_high), unnest($model_version);
-- name: latest_metrics
SELECT run_id, recorded_at, modality, dataset, subject, role, metric, value, sample_count, data_version, code_version,
       ci_low, ci_high, model_version
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
