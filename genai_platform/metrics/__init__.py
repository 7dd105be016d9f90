"""Evaluation metrics: pure functions on arrays and strings, no Dagster imports."""
