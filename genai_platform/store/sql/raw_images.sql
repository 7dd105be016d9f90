-- Raw images as ingested: pixel values before normalisation, with their scale.
-- name: create
CREATE OR REPLACE TABLE raw_images (
    row_id      INTEGER NOT NULL,
    label       INTEGER,
    class_name  VARCHAR,
    source_file VARCHAR NOT NULL,
    pixels      FLOAT[] NOT NULL,
    channels    INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    scale       FLOAT NOT NULL
);
-- name: insert
INSERT INTO raw_images
SELECT unnest($row_id), unnest($label), unnest($class_name), unnest($source_file),
       unnest($pixels), $channels, $height, $width, $scale;
