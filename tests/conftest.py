"""Fixtures: the smoke run shared by the session, and per-test smoke environments."""

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import torch
from helpers import TEST_THREADS, materialize, smoke_environment

from genai_platform.cli import main
from genai_platform.defs.resources import resources_from_env
from genai_platform.families.registry import families
from genai_platform.store.versions import champion

pytest_plugins = ["postgres_server"]  # the `postgres` fixture: a real server on loopback


def pytest_configure(config):
    torch.set_num_threads(TEST_THREADS)


def pytest_collection_modifyitems(items):
    """The minute-long tests first, so the workers start them at once and the short ones fill in around them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@dataclass
class SmokeRun:
    root: Path
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> SmokeRun:
    """The whole graph materialized once on the smoke profile; tests that change it work on a copy.

    The smoke image families barely train, so their class findings fail and the gate withholds their first
    versions: nothing serves. They are then promoted by hand through the command line, as an operator would,
    so that the tests of champions have one (tests/test_promotion.py checks the withholding itself)."""
    root = tmp_path_factory.mktemp("smoke_run")
    result = materialize(resources_from_env(smoke_environment(root)))
    with duckdb.connect(str(root / "home" / "genai.duckdb"), read_only=True) as con:
        withheld = [family.name for family in families() if champion(con, family.name) is None]
    for family in withheld:
        assert main(["promote", family], smoke_environment(root)) == 0
    return SmokeRun(root, result)


@pytest.fixture
def smoke_env(tmp_path):
    return smoke_environment(tmp_path)


@pytest.fixture
def smoke_resources(smoke_env):
    return resources_from_env(smoke_env)
