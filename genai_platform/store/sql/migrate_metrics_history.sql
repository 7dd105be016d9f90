-- Homes written before roles existed: reference rows were stored under their display label in a
-- `family` column (and before that without intervals). Run once, when the `family` column is there.
-- name: add_roles
ALTER TABLE metrics_history ADD COLUMN IF NOT EXISTS ci_low DOUBLE;
ALTER TABLE metrics_history ADD COLUMN IF NOT EXISTS ci_high DOUBLE;
ALTER TABLE metrics_history RENAME COLUMN family TO subject;
ALTER TABLE metrics_history ADD COLUMN role VARCHAR DEFAULT 'model';
-- name: label_to_key
UPDATE metrics_history SET subject = $key, role = $role WHERE subject = $label;
