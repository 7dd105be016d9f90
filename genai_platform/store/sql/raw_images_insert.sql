INSERT INTO raw_images
SELECT unnest($row_id), unnest($label), unnest($class_name), unnest($source_file),
       unnest($pixels), $channels, $height, $width, $scale;
