"""A new family is one model file plus one registry entry: the toy family, registered here and
nowhere else, is trained, sampled, evaluated, ranked on the leaderboard and carded in the reports."""

import dagster as dg
import duckdb
import pytest
from toy_family import TOY_FAMILY

from helpers import smoke_environment
from genai_platform.definitions import build_definitions
from genai_platform.evaluation.modality import TrainingData
from genai_platform.evaluation.text import TEXT
from genai_platform.families.registry import FAMILIES, Family, build_model, register


@pytest.fixture
def toy_registered():
    register(TOY_FAMILY)
    yield TOY_FAMILY
    del FAMILIES[TOY_FAMILY.name]


@pytest.mark.e2e
def test_toy_family_flows_through_the_whole_graph(toy_registered, tmp_path):
    defs = build_definitions(smoke_environment(tmp_path))
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"train_toy", "samples_toy"} <= keys

    result = dg.materialize(list(defs.assets) + list(defs.asset_checks), resources=defs.resources)
    assert result.success
    assert result.asset_materializations_for_node("train_toy") and result.asset_materializations_for_node("samples_toy")
    coverage = [c for c in result.get_asset_check_evaluations() if c.check_name == "every_trained_family_reported"]
    assert coverage and coverage[0].passed and "toy" in coverage[0].metadata["trained"].value

    con = duckdb.connect(str(tmp_path / "home" / "genai.duckdb"), read_only=True)
    toy_rows = dict(con.execute("SELECT metric, role FROM metrics_history WHERE subject = 'toy'").fetchall())
    con.close()
    assert {"fid", "kid", "precision", "recall", "copy_rate"} <= set(toy_rows)
    assert set(toy_rows.values()) == {"model"}

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
