-- Raw documents as ingested, with the file and line or row each came from.
CREATE OR REPLACE TABLE raw_documents (
    doc_id     INTEGER NOT NULL,
    source_ref VARCHAR NOT NULL,
    text       VARCHAR NOT NULL
);
INSERT INTO raw_documents SELECT unnest($doc_id), unnest($source_ref), unnest($text);
