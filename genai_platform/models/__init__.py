"""Generative model families: plain torch modules, no Dagster imports."""
