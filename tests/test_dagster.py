"""The code location: the whole graph materialized on the smoke profile, checks, schedule, bad input."""

import json
import duckdb
import numpy as np
import pytest
import dagster as dg

from helpers import materialize as _materialize, smoke_environment
from genai_platform.defs.reports import failed_runs_in_index
from genai_platform.definitions import defs, nightly_schedule
from genai_platform.families.registry import families
from genai_platform.defs.resources import resources_from_env


def test_graph_groups_job_and_schedule():
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {"ingestion", "preprocessing", "training", "evaluation", "promotion", "reports"}
    for family in families():
        assert dg.AssetKey(f"train_{family.name}") in graph.get_all_asset_keys()
        assert dg.AssetKey(f"samples_{family.name}") in graph.get_all_asset_keys()
        assert dg.AssetKey(f"champion_{family.name}") in graph.get_all_asset_keys()
    assert defs.resolve_job_def("nightly_retraining").name == "nightly_retraining"
    schedule = defs.resolve_schedule_def("nightly_retraining_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_schedule_env_overrides_and_run_request():
    schedule = nightly_schedule({"GENAI_NIGHTLY_CRON": "30 4 * * 1", "GENAI_NIGHTLY_TIMEZONE": "Europe/Paris",
                                 "GENAI_NIGHTLY_SCHEDULE": "off"})
    assert schedule.cron_schedule == "30 4 * * 1" and schedule.execution_timezone == "Europe/Paris"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    context = dg.build_schedule_context(scheduled_execution_time=None)
    requests = defs.resolve_schedule_def("nightly_retraining_schedule").evaluate_tick(context).run_requests
    assert len(requests) == 1 and requests[0].job_name in (None, "nightly_retraining")


@pytest.mark.e2e
def test_whole_graph_on_smoke_profile(smoke_run):
    result, tmp_path = smoke_run.result, smoke_run.root
    assert result.success
    checks = result.get_asset_check_evaluations()
    # the smoke models (seconds of training) cover few classes: their findings fail, and the check says so;
    # the image families' first versions are withheld for it, which challenger_promoted warns of
    withheld = {f"champion_{f.name}" for f in families() if f.modality.name == "image"}
    assert checks and all(c.passed for c in checks if c.check_name != "findings_pass"
                          and c.asset_key.to_user_string() not in withheld)
    promoted = [c for c in checks if c.check_name == "challenger_promoted" and c.asset_key.to_user_string() in withheld]
    assert len(promoted) == len(withheld) and not any(c.passed for c in promoted)
    intact = [c for c in checks if c.check_name == "champion_intact"]
    assert len(intact) == len(families()) and all(c.passed for c in intact)
    assert {c.metadata["decision"].value for c in promoted} == {"withheld"}
    (findings,) = [c for c in checks if c.check_name == "findings_pass"]
    counts = json.loads((tmp_path / "reports" / "report.json").read_text())["counts"]
    assert findings.metadata["failing"].value == counts["fail"] and findings.passed == (counts["fail"] == counts["warn"] == 0)
    assert findings.severity == (dg.AssetCheckSeverity.ERROR if counts["fail"] else dg.AssetCheckSeverity.WARN)
    assert {c.check_name for c in checks} >= {"non_empty", "pixel_range", "no_train_test_overlap", "labels_in_range",
                                              "every_trained_family_reported", "findings_pass", "no_regressions"}
    report_metadata = result.asset_materializations_for_node("reports")[0].metadata
    assert "| win rate |" in report_metadata["leaderboard"].value and report_metadata["path"].value.endswith(".html")

    reports = tmp_path / "reports"
    comparison = (reports / "model_comparison.html").read_text()
    ethics = (reports / "ethics.html").read_text()
    index = (reports / "index.html").read_text()
    for family in families():
        assert family.title in comparison and f"card-{family.name}" in ethics
    for label in ("FID", "KID", "Precision", "Coverage", "Class TV", "Copy rate", "Test bits/char",
                  "Continuation BLEU", "BLEU-4", "Self-BLEU-4", "Gender repr. TV", "Occupation sentiment gap",
                  "Extraction rate", "Closest to a training image", "real unseen (floor)", "training copies",
                  "uniform noise (ceiling)", "nrefs:1"):
        assert label in comparison, label
    assert "Datasheets" in ethics and "sklearn:digits" in ethics and "gensim:lee" in ethics
    assert "<script" not in comparison and "http://" not in comparison.replace("http://www.w3.org", "")
    cards = json.loads((reports / "model_cards.json").read_text())["model_cards"]
    assert set(cards) == {f.name for f in families()} and all(c["quantitative_analysis"]["performance_metrics"]
                                                              for c in cards.values())
    run_dirs = list((reports / "runs").iterdir())
    assert len(run_dirs) == 1 and run_dirs[0].name in index

    con = duckdb.connect(str(tmp_path / "home" / "genai.duckdb"), read_only=True)
    rows = con.execute("SELECT subject, metric, value, sample_count, data_version, code_version "
                       "FROM metrics_history").fetchall()
    roles = dict(con.execute("SELECT DISTINCT subject, role FROM metrics_history").fetchall())
    intervals = dict(((f, m), (lo, hi)) for f, m, lo, hi in con.execute(
        "SELECT subject, metric, ci_low, ci_high FROM metrics_history").fetchall())
    con.close()
    for key in (("vae", "fid"), ("vae", "precision"), ("lstm", "bits_per_character")):
        low, high = intervals[key]
        assert low is not None and low <= dict(((f, m), v) for f, m, v, *_ in rows)[key] <= high, key
    metrics = {(f, m): v for f, m, v, *_ in rows}
    assert all(r[4] and r[5] for r in rows)
    assert roles == {**{f.name: "model" for f in families()}, "unseen_real": "reference", "training_copies": "reference",
                     "noise": "reference",
                     "pixel_gaussian": "baseline", "unigram": "baseline", "training_data": "data", "unseen_text": "data",
                     "feature_extractor": "reference"}
    floor, ceiling = metrics[("unseen_real", "fid")], metrics[("noise", "fid")]
    assert 0 <= floor < ceiling
    assert ("vae", "fid") in metrics and ("lstm", "bits_per_character") in metrics
    assert ("training_data", "gender_representation_tv") in metrics

    # second run: the index lists both runs
    smoke_resources = resources_from_env(smoke_environment(tmp_path))
    assert _materialize(smoke_resources, selection=["model_comparison_report", "ethics_report", "report_index"]).success
    assert len(list((reports / "runs").iterdir())) == 2


def test_bad_input_fails_loudly_and_keeps_the_good_tables(smoke_resources, tmp_path):
    assert _materialize(smoke_resources, selection=["raw_images", "images"]).success
    db = str(tmp_path / "home" / "genai.duckdb")

    def tables():
        """Every images row, the raw row count, and the names of the tables."""
        con = duckdb.connect(db, read_only=True)
        try:
            return (con.execute("SELECT row_id, content_hash, split, pixels FROM images ORDER BY row_id").fetchall(),
                    con.execute("SELECT count(*) FROM raw_images").fetchone()[0],
                    {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()})
        finally:
            con.close()

    before = tables()
    truncated = tmp_path / "train-images-idx3-ubyte"
    truncated.write_bytes(b"\x00\x00\x08\x03" + (10).to_bytes(4, "big") + (2).to_bytes(4, "big") * 2 + b"\x00" * 7)
    config = {"ops": {"raw_images": {"config": {"source": str(truncated)}}}}
    result = _materialize(smoke_resources, selection=["raw_images", "images"], run_config=config, raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.error
    assert failure.cause.cls_name == "DataError"
    assert "train-images-idx3-ubyte: truncated" in failure.cause.message
    assert tables() == before

    # the failure sensor lists the failed run in the index, with its error
    context = dg.build_run_status_sensor_context(
        sensor_name="failed_runs_in_index", dagster_event=result.get_run_failure_event(),
        dagster_instance=dg.DagsterInstance.ephemeral(), dagster_run=result.dagster_run,
        resources={"artifacts": smoke_resources["artifacts"], "alerts": smoke_resources["alerts"]}).for_run_failure()
    failed_runs_in_index(context)
    index = (tmp_path / "reports" / "index.html").read_text("utf-8")
    assert result.dagster_run.run_id in index and "run failed" in index and "raw_images" in index

    # out-of-range or infinite float pixels are refused by ingestion, naming the rows: the raw table stays
    pixels = np.random.default_rng(0).uniform(0, 1, (40, 8, 8)).astype(np.float32)
    pixels[3] += 1.5
    pixels[17, 0, 0] = np.inf
    bright = tmp_path / "bright.npz"
    np.savez(bright, images=pixels)
    config = {"ops": {"raw_images": {"config": {"source": str(bright)}}}}
    result = _materialize(smoke_resources, selection=["raw_images", "images"], run_config=config, raise_on_error=False)
    message = result.get_step_failure_events()[0].event_specific_data.error.cause.message
    assert f"{bright}: field 'images' has 2 rows with NaN, infinite or out-of-range pixels (first in row 3)" in message
    assert tables() == before

    # one image passes ingestion but leaves a split of the staged table empty: every check result is
    # recorded, the failed one with what it found, the staged table is not swapped in, and the raw table
    # the refused images came in gives way to yesterday's
    np.savez(bright, images=pixels[:1].clip(0, 1))
    result = _materialize(smoke_resources, selection=["raw_images", "images"], run_config=config, raise_on_error=False)
    assert not result.success and result.asset_materializations_for_node("raw_images")
    message = result.get_step_failure_events()[0].event_specific_data.error.cause.message
    assert "non_empty" in message and "yesterday's tables are kept, its raw table too" in message
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {"non_empty", "pixel_range", "no_nan", "no_train_test_overlap", "labels_in_range",
                                "one_image_size"}
    assert [name for name, e in evaluations.items() if not e.passed] == ["non_empty"]
    assert evaluations["non_empty"].metadata["examples"].value in (["the test split is empty"],
                                                                   ["the train split is empty"])
    assert result.asset_materializations_for_node("images") == []
    assert tables() == before
    assert "images_staging" not in before[2] and "raw_images_previous" not in before[2]


def test_unknown_profile_is_a_clear_error(smoke_resources):
    """A profile set per run in the launchpad is checked like GENAI_PROFILE, before any step's body runs."""
    config = {"resources": {"run_settings": {"config": {"profile": "nonsense"}}}}
    with pytest.raises(dg.DagsterResourceFunctionError) as error:
        _materialize(smoke_resources, selection=["image_feature_extractor"], run_config=config)
    message = str(error.value.__cause__)
    assert "GENAI_PROFILE='nonsense'" in message and "smoke, default, full" in message
