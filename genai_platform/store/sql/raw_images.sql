-- Raw images as ingested, in their source's numeric type: each row's pixels are the bytes of a
-- C x H x W array of `dtype` (uint8, uint16 or float32, little-endian), `scale` the value that means 1.0.
-- `low`, `high` and `has_nan` summarise the raw values for the checks. Written from an Arrow table
-- (store/tables.py write_raw_images), never row by row.
-- name: create
-- yesterday's raw table is kept as raw_images_previous until preprocessing accepts this one (store/sql/images.sql)
DROP TABLE IF EXISTS raw_images_previous;
ALTER TABLE IF EXISTS raw_images RENAME TO raw_images_previous;
CREATE TABLE raw_images AS
SELECT row_id::INTEGER AS row_id, label::INTEGER AS label, class_name::VARCHAR AS class_name,
       source_file::VARCHAR AS source_file, pixels::BLOB AS pixels, low::DOUBLE AS low, high::DOUBLE AS high,
       has_nan::BOOLEAN AS has_nan, $channels::INTEGER AS channels, $height::INTEGER AS height,
       $width::INTEGER AS width, $dtype::VARCHAR AS dtype, $scale::FLOAT AS scale
FROM raw_images_arrow;
