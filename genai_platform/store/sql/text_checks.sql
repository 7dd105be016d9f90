-- Each check returns one row: passed, and a detail that says what was found.
-- name: non_empty
SELECT count(*) FILTER (split = 'train') > 0 AND count(*) FILTER (split = 'test') > 0,
       format('{} train, {} val, {} test documents', count(*) FILTER (split = 'train'),
              count(*) FILTER (split = 'val'), count(*) FILTER (split = 'test'))
FROM documents;
-- name: no_train_test_overlap
SELECT count(*) = 0, format('{} documents in both train and test', count(*))
FROM (SELECT content_hash FROM documents WHERE split = 'train'
      INTERSECT SELECT content_hash FROM documents WHERE split = 'test');
-- name: vocabulary_size
SELECT (SELECT count(*) FROM char_vocabulary) BETWEEN 2 AND 5000
       AND (SELECT count(*) FROM word_vocabulary) > 0,
       format('{} characters, {} words in the train vocabulary',
              (SELECT count(*) FROM char_vocabulary), (SELECT count(*) FROM word_vocabulary));
-- name: enough_test_sentences
SELECT count(*) > 0, format('{} test sentences to draw prompts from', count(*))
FROM sentences WHERE split = 'test';
