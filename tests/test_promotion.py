"""The champion gate and model versions: the gate's decisions on constructed differences, then nights of
smoke runs on one home (re-use, a family retrained alone, a kept champion, retention, force and rollback
from the launchpad's config), then the command line on that home."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from helpers import materialize, smoke_environment

from genai_platform.cli import main
from genai_platform.defs.resources import resources_from_env
from genai_platform.evaluation.promotion import decide, forced, rolled_back
from genai_platform.reporting.analysis import DEFAULT_THRESHOLDS
from genai_platform.records import Comparison, MetricRow
from genai_platform.store.versions import champion, decisions, versions

GATE = ("fid", "coverage")
LIMITS = dict(DEFAULT_THRESHOLDS)


def _vs_champion(metric, delta, low, high):
    return Comparison("vae", "vae", "v1", metric, delta, 100, low, high)


# ---- the gate on constructed differences


def test_the_first_version_is_promoted_and_an_unchanged_one_stays():
    first = decide("vae", "v1", None, [MetricRow("vae", "copy_rate", 0.5, 100, 0.4, 0.6)], [], GATE, LIMITS)
    assert (first.decision, first.champion) == ("first", "v1") and "failing findings: Copy rate 0.5" in first.reason
    same = decide("vae", "v1", "v1", [], [], GATE, LIMITS)
    assert (same.decision, same.champion) == ("unchanged", "v1")


def test_a_challenger_not_worse_beyond_the_interval_is_promoted():
    # FID 3 higher but the interval holds 0; coverage better beyond noise
    comparisons = [_vs_champion("fid", 3.0, -2.0, 8.0), _vs_champion("coverage", 0.05, 0.01, 0.09)]
    decision = decide("vae", "v2", "v1", [MetricRow("vae", "copy_rate", 0.0, 100, 0.0, 0.03)], comparisons, GATE,
                      LIMITS)
    assert (decision.decision, decision.champion, decision.previous) == ("promoted", "v2", "v1")
    assert "FID +3 [-2, +8] (indistinguishable)" in decision.reason and "(better)" in decision.reason


@pytest.mark.parametrize("comparisons, rows, because", [
    # FID higher (worse) with all of the interval above 0
    ([_vs_champion("fid", 5.0, 1.0, 9.0), _vs_champion("coverage", 0.0, -0.1, 0.1)], [],
     "worse than the champion beyond the 95% interval on FID +5 [+1, +9] (worse)"),
    # coverage lower (worse) beyond noise
    ([_vs_champion("fid", 0.0, -1.0, 1.0), _vs_champion("coverage", -0.2, -0.3, -0.1)], [],
     "Coverage -0.2 [-0.3, -0.1] (worse)"),
    # no paired difference on a gate metric: nothing shows the challenger is not worse
    ([_vs_champion("fid", 0.0, -1.0, 1.0)], [], "cannot be compared with the champion (Coverage: no paired"),
    # as good on the gate, but a failing memorization finding
    ([_vs_champion("fid", 0.0, -1.0, 1.0), _vs_champion("coverage", 0.0, -0.1, 0.1)],
     [MetricRow("vae", "copy_rate", 0.5, 100, 0.4, 0.6)], "failing findings: Copy rate 0.5 (fail at 0.05)"),
])
def test_a_worse_or_flagged_challenger_leaves_the_champion_serving(comparisons, rows, because):
    decision = decide("vae", "v2", "v1", rows, comparisons, GATE, LIMITS)
    assert (decision.decision, decision.champion, decision.challenger) == ("kept", "v1", "v2")
    assert decision.reason.startswith("champion v1 stays; challenger v2: ") and because in decision.reason


def test_a_warning_finding_does_not_block_promotion():
    warn = MetricRow("vae", "copy_rate", 0.02, 100, 0.015, 0.03)  # between warn 0.01 and fail 0.05
    comparisons = [_vs_champion("fid", 0.0, -1.0, 1.0), _vs_champion("coverage", 0.0, -0.1, 0.1)]
    assert decide("vae", "v2", "v1", [warn], comparisons, GATE, LIMITS).decision == "promoted"


def test_force_and_rollback_name_what_they_replace():
    assert forced("vae", "v2", "v1", "command line").reason == "promoted by hand (command line) over champion v1"
    back = rolled_back("vae", "v1", "v2", "run r9")
    assert (back.decision, back.champion, back.challenger) == ("rolled back", "v1", None)


# ---- nights on one home


def _night(root, run_config=None, selection=None):
    result = materialize(resources_from_env(smoke_environment(root)), run_config=run_config, selection=selection)
    metadata = {e.asset_key.to_user_string(): {k: getattr(v, "value", v) for k, v in
                                               e.event_specific_data.materialization.metadata.items()}
                for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    checks = {(c.asset_key.to_user_string(), c.check_name): c for c in result.get_asset_check_evaluations()}
    return result, metadata, checks


def _db(root):
    return duckdb.connect(str(root / "home" / "genai.duckdb"), read_only=True)


@pytest.fixture(scope="module")
def nights(smoke_run, tmp_path_factory):
    """The session's smoke home, copied, then run night after night; each test reads one night's outcome."""
    root = tmp_path_factory.mktemp("nights")
    for folder in ("home", "reports"):
        shutil.copytree(smoke_run.root / folder, root / folder)
    with _db(root) as con:
        first = champion(con, "vae")
    outcomes = {"first": first, "root": root}
    outcomes["unchanged"] = _night(root)
    outcomes["vae changed"] = _night(root, {"ops": {"train_vae": {"config": {"steps": 30}}}})
    with _db(root) as con:
        outcomes["kept report"] = json.loads((root / "reports" / "report.json").read_text())
        outcomes["vae versions"] = [v.version for v in versions(con, "vae")]
    outcomes["vae weights"] = [(root / "home" / "models" / "vae" / "versions" / v / "model.safetensors").exists()
                               for v in outcomes["vae versions"]]
    # another change, and a retention of 1: the kept challenger of the night before (never champion) goes
    outcomes["retention"] = _night(root, {"ops": {"train_vae": {"config": {"steps": 40}},
                                                  "champion_vae": {"config": {"keep_versions": 1}}}})
    outcomes["forced"] = _night(root, {"ops": {"train_vae": {"config": {"steps": 40}},
                                               "champion_vae": {"config": {"force_promote": True}}}})
    outcomes["rollback"] = _night(root, {"ops": {"champion_vae": {"config": {"rollback_to": first}}}},
                                  selection=["champion_vae"])
    return outcomes


def test_an_unchanged_night_reuses_every_model_sample_set_and_evaluation(nights):
    result, metadata, checks = nights["unchanged"]
    assert result.success
    trained = {key: m for key, m in metadata.items() if key.startswith("train_")}
    assert len(trained) == 7 and all(m["reused"] for m in trained.values())
    assert all("reused_from_run" in metadata[f"samples_{f}"] for f in ("vae", "gan", "lstm", "textgan"))
    assert "reused_from_run" in metadata["image_evaluation"] and "reused_from_run" in metadata["text_evaluation"]
    assert metadata["image_feature_extractor"]["reused"]
    assert {metadata[f"champion_{f}"]["decision"] for f in ("vae", "diffusion", "lstm")} == {"unchanged"}
    assert metadata["train_vae"]["version"] == nights["first"]


def test_a_changed_family_retrains_alone_and_a_failing_finding_keeps_its_champion(nights):
    result, metadata, checks = nights["vae changed"]
    assert result.success  # the run is green; the check below is what turns yellow
    retrained = sorted(key for key, m in metadata.items() if key.startswith("train_") and not m["reused"])
    assert retrained == ["train_vae"]
    challenger = metadata["train_vae"]["version"]
    assert challenger == result.run_id and "reused_from_run" not in metadata["samples_vae"]
    promotion = metadata["champion_vae"]
    # the smoke vae misses most digit classes: its class TV fails, so it may not replace the champion
    assert (promotion["decision"], promotion["champion"]) == ("kept", nights["first"])
    assert "failing findings: Class TV" in promotion["reason"]
    check = checks[("champion_vae", "challenger_promoted")]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    # nothing was deleted: both versions are kept, on disk and in the table
    assert nights["vae versions"] == [challenger, nights["first"]] and nights["vae weights"] == [True, True]
    # the report says which version serves and why
    (image,) = [m for m in nights["kept report"]["modalities"] if m["name"] == "image"]
    (vae,) = [row for row in image["serving"] if row["model"] == "vae"]
    assert (vae["champion"], vae["challenger"], vae["decision"]) == (nights["first"], challenger, "kept")
    assert "failing findings" in vae["reason"]


def test_retention_deletes_a_version_that_never_served_and_keeps_every_champion(nights):
    result, metadata, _ = nights["retention"]
    kept_before = nights["vae versions"][0]
    versions_dir = nights["root"] / "home" / "models" / "vae" / "versions"
    assert not (versions_dir / kept_before).exists()
    assert (versions_dir / nights["first"]).exists() and (versions_dir / result.run_id).exists()


def test_force_promote_and_rollback_from_the_launchpad(nights):
    result, metadata, _ = nights["forced"]
    assert metadata["train_vae"]["reused"]  # the same config as the night before: that version again
    assert (metadata["champion_vae"]["decision"], metadata["champion_vae"]["champion"]) == (
        "forced", metadata["train_vae"]["version"])
    _, metadata, _ = nights["rollback"]
    assert (metadata["champion_vae"]["decision"], metadata["champion_vae"]["champion"]) == (
        "rolled back", nights["first"])
    with _db(nights["root"]) as con:
        assert champion(con, "vae") == nights["first"]
        assert [d.decision for d in decisions(con, "vae")][:4] == ["rolled back", "forced", "kept", "kept"]


# ---- the command line


def test_the_command_line_lists_samples_promotes_rolls_back_and_reports(nights, tmp_path, capsys):
    root = tmp_path / "cli"
    shutil.copytree(nights["root"], root)
    env = smoke_environment(root)
    assert main(["versions", "vae"], env) == 0
    listing = capsys.readouterr().out
    assert nights["first"] in listing and "champion" in listing and "last decision" in listing
    assert main(["sample", "vae", "-n", "9", "--out", str(tmp_path / "grid.png")], env) == 0
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["sample", "lstm", "-n", "2", "--out", str(tmp_path / "lstm.txt")], env) == 0
    assert (tmp_path / "lstm.txt").read_text().count("--- sample") == 2
    assert main(["promote", "vae"], env) == 0  # the challenger: the newest version
    capsys.readouterr()
    assert main(["rollback", "vae"], env) == 0
    assert "rolled back, serving " + nights["first"] in capsys.readouterr().out
    assert main(["report"], env) == 0
    assert "rolled back by hand (command line)" in (root / "reports" / "model_comparison.html").read_text()
    # clear errors, exit status 2
    assert main(["versions", "nope"], env) == 2
    assert "unknown family 'nope'; registered families: vae, gan" in capsys.readouterr().err
    assert main(["sample", "vae", "--version", "nope"], env) == 2
    assert "vae has no kept version 'nope'; kept versions: " in capsys.readouterr().err
    assert main(["versions", "vae"], smoke_environment(tmp_path / "empty")) == 2
    assert "no platform database at" in capsys.readouterr().err


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "genai-platform"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "versions" in done.stdout and "rollback" in done.stdout
