"""The thin Dagster layer: each asset reads, calls plain-Python code, writes, reports."""
