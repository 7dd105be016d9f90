-- Raw documents as ingested, with the file and line or row each came from. Yesterday's raw table is kept as
-- raw_documents_previous until preprocessing accepts this one (store/sql/text_corpus.sql).
DROP TABLE IF EXISTS raw_documents_previous;
ALTER TABLE IF EXISTS raw_documents RENAME TO raw_documents_previous;
CREATE TABLE raw_documents (
    doc_id     INTEGER NOT NULL,
    source_ref VARCHAR NOT NULL,
    text       VARCHAR NOT NULL
);
-- From an Arrow table (store/tables.py write_raw_documents): a list parameter holding a long document took
-- time quadratic in its length (20 MB: 19 s).
INSERT INTO raw_documents SELECT doc_id, source_ref, text FROM raw_documents_arrow;
