"""Helpers the tests share: the smoke-run environment and an in-process materialization."""

import os
from pathlib import Path

import dagster as dg

from genai_platform.definitions import build_definitions

# the bundled data, whatever GENAI_*_SOURCE the shell running the tests sets
BUNDLED_SOURCES = {"GENAI_IMAGE_SOURCE": "sklearn:digits", "GENAI_TEXT_SOURCE": "gensim:lee"}


def smoke_environment(root: Path) -> dict:
    """Environment of a smoke-profile run on the bundled data in a GENAI_HOME and reports folder under root."""
    return {**os.environ, "GENAI_PROFILE": "smoke", "GENAI_HOME": str(root / "home"),
            "GENAI_REPORTS_DIR": str(root / "reports"), "GENAI_SEED": "0", **BUNDLED_SOURCES}


def materialize(resources, selection=None, run_config=None, raise_on_error=True):
    """Every asset and check of the code location on these resources, ingesting the bundled data."""
    defs = build_definitions(BUNDLED_SOURCES)
    return dg.materialize(list(defs.assets) + list(defs.asset_checks), resources=resources, selection=selection,
                          run_config=run_config, raise_on_error=raise_on_error)
