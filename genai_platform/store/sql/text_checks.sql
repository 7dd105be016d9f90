-- Checks of the staged text tables before they are swapped in. Each returns one row: passed; a
-- detail that says what was found; offending_count, how many documents, hashes or entries break the
-- rule; and examples, up to 5 of them naming the document and its file and line or row, empty
-- when the check passes.
-- name: non_empty
WITH counts AS (
    SELECT count(*) FILTER (split = 'train') AS train, count(*) FILTER (split = 'val') AS val,
           count(*) FILTER (split = 'test') AS test
    FROM documents_staging
), empty_splits AS (
    SELECT *, list_filter(['train', 'test'], lambda s: (s = 'train' AND train = 0) OR (s = 'test' AND test = 0)) AS splits
    FROM counts
)
SELECT len(splits) = 0 AS passed,
       format('{} train, {} val, {} test documents', train, val, test) AS detail,
       len(splits) AS offending_count,
       list_transform(splits, lambda s: format('the {} split is empty', s)) AS examples
FROM empty_splits;
-- name: no_train_test_overlap
WITH shared AS (
    SELECT content_hash FROM documents_staging WHERE split = 'train'
    INTERSECT SELECT content_hash FROM documents_staging WHERE split = 'test'
)
SELECT count(*) = 0 AS passed,
       format('{} documents in both train and test', count(*)) AS detail,
       count(*) AS offending_count,
       coalesce(list(format('content hash {}', content_hash) ORDER BY content_hash)[1:5], []) AS examples
FROM shared;
-- name: vocabulary_size
-- offending_count: character entries beyond the bounds, plus 1 when there are no words;
-- examples: the rarest characters, JSON-quoted so control characters show.
WITH sizes AS (
    SELECT (SELECT count(*) FROM char_vocabulary_staging) AS characters,
           (SELECT count(*) FROM word_vocabulary_staging) AS words
), checked AS (
    SELECT *, characters BETWEEN 2 AND 5000 AND words > 0 AS passed FROM sizes
)
SELECT passed,
       format('{} characters, {} words in the train vocabulary', characters, words) AS detail,
       greatest(characters - 5000, 0) + greatest(2 - characters, 0) + CASE WHEN words = 0 THEN 1 ELSE 0 END
           AS offending_count,
       CASE WHEN passed THEN []
            ELSE (SELECT coalesce(list(format('character {} seen {} times', to_json(token), count)
                                       ORDER BY count, token)[1:5], [])
                  FROM char_vocabulary_staging) END AS examples
FROM checked;
-- name: enough_test_sentences
-- When the test split has no sentence, each of its documents is an offending one.
WITH test_documents AS (
    SELECT doc_id, source_ref, count(sentence) AS sentences
    FROM documents_staging LEFT JOIN sentences_staging USING (doc_id)
    WHERE documents_staging.split = 'test'
    GROUP BY doc_id, source_ref
), checked AS (
    SELECT coalesce(sum(sentences), 0) > 0 AS passed, coalesce(sum(sentences), 0) AS sentences,
           count(*) AS documents,
           coalesce(list(format('doc_id {} ({})', doc_id, source_ref) ORDER BY doc_id)[1:5], []) AS without_sentences
    FROM test_documents
)
SELECT passed,
       format('{} test sentences to draw prompts from, in {} test documents', sentences, documents) AS detail,
       CASE WHEN passed THEN 0 ELSE documents END AS offending_count,
       CASE WHEN passed THEN [] ELSE without_sentences END AS examples
FROM checked;
