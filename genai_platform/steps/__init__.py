"""Plain-Python steps: what an asset does, without Dagster. The Dagster layer (defs/) adapts each to an
asset (its settings, its metadata, its checks) and the command line calls the same steps."""
