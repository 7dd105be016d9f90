"""The champion gate and model versions: the gate's decisions on constructed differences, then nights of
smoke runs on one home (re-use, a family retrained alone, a kept champion, retention, force and rollback
from the launchpad's config), then the command line on that home."""

import json
import shutil
from dataclasses import replace
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest
from helpers import materialize, smoke_environment

from genai_platform.cli import main
from genai_platform.datasets.image_sources import load_images
from genai_platform.defs.resources import resources_from_env
from genai_platform.evaluation.profiles import EVALUATION_PROFILES
from genai_platform.marking.c2pa_signing import read_c2pa
from genai_platform.marking.credentials import TRAINED_ALGORITHMIC_MEDIA
from genai_platform.modalities.image import MAX_GRID_SAMPLES
from genai_platform.verdicts.gate import Gate, decide, forced, grown_sample_count, rolled_back, samples_to_resolve
from genai_platform.metrics.comparisons import difference
from genai_platform.verdicts.thresholds import DEFAULT_THRESHOLDS
from genai_platform.records import Comparison, MetricRow
from genai_platform.store.tables import append_comparisons
from genai_platform.store.versions import champion, decisions, versions

GATE = Gate.of(("fid", "coverage"), {"fid": 0.05, "coverage": 0.05})
LIMITS = dict(DEFAULT_THRESHOLDS)
# the challenger's own values: the margins are 5% of the champion's (challenger's value less the difference)
VALUES = [MetricRow("vae", "fid", 100.0, 1000, 95.0, 105.0), MetricRow("vae", "coverage", 0.5, 1000, 0.45, 0.55)]


def _vs(version, metric, delta, low, high):
    return Comparison("vae", "vae", version, metric, delta, 1000, low, high)


def _vs_champion(metric, delta, low, high):
    return _vs("v1", metric, delta, low, high)


# ---- the gate on constructed differences


def test_the_first_version_is_promoted_unless_a_finding_fails_and_an_unchanged_one_stays():
    first = decide("vae", "v1", None, None, VALUES, [], GATE, LIMITS)
    assert (first.decision, first.champion, first.best) == ("first", "v1", "v1")
    withheld = decide("vae", "v1", None, None, [MetricRow("vae", "copy_rate", 0.5, 100, 0.4, 0.6)], [], GATE, LIMITS)
    assert (withheld.decision, withheld.champion, withheld.best) == ("withheld", None, None)
    assert "nothing serves: failing findings: Copy rate 0.5" in withheld.reason
    same = decide("vae", "v1", "v1", "v1", [], [], GATE, LIMITS)
    assert (same.decision, same.champion) == ("unchanged", "v1")


def test_the_margin_scales_the_champion_value_the_comparison_was_taken_at():
    """A comparison that carries the baseline's own value (the champion's FID at the comparison's sample size)
    sets the margin from it, not from the challenger's row at the rows' N."""
    gate = Gate.of(("fid",), {"fid": 0.08})
    at_every_sample = Comparison("vae", "vae", "v1", "fid", 3.0, 8000, 1.0, 5.0, baseline_value=50.0)
    (line,) = gate.lines([at_every_sample], VALUES)  # the row says 100 at N: a margin of 8 would pass it
    assert line.margin == pytest.approx(4.0) and line.verdict == "inconclusive"
    (fallback,) = gate.lines([_vs_champion("fid", 3.0, 1.0, 5.0)], VALUES)  # recorded before baseline values
    assert fallback.margin == pytest.approx(0.08 * 97.0) and fallback.verdict == "within margin"


def test_comparisons_carry_the_baseline_value_they_were_taken_on():
    first, second = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 1.5, 2.5, 3.0])
    mean = lambda values: lambda idx: float(values[idx].mean())  # noqa: E731
    taken = difference("fid", mean(first), mean(second), 4, 4, seed=0, paired=True)
    assert taken.baseline == pytest.approx(1.875) and taken.value == pytest.approx(0.625)
    near_one = difference("density", mean(first), mean(second), 4, 4, seed=0, paired=True)  # distance to 1
    assert near_one.baseline == pytest.approx(0.875)
    assert Comparison.of("vae", "vae", "v1", "fid", taken).baseline_value == taken.baseline


def test_a_challenger_within_the_margin_is_promoted():
    # FID 1 higher, all of the interval below the margin of 5% of the champion's 99; coverage better
    comparisons = [_vs_champion("fid", 1.0, -2.0, 4.0), _vs_champion("coverage", 0.05, 0.01, 0.09)]
    rows = VALUES + [MetricRow("vae", "copy_rate", 0.0, 100, 0.0, 0.03)]
    decision = decide("vae", "v2", "v1", "v1", rows, comparisons, GATE, LIMITS)
    assert (decision.decision, decision.champion, decision.previous) == ("promoted", "v2", "v1")
    assert "FID +1 [-2, +4] against a margin of 4.95 (within margin)" in decision.reason
    # a worse point estimate: promoted, but the champion stays the best version that served
    assert decision.best == "v1" and "v1 stays the best version" in decision.reason
    better = [_vs_champion("fid", -1.0, -4.0, 2.0), _vs_champion("coverage", 0.0, -0.01, 0.01)]
    assert decide("vae", "v2", "v1", "v1", VALUES, better, GATE, LIMITS).best == "v2"


@pytest.mark.parametrize("comparisons, rows, because", [
    # FID higher (worse) with all of the interval past the margin (5% of 94 = 4.7)
    ([_vs_champion("fid", 6.0, 5.0, 7.0), _vs_champion("coverage", 0.0, -0.01, 0.01)], VALUES,
     "worse than the champion by more than the margin on FID +6 [+5, +7] against a margin of 4.7 (worse)"),
    # coverage lower (worse) beyond the margin
    ([_vs_champion("fid", 0.0, -1.0, 1.0), _vs_champion("coverage", -0.2, -0.3, -0.1)], VALUES,
     "Coverage -0.2 [-0.3, -0.1] against a margin of 0.035 (worse)"),
    # no paired difference on a gate metric: nothing shows the challenger is not worse
    ([_vs_champion("fid", 0.0, -1.0, 1.0)], VALUES, "cannot be compared with the champion (Coverage: no paired"),
    # as good on the gate, but a failing memorization finding
    ([_vs_champion("fid", 0.0, -1.0, 1.0), _vs_champion("coverage", 0.0, -0.01, 0.01)],
     VALUES + [MetricRow("vae", "copy_rate", 0.5, 100, 0.4, 0.6)], "failing findings: Copy rate 0.5 (fail at 0.05)"),
])
def test_a_worse_or_flagged_challenger_leaves_the_champion_serving(comparisons, rows, because):
    decision = decide("vae", "v2", "v1", "v1", rows, comparisons, GATE, LIMITS)
    assert (decision.decision, decision.champion, decision.challenger) == ("kept", "v1", "v2")
    assert decision.reason.startswith("champion v1 stays; challenger v2: ") and because in decision.reason


def test_an_interval_wider_than_the_margin_is_inconclusive_and_says_what_would_resolve_it():
    # FID +0 [-10, +10] at n = 1000 against a margin of 5: the half-width 10 needs 4x the samples
    comparisons = [_vs_champion("fid", 0.0, -10.0, 10.0), _vs_champion("coverage", 0.0, -0.01, 0.01)]
    decision = decide("vae", "v2", "v1", "v1", VALUES, comparisons, GATE, LIMITS)
    assert (decision.decision, decision.champion) == ("inconclusive", "v1")
    assert ("half-width 10 at n = 1000; about 4,000 units per side (samples, prompts or documents) would resolve "
            "it") in decision.reason
    # a point estimate 2 on the worse side leaves 2.9 of the margin (5% of the champion's 98): (10 / 2.9)^2 times
    leaning = [_vs_champion("fid", 2.0, -8.0, 12.0), _vs_champion("coverage", 0.0, -0.01, 0.01)]
    assert "about 11,891 units per side" in decide("vae", "v2", "v1", "v1", VALUES, leaning, GATE, LIMITS).reason


def test_margins_of_a_metric_judged_by_its_distance_to_a_target_scale_with_the_champions_distance():
    # density: the challenger 0.8 (0.2 from 1), 0.1 closer than the champion, 0.3 from 1: a 10% margin is 0.03
    gate = Gate.of(("density",), {"density": 0.1})
    line, = gate.lines([_vs_champion("density", -0.1, -0.15, -0.05)], [MetricRow("vae", "density", 0.8, 1000)])
    assert line.margin == pytest.approx(0.03) and line.verdict == "within margin"


def test_a_challenger_that_is_the_best_version_is_judged_against_the_champion_alone():
    # v1 was the best; rolled back from, then re-trained to the same fingerprint: v1 is tonight's challenger
    comparisons = [_vs("v2", "fid", -1.0, -2.0, 0.0), _vs("v2", "coverage", 0.0, -0.01, 0.01)]
    decision = decide("vae", "v1", "v2", "v1", VALUES, comparisons, GATE, LIMITS)
    assert (decision.decision, decision.champion, decision.best) == ("promoted", "v1", "v1")


def test_drift_is_bounded_by_the_best_version_that_served():
    # v3 is within the margin of champion v2, but v2 had drifted from v1, the best: v3 is 7 worse than v1
    comparisons = [_vs("v2", "fid", 2.0, 1.0, 3.0), _vs("v2", "coverage", 0.0, -0.01, 0.01),
                   _vs("v1", "fid", 7.0, 5.5, 8.5), _vs("v1", "coverage", 0.0, -0.01, 0.01)]
    decision = decide("vae", "v3", "v2", "v1", VALUES, comparisons, GATE, LIMITS)
    assert (decision.decision, decision.champion, decision.best) == ("kept", "v2", "v1")
    assert "worse than v1, the best version that served, by more than the margin on FID +7" in decision.reason


def test_a_chain_of_small_regressions_stops_at_the_margin():
    # each night truly 1.5% worse than the night before, measured exactly; the margin is 5% of the champion
    quality, best, serving, served = 100.0, "v0", "v0", {"v0": 100.0}
    for night in range(1, 13):
        quality *= 1.015
        version = f"v{night}"
        comparisons = [Comparison("vae", "vae", v, "fid", quality - served[v], 1000, quality - served[v] - 0.1,
                                  quality - served[v] + 0.1) for v in {serving, best}]
        comparisons += [Comparison("vae", "vae", v, "coverage", 0.0, 1000, -0.01, 0.01) for v in {serving, best}]
        rows = [MetricRow("vae", "fid", quality, 1000), MetricRow("vae", "coverage", 0.5, 1000)]
        decision = decide("vae", version, serving, best, rows, comparisons, GATE, LIMITS)
        if decision.decision == "promoted":
            serving, best, served[version] = decision.champion, decision.best, quality
    assert best == "v0" and served[serving] / served["v0"] - 1 <= 0.05  # drift no more than the margin
    assert serving == "v3"  # 1.015^3 = +4.6% is within 5% of v0; 1.015^4 = +6.1% is not


def test_margins_are_checked():
    with pytest.raises(ValueError, match="gate margins for metrics the gate does not judge: kid"):
        Gate.of(("fid",), {"kid": 0.1})
    with pytest.raises(ValueError, match=r"fractions of the champion's value in \[0, 1\)"):
        Gate.of(("fid",), {"fid": 3.0})


def test_a_warning_finding_does_not_block_promotion():
    warn = MetricRow("vae", "copy_rate", 0.02, 100, 0.015, 0.03)  # between warn 0.01 and fail 0.05
    comparisons = [_vs_champion("fid", 0.0, -1.0, 1.0), _vs_champion("coverage", 0.0, -0.01, 0.01)]
    assert decide("vae", "v2", "v1", "v1", VALUES + [warn], comparisons, GATE, LIMITS).decision == "promoted"


def test_force_and_rollback_name_what_they_replace_and_reset_the_best():
    promoted = forced("vae", "v2", "v1", "command line")
    assert promoted.reason == "promoted by hand (command line) over champion v1" and promoted.best == "v2"
    back = rolled_back("vae", "v1", "v2", "run r9")
    assert (back.decision, back.champion, back.challenger, back.best) == ("rolled back", "v1", None, "v1")


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


def test_the_sample_count_that_resolves_the_margin_is_computed_from_the_last_intervals():
    gate = Gate.of(("fd_whitened", "nll_bound"), {"fd_whitened": 0.08, "nll_bound": 0.02})
    # whitened FD +0 [-0.2, +0.2] at n = 1,000 on a champion value of 2: the margin is 0.16, the resolution's
    # half-width 0.08, so (0.2 / 0.08)^2 = 6.25 times the samples
    wide = Comparison("vae", "vae", "v1", "fd_whitened", 0.0, 1000, -0.2, 0.2, 2.0)
    bound = Comparison("vae", "vae", "v1", "nll_bound", 0.0, 360, -0.5, 0.5, 0.5)  # not a sampled metric
    assert samples_to_resolve(gate, [wide, bound], ("fd_whitened",)) == 6250
    # an interval wholly inside or past the margin was decided: more samples would not change the verdict
    for decided in ((-0.04, 0.04), (0.2, 0.3)):
        assert samples_to_resolve(gate, [replace(wide, ci_low=decided[0], ci_high=decided[1])], ("fd_whitened",)) is None
    assert samples_to_resolve(gate, [bound], ("fd_whitened",)) is None
    assert samples_to_resolve(gate, [replace(wide, ci_low=None, ci_high=None)], ("fd_whitened",)) is None
    assert samples_to_resolve(gate, [replace(wide, baseline_value=None)], ("fd_whitened",)) is None
    # the next night's count: the profile's doubled until it reaches the wanted count, at most max_factor times
    assert [grown_sample_count(8000, wanted, 4) for wanted in (None, 8000, 8001, 16000, 20480, 10**6)] == \
        [8000, 8000, 16000, 16000, 32000, 32000]
    assert grown_sample_count(200, 6250, 1) == 200


def test_a_wide_gate_interval_grows_the_next_nights_samples_for_challenger_and_champion(smoke_run, tmp_path,
                                                                                          monkeypatch):
    """After a night whose vae comparison was inconclusive and wider than the gate's resolution, sampling
    doubles the count (the smoke profile allowing a factor of 2 here) and draws the champion again at it; the
    evaluation then pairs them all."""
    shutil.copytree(smoke_run.root / "home", tmp_path / "home")
    resources = resources_from_env(smoke_environment(tmp_path))
    config = {"ops": {"train_vae": {"config": {"steps": 21}}}}
    assert materialize(resources, selection=["train_vae", "samples_vae"], run_config=config).success
    with duckdb.connect(str(tmp_path / "home" / "genai.duckdb")) as con:
        serving = champion(con, "vae")
        # last night's whitened FD: +0 [-1, +1] on a champion value of 10, margin 0.8: inconclusive, and its
        # half-width 1 against the resolution's 0.4 asks for (1 / 0.4)^2 = 6.25 times the samples
        append_comparisons(con, "last-night", "image", [Comparison("vae", "vae", serving, "fd_whitened", 0.0, 200,
                                                                   -1.0, 1.0, 10.0)])
    monkeypatch.setitem(EVALUATION_PROFILES, "smoke", replace(EVALUATION_PROFILES["smoke"], max_sample_factor=2))
    result = materialize(resources, selection=["samples_vae", "image_evaluation"])
    assert result.success
    metadata = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in result.get_asset_materialization_events()}
    assert metadata["samples_vae"]["samples"].value == 400 and metadata["samples_vae"]["redrawn_versions"].text == serving
    with _db(tmp_path) as con:
        counts = con.execute("SELECT DISTINCT sample_count FROM metric_comparisons WHERE run_id = ? AND "
                             "subject = 'vae' AND baseline_run_id = ? AND metric = 'fd_whitened'",
                             [result.run_id, serving]).fetchall()
    assert counts == [(400,)]


@pytest.fixture(scope="module")
def nights(smoke_run, tmp_path_factory):
    """The session's smoke home, copied, then run night after night; each test reads one night's outcome."""
    root = tmp_path_factory.mktemp("nights")
    for folder in ("home", "reports"):
        shutil.copytree(smoke_run.root / folder, root / folder)
    with _db(root) as con:
        first = champion(con, "vae")
        outcomes = {"first": first, "root": root, "smoke vae decisions": decisions(con, "vae")}
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


def test_the_smoke_job_withholds_a_first_version_whose_findings_fail(nights):
    # the smoke vae barely trains: its class findings fail, so nothing served until it was promoted by hand
    forced_in, first = nights["smoke vae decisions"]
    assert (first.decision, first.champion, first.challenger) == ("withheld", None, nights["first"])
    assert "nothing serves: failing findings: Class TV" in first.reason
    assert (forced_in.decision, forced_in.champion, forced_in.best) == ("forced", nights["first"], nights["first"])


def test_an_unchanged_night_reuses_every_model_sample_set_and_evaluation(nights):
    result, metadata, checks = nights["unchanged"]
    assert result.success
    # every step that can re-use records it one way (defs.metadata.reuse_record): reused, from which run
    reusing = [key for key in metadata if key.startswith(("train_", "samples_", "image_feature_extractor"))
               or key.endswith(("_evaluation", "_metric_self_test"))]
    assert len(reusing) == 7 + 7 + 1 + 2 + 2, reusing
    assert all(metadata[key]["reused"] and metadata[key]["reused_from_run"] for key in reusing), reusing
    assert metadata["samples_vae"]["reused_from_run"] == metadata["image_evaluation"]["reused_from_run"] == nights["first"]
    assert {metadata[f"champion_{f}"]["decision"] for f in ("vae", "diffusion", "lstm")} == {"unchanged"}
    assert metadata["train_vae"]["version"] == nights["first"]


def test_a_changed_family_retrains_alone_and_a_failing_finding_keeps_its_champion(nights):
    result, metadata, checks = nights["vae changed"]
    assert result.success  # the run is green; the check below is what turns yellow
    retrained = sorted(key for key, m in metadata.items() if key.startswith("train_") and not m["reused"])
    assert retrained == ["train_diffusion", "train_gplvm", "train_vae"]  # and the two families in the vae's latents
    challenger = metadata["train_vae"]["version"]
    assert challenger == result.run_id and not metadata["samples_vae"]["reused"]
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
    # both carry the deployment's mark (its key made in GENAI_HOME by the night) and say where they come from
    assert json.loads((tmp_path / "lstm.txt.json").read_text())["digital_source_type"] == TRAINED_ALGORITHMIC_MEDIA
    capsys.readouterr()
    assert main(["detect", "--json", str(tmp_path / "grid.png"), str(tmp_path / "lstm.txt")], env) == 0
    assert [item["marked"] for item in json.loads(capsys.readouterr().out)] == [True, True]
    # with a certificate and key configured, the PNG also carries signed C2PA content credentials
    c2pa_test = pytest.importorskip("test_c2pa")
    chain, key, anchor = c2pa_test.make_chain(tmp_path, c2pa_test.KEYS["es256"]())
    signing = {**env, "GENAI_C2PA_CERT": str(chain), "GENAI_C2PA_KEY": str(key)}
    assert main(["sample", "vae", "-n", "4", "--out", str(tmp_path / "signed.png")], signing) == 0
    manifest = read_c2pa(tmp_path / "signed.png", trust_anchors=anchor)
    assert manifest["validation_state"] == "Trusted" and manifest["claim_generator_info"][0]["name"] == "genai-platform"
    capsys.readouterr()
    assert main(["detect", "--json", str(tmp_path / "signed.png")], env) == 0  # the mark survives the signing
    assert json.loads(capsys.readouterr().out)[0]["marked"] is True
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
    missing = tmp_path / "missing" / "dir" / "x.png"
    assert main(["sample", "vae", "-n", "4", "--out", str(missing)], env) == 2
    assert f"--out {missing}: the folder {missing.parent} does not exist" in capsys.readouterr().err
    assert not missing.parent.exists()
    assert main(["sample", "vae", "-n", str(MAX_GRID_SAMPLES + 1), "--out", str(tmp_path / "big.png")], env) == 2
    assert f"at most {MAX_GRID_SAMPLES} in a .png); write them to an .npz file" in capsys.readouterr().err
    assert main(["sample", "vae", "-n", str(MAX_GRID_SAMPLES + 1), "--out", str(tmp_path / "big.npz")], env) == 0
    assert load_images(str(tmp_path / "big.npz")).pixels.shape[0] == MAX_GRID_SAMPLES + 1  # ingestion reads it


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "genai-platform"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "versions" in done.stdout and "rollback" in done.stdout
