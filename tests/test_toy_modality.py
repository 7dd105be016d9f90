"""A new modality is one plug-in: the test-only signal modality (toy_modality.py), registered with its family,
metric and floor through the platform's registration functions, is ingested, preprocessed, trained, sampled,
evaluated, gated and reported by the code location with no edit of the platform."""

import json

import dagster as dg
import duckdb
import numpy as np
import pytest
from toy_modality import (FLOOR, METRIC, SIGNAL, SIGNAL_FAMILY, SPECTRAL_DISTANCE, SPECTRAL_INTERVAL, UNSEEN_SIGNALS,
                          sine_waves)

from helpers import smoke_environment
from genai_platform.definitions import build_definitions
from genai_platform.defs.resources import resources_from_env
from genai_platform.families.registry import FAMILIES, register
from genai_platform.metrics import catalog
from genai_platform.modalities import MODALITIES, register_modality


@pytest.fixture
def signal_modality():
    register_modality(SIGNAL)
    register(SIGNAL_FAMILY)
    catalog.register_metric(METRIC, SPECTRAL_DISTANCE, catalog.GROUP_JACKKNIFE_T, SPECTRAL_INTERVAL,
                            catalog.BASIC_BOOTSTRAP)
    catalog.register_reference(FLOOR, UNSEEN_SIGNALS)
    yield SIGNAL
    del MODALITIES[SIGNAL.name], FAMILIES[SIGNAL_FAMILY.name], catalog.REFERENCES[FLOOR]
    for table in (catalog.METRICS, catalog.INTERVAL_KINDS, catalog.INTERVALS, catalog.DIFFERENCE_KINDS):
        del table[METRIC]


def test_a_modality_name_is_registered_once(signal_modality):
    with pytest.raises(ValueError, match="modality name 'signal' is taken"):
        register_modality(SIGNAL)
    with pytest.raises(ValueError, match="metric 'spectral_distance' is taken"):
        catalog.register_metric(METRIC, SPECTRAL_DISTANCE, catalog.GROUP_JACKKNIFE_T)


def test_a_modality_with_neither_a_source_nor_a_bundled_dataset_stops_the_code_location(signal_modality, tmp_path):
    with pytest.raises(ValueError, match="GENAI_SIGNAL_SOURCE is not set and the signal modality has no bundled"):
        build_definitions(smoke_environment(tmp_path))


@pytest.mark.e2e
def test_a_third_modality_flows_through_the_whole_graph(signal_modality, tmp_path):
    source = tmp_path / "waves.npz"
    np.savez(source, signals=sine_waves(400, 64, seed=0))
    env = {**smoke_environment(tmp_path), "GENAI_SIGNAL_SOURCE": str(source)}
    chain = dg.AssetSelection.assets(SIGNAL.raw_asset).downstream()
    with dg.instance_for_test() as instance:
        for seed in ("0", "1"):  # a second seed retrains: a challenger that the gate compares with its champion
            night = {**env, "GENAI_SEED": seed}
            defs = build_definitions(night)
            result = dg.materialize(list(defs.assets) + list(defs.asset_checks), selection=chain, instance=instance,
                                    resources=resources_from_env(night))
            assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"raw_signals", "signals", "train_signal_gaussian", "samples_signal_gaussian", "signal_evaluation",
            "champion_signal_gaussian", "model_comparison_report", "ethics_report"} <= materialized
    assert not materialized & {"raw_images", "train_vae", "text_evaluation"}
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["non_empty"] and checks["finite"] and checks["one_length"]

    con = duckdb.connect(str(tmp_path / "home" / "genai.duckdb"), read_only=True)
    try:
        splits = dict(con.execute("SELECT split, count(*) FROM signals GROUP BY split").fetchall())
        versions = [r[0] for r in con.execute("SELECT version FROM model_versions WHERE family = 'signal_gaussian' "
                                              "ORDER BY created_at").fetchall()]
        compared = con.execute("SELECT baseline_run_id, ci_low, ci_high FROM metric_comparisons WHERE "
                               "subject = 'signal_gaussian' AND metric = $m AND baseline_run_id IS NOT NULL",
                               {"m": METRIC}).fetchall()
        decisions = con.execute("SELECT challenger, decision, reason FROM promotions WHERE family = 'signal_gaussian' "
                                "ORDER BY decided_at").fetchall()
        floor = con.execute("SELECT value FROM metrics_history WHERE subject = $s AND metric = $m",
                            {"s": FLOOR, "m": METRIC}).fetchall()
    finally:
        con.close()
    assert sum(splits.values()) == 400 and splits["train"] > splits["test"] > 0
    assert len(versions) == 2
    assert [(run, low <= high) for run, low, high in compared] == [(versions[0], True)]  # challenger vs champion
    assert [d[0] for d in decisions] == versions and decisions[0][1] == "first" and len(floor) == 2
    assert "Spectral distance" in decisions[1][2]  # the gate judged the second version on the toy's gate metric

    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    signal = next(m for m in report["modalities"] if m["name"] == "signal")
    rows = {row["subject"]: row for row in signal["leaderboard"]["rows"]}
    assert set(rows) == {"signal_gaussian", FLOOR} and rows[FLOOR]["role"] == "reference"
    assert rows["signal_gaussian"]["cells"][METRIC]["ci_low"] <= rows["signal_gaussian"]["cells"][METRIC]["value"]
    comparison = (tmp_path / "reports" / "model_comparison.html").read_text()
    assert 'data-modality="signal"' in comparison and "Spectral distance" in comparison
    assert "Signal dataset" in (tmp_path / "reports" / "ethics.html").read_text()


@pytest.mark.e2e
def test_a_third_modality_dataset_from_a_datasets_file(signal_modality, tmp_path):
    """The same plug-in as an entry of a datasets file: its partition runs the signal_datasets job into the
    dataset's own DuckDB file and reports folder."""
    np.savez(tmp_path / "waves.npz", signals=sine_waves(300, 32, seed=1))
    (tmp_path / "datasets.yaml").write_text("datasets:\n  - {name: waves, modality: signal, source: waves.npz}\n")
    env = {**smoke_environment(tmp_path), "GENAI_DATASETS": str(tmp_path / "datasets.yaml")}
    defs = build_definitions(env)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("datasets", ["waves"])
        result = defs.resolve_job_def("signal_datasets").execute_in_process(instance=instance, partition_key="waves")
    assert result.success
    with duckdb.connect(str(tmp_path / "home" / "datasets" / "waves" / "genai.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM signals").fetchone()[0] == 300
        assert con.execute("SELECT decision FROM promotions WHERE family = 'signal_gaussian'").fetchall() == [("first",)]
    report = json.loads((tmp_path / "reports" / "datasets" / "waves" / "report.json").read_text())
    assert [m["name"] for m in report["modalities"]] == ["signal"]
