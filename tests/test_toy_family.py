"""A new family is one model file plus one registry entry: the toy family, declared by another package's entry
point and nowhere else, is trained, sampled, evaluated, gated and carded in the reports."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from toy_family import TOY_FAMILY

from helpers import smoke_environment
from genai_platform.modalities.base import TrainingData
from genai_platform.modalities.text import TEXT
from genai_platform.families.registry import (FAMILIES, Family, FamilyPluginError, build_model, families,
                                              plugin_families, register)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def toy_registered():
    register(TOY_FAMILY)
    yield TOY_FAMILY
    del FAMILIES[TOY_FAMILY.name]


PLUGIN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "genai-toy-family"
version = "0.1.0"

[project.entry-points."genai_platform.families"]
toy = "toy_family:TOY_FAMILY"

[tool.setuptools]
py-modules = ["toy_family"]
"""


@pytest.mark.e2e
@pytest.mark.slow
def test_a_family_from_another_package_flows_through_the_whole_graph(tmp_path):
    """The toy family as another package (its own pyproject.toml, installed with pip) that declares it in the
    genai_platform.families entry point group: the dagster CLI materializes the image chain with it, which
    trains, samples, evaluates, gates and reports it with no edit of this package."""
    plugin, site = tmp_path / "plugin", tmp_path / "site"
    plugin.mkdir()
    shutil.copy(Path(__file__).with_name("toy_family.py"), plugin / "toy_family.py")
    (plugin / "pyproject.toml").write_text(PLUGIN_PYPROJECT)
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                                "--target", str(site), str(plugin)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**smoke_environment(tmp_path), "DAGSTER_HOME": str(dagster_home),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    # the image chain, the reports and the index: what is downstream of raw_images
    night = subprocess.run([str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
                            "genai_platform.definitions", "--select", "raw_images*"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
    assert night.returncode == 0, night.stdout[-3000:] + night.stderr[-3000:]
    assert 'Started execution of step "train_toy"' in night.stderr + night.stdout

    con = duckdb.connect(str(tmp_path / "home" / "genai.duckdb"), read_only=True)
    toy_rows = dict(con.execute("SELECT metric, role FROM metrics_history WHERE subject = 'toy'").fetchall())
    decision = con.execute("SELECT decision, champion, reason FROM promotions WHERE family = 'toy'").fetchall()
    versions = con.execute("SELECT version FROM model_versions WHERE family = 'toy'").fetchall()
    con.close()
    assert {"fid", "kid", "precision", "recall", "copy_rate"} <= set(toy_rows)
    assert set(toy_rows.values()) == {"model"}
    # the gate judged it: served, or withheld for a failing finding (a pixel Gaussian has no digit classes)
    assert len(decision) == 1 and (decision[0][:2] == ("first", versions[0][0]) or
                                   (decision[0][:2] == ("withheld", None) and "failing findings" in decision[0][2]))

    comparison = (tmp_path / "reports" / "model_comparison.html").read_text()
    ethics = (tmp_path / "reports" / "ethics.html").read_text()
    assert 'data-family="toy"' in comparison and "Toy pixel Gaussian" in comparison
    assert "card-toy" in ethics


def test_registry_rejects_a_taken_name_a_missing_profile_and_an_unknown_base(toy_registered):
    with pytest.raises(ValueError, match="'toy' is taken"):
        register(TOY_FAMILY)
    with pytest.raises(ValueError, match="'unseen_real' is taken"):
        register(Family(**{**TOY_FAMILY.__dict__, "name": "unseen_real"}))
    with pytest.raises(ValueError, match="no settings for profile"):
        register(Family(**{**TOY_FAMILY.__dict__, "name": "toy2", "profiles": {"smoke": TOY_FAMILY.profiles["smoke"]}}))


def test_a_model_that_breaks_the_contract_is_refused_when_built():
    family = Family(**{**TOY_FAMILY.__dict__, "name": "mislabelled", "modality": TEXT})
    data = TrainingData({"shape": {"channels": 1, "height": 2, "width": 2}}, None, "v")
    with pytest.raises(TypeError, match="PixelGaussian, which is not a TextGenerator"):
        build_model(family, TOY_FAMILY.profiles["smoke"][0], data)


def _installed_entry_point(site: Path, value: str) -> None:
    """A distribution in `site` (on sys.path) declaring one family entry point, as pip would install it."""
    info = site / "genai_broken_family-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: genai-broken-family\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[genai_platform.families]\nbroken = {value}\n")


@pytest.mark.parametrize("value, message", [
    ("no_such_plugin_module:FAMILY", "cannot be loaded: ModuleNotFoundError"),
    ("os:sep", "gave str, not a Family"),
    ("toy_family:TOY_FAMILY", None),
])
def test_a_plugin_is_registered_or_its_entry_point_named(tmp_path, monkeypatch, value, message):
    _installed_entry_point(tmp_path, value)
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin_families.cache_clear()
    try:
        if message is None:
            assert plugin_families() == ("toy",) and families("image")[-1] is TOY_FAMILY
        else:
            with pytest.raises(FamilyPluginError, match=f"broken = '{value}' of genai-broken-family .*{message}"):
                families()
    finally:
        FAMILIES.pop("toy", None)
        monkeypatch.undo()
        plugin_families.cache_clear()
        plugin_families()


def test_a_plugin_that_takes_a_name_registers_nothing_and_is_named(tmp_path, monkeypatch):
    _installed_entry_point(tmp_path, "toy_family:TOY_FAMILY")
    taken = tmp_path / "genai_taken_family-0.1.0.dist-info"
    taken.mkdir()
    (taken / "METADATA").write_text("Metadata-Version: 2.1\nName: genai-taken-family\nVersion: 0.1.0\n")
    (taken / "entry_points.txt").write_text("[genai_platform.families]\ntaken = test_toy_family:VAE_AGAIN\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin_families.cache_clear()
    try:
        for _ in range(2):  # the same error again: the good plugin's family was not left registered
            with pytest.raises(FamilyPluginError, match="taken = 'test_toy_family:VAE_AGAIN' of genai-taken-family "
                               r".*'vae' is taken"):
                families()
            assert "toy" not in FAMILIES
    finally:
        monkeypatch.undo()
        plugin_families.cache_clear()
        plugin_families()


VAE_AGAIN = Family(**{**TOY_FAMILY.__dict__, "name": "vae"})
