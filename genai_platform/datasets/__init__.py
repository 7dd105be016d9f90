"""Where raw data comes from: bundled defaults and user sources. No Dagster imports."""
