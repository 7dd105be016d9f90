-- Documents: Unicode NFC, whitespace collapsed, exact duplicates removed, split 80/10/10
-- by document hash (whole documents, so no sentence leaks across splits).
CREATE OR REPLACE TABLE documents AS
WITH normalized AS (
    SELECT doc_id, source_ref,
           trim(regexp_replace(nfc_normalize(text), '\s+', ' ', 'g')) AS text
    FROM raw_documents
),
deduplicated AS (
    SELECT * FROM normalized WHERE text <> ''
    QUALIFY row_number() OVER (PARTITION BY text ORDER BY doc_id) = 1
)
SELECT doc_id, source_ref, text, md5(text) AS content_hash, length(text) AS characters,
       CASE WHEN md5_number(text) % 10 < 8 THEN 'train'
            WHEN md5_number(text) % 10 = 8 THEN 'val'
            ELSE 'test' END AS split
FROM deduplicated
ORDER BY doc_id;

-- Sentences: runs of text ending in . ! or ? (or the end of the document).
CREATE OR REPLACE TABLE sentences AS
SELECT doc_id, split, sentence_index, trim(sentence) AS sentence
FROM (
    SELECT doc_id, split,
           unnest(parts) AS sentence, generate_subscripts(parts, 1) AS sentence_index
    FROM (SELECT doc_id, split, regexp_extract_all(text, '[^.!?]+(?:[.!?]+|$)') AS parts FROM documents)
)
WHERE trim(sentence) <> ''
ORDER BY doc_id, sentence_index;

-- Vocabularies of the train split, with counts.
CREATE OR REPLACE TABLE char_vocabulary AS
SELECT token, count(*) AS count
FROM (SELECT unnest(string_split(text, '')) AS token FROM documents WHERE split = 'train')
GROUP BY token ORDER BY count DESC, token;

CREATE OR REPLACE TABLE word_vocabulary AS
SELECT token, count(*) AS count
FROM (SELECT unnest(regexp_extract_all(lower(text), '[\p{L}\p{N}'']+')) AS token
      FROM documents WHERE split = 'train')
GROUP BY token ORDER BY count DESC, token;
