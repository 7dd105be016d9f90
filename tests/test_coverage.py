"""Every interval in the reports covers what the catalog says it covers (issue 12).

Each scenario of bench/coverage.py (Gaussians with closed-form FID and MMD^2, multinomials with
exact expected TV, Bernoulli shares, skewed means, ratios, differences, amplification counts,
manifold metrics with Monte Carlo truth, coverage differences of two sets on one fixed reference)
runs at its test replicate count with seed 0: a nominal 95% interval must hold the known target in
90% to 99% of replicates. Every metric with an interval needs a catalog.INTERVALS sentence and a
scenario of its kind.
"""

import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.coverage import SCENARIOS  # noqa: E402
from genai_platform.metrics.catalog import FEATURE_SPACE_METRICS, INTERVALS, MARK_DETECTION_METRICS  # noqa: E402

# which simulated interval kind each catalogued interval is
KIND = {"fid": "fid", "fd_whitened": "fid", "kid": "kid", "precision": "precision", "recall": "recall", "density": "density",
        "coverage": "coverage", "class_tv_distance": "class_tv", "low_confidence_rate": "share", "copy_rate": "share",
        "near_copy_rate": "share", "extraction_rate": "share", "bits_per_character": "ratio", "nll_bound": "mean",
        "training_8gram_overlap": "ratio", "training_4gram_excess": "difference", "detectability_auc": "detectability",
        **dict.fromkeys((*MARK_DETECTION_METRICS, "mark_false_positive_rate"), "share"),
        "mark_fid_cost": "fid_difference", "mark_bpc_cost": "ratio_difference",
        **{f"{prefix}bleu_{n}": "mean" for prefix in ("", "self_") for n in range(2, 6)},
        **{f"sentiment_gap_{kind}": "difference" for kind in ("occupation", "respect")},
        **{f"{base}_amplification": "amplification"
           for base in ("gender_representation_tv", "gender_profession_association", "gender_adjective_association")}}
KIND.update({f"{metric}_inception": KIND[metric] for metric in FEATURE_SPACE_METRICS if metric in KIND})


TESTED = [s for s in SCENARIOS if s.in_test]


@pytest.mark.parametrize("scenario", TESTED, ids=[s.name for s in TESTED])
def test_nominal_95_percent_interval_covers_90_to_99_percent(scenario):
    result = scenario.simulate(scenario.test_replicates, 0)
    assert len(result.covered) >= scenario.test_replicates
    assert 0.90 <= result.coverage <= 0.99, (scenario.name, result.coverage)


def test_every_catalogued_interval_has_a_coverage_simulation():
    assert set(KIND) == set(INTERVALS)
    assert set(KIND.values()) <= {s.kind for s in TESTED}
    assert all(sentence.strip() for sentence in INTERVALS.values())


@pytest.mark.e2e
def test_every_recorded_interval_is_catalogued(smoke_run):
    con = duckdb.connect(str(smoke_run.root / "home" / "genai.duckdb"), read_only=True)
    with_interval = {m for (m,) in con.execute(
        "SELECT DISTINCT metric FROM metrics_history WHERE ci_low IS NOT NULL").fetchall()}
    con.close()
    assert with_interval and with_interval <= set(INTERVALS), sorted(with_interval - set(INTERVALS))
