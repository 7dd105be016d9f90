import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from genai_platform.defs.resources import resources_from_env

# the bundled data, whatever GENAI_*_SOURCE the shell running the tests sets
BUNDLED_SOURCES = {"GENAI_IMAGE_SOURCE": "sklearn:digits", "GENAI_TEXT_SOURCE": "gensim:lee"}


def smoke_environment(root: Path) -> dict:
    """Environment of a smoke-profile run on the bundled data in a GENAI_HOME and reports folder under root."""
    return {**os.environ, "GENAI_PROFILE": "smoke", "GENAI_HOME": str(root / "home"),
            "GENAI_REPORTS_DIR": str(root / "reports"), "GENAI_SEED": "0", **BUNDLED_SOURCES}


def materialize(resources, selection=None, run_config=None, raise_on_error=True):
    """Every asset and check of the code location on these resources, ingesting the bundled data."""
    from genai_platform.definitions import build_definitions
    defs = build_definitions(BUNDLED_SOURCES)
    return dg.materialize(list(defs.assets) + list(defs.asset_checks), resources=resources, selection=selection,
                          run_config=run_config, raise_on_error=raise_on_error)


@dataclass
class SmokeRun:
    root: Path
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> SmokeRun:
    """The whole graph materialized once on the smoke profile; tests that change it work on a copy."""
    root = tmp_path_factory.mktemp("smoke_run")
    return SmokeRun(root, materialize(resources_from_env(smoke_environment(root))))


@pytest.fixture
def smoke_env(tmp_path):
    return smoke_environment(tmp_path)


@pytest.fixture
def smoke_resources(smoke_env):
    return resources_from_env(smoke_env)
