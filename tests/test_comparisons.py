"""Paired differences (metrics.comparisons): their 95% intervals cover the true difference in 90-99%
of simulated runs with known truth, and a real difference is found.

Two sets are scored against one fixed reference set, as two families (independent sets) or a family
and its previous run (paired: sample i of both from the same noise) are. When both sets come from one
distribution the true difference is 0 for every metric; for a shifted set the true FID difference at
N is the mean over many fresh draws (Monte Carlo)."""

import math
import shutil
from functools import partial

import duckdb
import numpy as np
import pytest
from helpers import materialize, smoke_environment
from scipy.stats import binomtest, norm

from genai_platform.defs.resources import resources_from_env
from genai_platform.modalities import MODALITIES
from genai_platform.families.registry import families

from genai_platform.metrics import comparisons
from genai_platform.evaluation.text_scores import TextUnits, compare_text
from genai_platform.metrics.catalog import (BASIC_BOOTSTRAP, DELETE_ONE_JACKKNIFE, DIFFERENCE_KINDS, HALF_SAMPLING,
                                             PAIRED_JACKKNIFE_T, POISSON_JACKKNIFE, WELCH_T)
from genai_platform.metrics.comparisons import (ClassDistance, KidTerms, bootstrap_difference, difference,
                                                jackknife_difference)
from genai_platform.metrics.language import distinct_n
from genai_platform.metrics.distributions import class_histogram
from genai_platform.metrics.fid import FrechetToReference
from genai_platform.metrics.manifold import MANIFOLD_METRICS, ManifoldResamples, RealManifold
from genai_platform.records import Estimate

DIM, N, REFERENCE_ROWS, CLASSES = 8, 120, 300, 5
REPLICATES = 120
NOMINAL_BAND = (0.90, 0.99)  # what a nominal 95% interval must cover


def consistent_with_band(covered: int, replicates: int = REPLICATES) -> bool:
    """Is the measured coverage, within its own 95% Wilson interval (Monte Carlo error: +-4% at 120
    replicates), inside NOMINAL_BAND? bench/comparisons.py measures it with more replicates."""
    interval = binomtest(covered, replicates).proportion_ci(method="wilson")
    return interval.high >= NOMINAL_BAND[0] and interval.low <= NOMINAL_BAND[1]


def reference_set():
    rng = np.random.default_rng(1)
    return rng.normal(size=(REFERENCE_ROWS, DIM)), class_histogram(rng.integers(0, CLASSES, REFERENCE_ROWS), CLASSES)


def draw_pair(rng, paired: bool, shift: float = 0.0):
    """Two sets from one distribution (the second moved by `shift`), sharing their noise when paired."""
    common = rng.normal(0.1, 1.0, size=(N, DIM))
    first = common + rng.normal(size=(N, DIM))
    second = (common if paired else rng.normal(0.1, 1.0, size=(N, DIM))) + rng.normal(size=(N, DIM)) + shift
    return first, second


def differences(reference, histogram, manifold, first, second, paired, seed):
    """Every image comparison's difference estimate, built as evaluation.image_scores.ImageScorer.compare does."""
    statistics = {"fid": [FrechetToReference(reference, s) for s in (first, second)],
                  "kid": [KidTerms(s, reference) for s in (first, second)]}
    resamples = [ManifoldResamples(manifold, s) for s in (first, second)]
    statistics.update({metric: [partial(r.metric, metric) for r in resamples] for metric in MANIFOLD_METRICS})
    cuts = np.quantile(reference[:, 0], np.linspace(0, 1, CLASSES + 1)[1:-1])  # a class per slice of feature 0
    statistics["class_tv_distance"] = [ClassDistance(np.digitize(s[:, 0], cuts), histogram) for s in (first, second)]
    return {metric: difference(metric, *pair, N, N, seed, paired, REFERENCE_ROWS)
            for metric, pair in statistics.items()}


def test_the_catalog_names_the_interval_each_metric_s_difference_gets(monkeypatch):
    """comparisons.difference picks each metric's interval; the catalog, which the reports quote, agrees."""
    functions = {BASIC_BOOTSTRAP: "bootstrap_difference", DELETE_ONE_JACKKNIFE: "jackknife_difference",
                 POISSON_JACKKNIFE: "coverage_difference", HALF_SAMPLING: "half_sample_difference"}
    called = []
    for name in functions.values():
        monkeypatch.setattr(comparisons, name, lambda *args, name=name, **kwargs: called.append(name) or
                            Estimate(0.0, 10))
    for metric, kind in DIFFERENCE_KINDS.items():
        if kind == PAIRED_JACKKNIFE_T:  # intervals.paired_ratio_difference of per-document sums: refused here
            with pytest.raises(ValueError, match="paired_ratio_difference"):
                difference(metric, lambda idx: 0.0, lambda idx: 0.0, 10, 10, 0, paired=True)
        elif kind != WELCH_T:  # intervals.difference_estimate of per-sentence scores, not comparisons.difference
            difference(metric, lambda idx: 0.0, lambda idx: 0.0, 10, 10, 0, paired=True, reference_count=10)
            assert called.pop() == functions[kind], metric


@pytest.mark.parametrize("paired", [False, True], ids=["two families", "a family and its previous run"])
def test_difference_intervals_cover_zero_for_sets_from_one_distribution(paired):
    reference, histogram = reference_set()
    manifold = RealManifold(reference)
    rng = np.random.default_rng(2 + paired)
    covered: dict[str, int] = {}
    for replicate in range(REPLICATES):
        first, second = draw_pair(rng, paired)
        for metric, estimate in differences(reference, histogram, manifold, first, second, paired, replicate).items():
            covered[metric] = covered.get(metric, 0) + (estimate.ci_low <= 0.0 <= estimate.ci_high)
    assert all(consistent_with_band(count) for count in covered.values()), covered


def test_fid_difference_interval_covers_the_true_difference_at_n_and_finds_a_shift():
    reference, _ = reference_set()
    rng = np.random.default_rng(5)
    shift = 0.3
    everything = np.arange(N)
    truth = np.mean([FrechetToReference(reference, s)(everything) * sign
                     for _ in range(1500) for s, sign in zip(draw_pair(rng, True, shift), (1, -1))]) * 2
    covered = found = 0
    for replicate in range(REPLICATES):
        first, second = draw_pair(rng, True, shift)
        estimate = bootstrap_difference(FrechetToReference(reference, first), FrechetToReference(reference, second),
                                        N, N, replicate, True)
        covered += estimate.ci_low <= truth <= estimate.ci_high
        found += estimate.ci_high < 0  # the second set is worse, so first minus second is below 0
    assert truth < 0
    assert consistent_with_band(covered), (covered, truth)
    assert found / REPLICATES > 0.5, found


def test_distinct_2_difference_interval_covers_zero_for_samples_of_one_language_model():
    rng = np.random.default_rng(9)
    words = [f"w{i}" for i in range(60)]
    weights = 1 / np.arange(1, 61)  # Zipf-like word frequencies
    weights /= weights.sum()
    covered = 0
    for replicate in range(REPLICATES):
        sides = [[list(rng.choice(words, size=rng.integers(4, 12), p=weights)) for _ in range(40)] for _ in range(2)]
        distinct = [lambda idx, side=side: distinct_n([side[i] for i in idx], 2) for side in sides]
        estimate = difference("distinct_2", *distinct, 40, 40, replicate, paired=False)
        covered += estimate.ci_low <= 0.0 <= estimate.ci_high
    assert consistent_with_band(covered), covered


TEXT_REPLICATES = 60


def text_differences(rng, seed: int, documents: int = 40, effect: float = 0.0) -> dict:
    """Two language models on shared documents and prompts, compared as the gate compares them (compare_text):
    per document, nats drawn around one rate per character, the second model's `effect` times higher; per
    prompt, a continuation that keeps each reference word with one probability. The true difference of
    continuation BLEU is 0, of bits per character -1.4 effect / ln 2 (E[difficulty] = 1)."""
    characters = rng.integers(50, 400, size=documents).astype(np.float64)
    difficulty = rng.gamma(4.0, 0.25, size=documents)  # shared by both models: documents differ in difficulty
    nats = [characters * (1.4 * difficulty * scale + rng.normal(0, 0.2, size=documents)) for scale in (1, 1 + effect)]
    words = [f"w{i}" for i in range(40)]
    references = [" ".join(rng.choice(words, size=12)) for _ in range(30)]
    continuations = [[" ".join(w if rng.random() < 0.6 else str(rng.choice(words)) for w in r.split()) for r in references]
                     for _ in range(2)]
    first, second = (TextUnits(c, references, [], None, None, n, characters) for c, n in zip(continuations, nats))
    return compare_text(first, second, True, seed)


def test_text_difference_intervals_cover_zero_for_models_of_equal_quality():
    rng = np.random.default_rng(13)
    covered: dict[str, int] = {}
    for replicate in range(TEXT_REPLICATES):
        for metric, estimate in text_differences(rng, replicate).items():
            covered[metric] = covered.get(metric, 0) + (estimate.ci_low <= 0.0 <= estimate.ci_high)
    assert set(covered) == {"bits_per_character", "continuation_bleu"}
    assert all(consistent_with_band(count, TEXT_REPLICATES) for count in covered.values()), covered


def test_the_bits_per_character_difference_covers_a_true_loss_on_few_documents():
    """A challenger 5% worse on 12 shared test documents: the delete-one jackknife over the documents holds the
    true difference in 95.0% of these 200 draws; the basic bootstrap it replaced, on the same draws, in 88.5%."""
    rng = np.random.default_rng(21)
    truth = -1.4 * 0.05 / np.log(2)
    estimates = [text_differences(rng, replicate, documents=12, effect=0.05)["bits_per_character"]
                 for replicate in range(200)]
    assert sum(e.ci_low <= truth <= e.ci_high for e in estimates) / 200 >= 0.93
    assert all(e.baseline > 0 for e in estimates)


def test_the_band_check_fails_an_interval_that_under_covers():
    assert not consistent_with_band(95)  # 79%: recall's bootstrap interval before half-sampling
    assert consistent_with_band(114)


def occupied_share(ball_of_sample: np.ndarray, balls: int):
    """Coverage of `balls` disjoint balls, sample i in ball_of_sample[i], as a statistic of sample indices."""
    return lambda indices: np.unique(ball_of_sample[indices]).size / balls


def test_coverage_difference_has_about_the_exact_variance_when_every_ball_has_the_same_rate():
    """Disjoint balls, each sample in one drawn uniformly, 2 samples a ball on average: the variance of
    the occupied share is known exactly. The delete-1 jackknife overstates it 2.9 times; scaled by
    (1 - e^-rate) / rate, 1.27 times: the fixed sample count makes the balls' occupancies a little
    negatively dependent, which the Poisson view behind the factor leaves out (bench/coverage.py has
    the realistic case: overlapping balls of unequal rates)."""
    balls, samples = 400, 800
    empty = balls * (1 - 1 / balls) ** samples
    variance = (empty + balls * (balls - 1) * (1 - 2 / balls) ** samples - empty ** 2) / balls ** 2
    rng = np.random.default_rng(0)
    sides = [occupied_share(rng.integers(0, balls, samples), balls) for _ in range(2)]
    scaled = difference("coverage", *sides, samples, samples, 0, paired=False, reference_count=balls)
    jackknifed = jackknife_difference(*sides, samples, samples, paired=False)
    implied = [((e.ci_high - e.value) / norm.ppf(0.975)) ** 2 / (2 * variance) for e in (scaled, jackknifed)]
    assert 1.0 < implied[0] < 1.5 and implied[1] > 2.5, implied


def test_coverage_difference_needs_the_reference_count_and_keeps_a_width_when_everything_is_covered():
    """Every ball holds a sample, ten of them a single one: no ball is seen uncovered, but leaving a
    sample out uncovers one, so the interval keeps a width (the rate's one extra uncovered ball)."""
    everything_covered = occupied_share(np.r_[np.arange(20), np.arange(10)], 20)
    with pytest.raises(ValueError, match="number of reference units"):
        difference("coverage", everything_covered, everything_covered, 30, 30, 0, paired=False)
    estimate = difference("coverage", everything_covered, everything_covered, 30, 30, 0, False, reference_count=20)
    assert estimate.value == 0.0 and estimate.ci_high > 0.02


def test_bootstrap_difference_refuses_unpaired_sizes_and_tiny_sets():
    mean = lambda values: lambda idx: float(values[idx].mean())  # noqa: E731
    with pytest.raises(ValueError, match="same units"):
        bootstrap_difference(mean(np.ones(4)), mean(np.ones(5)), 4, 5, 0, paired=True)
    with pytest.raises(ValueError, match="at least 2"):
        bootstrap_difference(mean(np.ones(1)), mean(np.ones(4)), 1, 4, 0, paired=False)


def test_a_second_night_compares_each_challenger_with_its_champion(smoke_run, tmp_path):
    """The smoke run compared its families pairwise. A second night that retrains some families adds, per
    retrained family, its challenger minus its champion on every leaderboard metric (bits per character
    too: the champion's model is kept), except for a family whose champion's samples have another
    shape; an unchanged family is its own champion and has nothing to compare."""
    con = duckdb.connect(str(smoke_run.root / "home" / "genai.duckdb"), read_only=True)
    first_run = con.execute("SELECT count(*), count(baseline_run_id) FROM metric_comparisons").fetchone()
    champions = dict(con.execute("SELECT family, champion FROM promotions").fetchall())
    con.close()
    assert first_run[0] > 0 and first_run[1] == 0  # the first night: family against family only
    shutil.copytree(smoke_run.root / "home", tmp_path / "home")
    # the gan champion's samples in another shape (as after a change of dataset): no comparison for it
    con = duckdb.connect(str(tmp_path / "home" / "genai.duckdb"))
    con.execute("UPDATE image_samples SET height = 4, width = 16 WHERE family = 'gan'")
    con.close()
    retrained = ["vae", "gan", "lstm"]  # and diffusion, gplvm and textgan, which start from the vae and the lstm
    names = [f.name for f in families()]
    selection = ([f"train_{name}" for name in names] + [f"samples_{name}" for name in names]
                 + [f"{m}_evaluation" for m in MODALITIES])
    config = {"ops": {f"train_{name}": {"config": {"steps": 21}} for name in retrained}}
    result = materialize(resources_from_env(smoke_environment(tmp_path)), selection=selection, run_config=config)
    con = duckdb.connect(str(tmp_path / "home" / "genai.duckdb"), read_only=True)
    rows = con.execute("SELECT modality, subject, baseline, baseline_run_id, metric, delta, ci_low, ci_high "
                       "FROM metric_comparisons WHERE run_id = ?", [result.run_id]).fetchall()
    con.close()
    for family in families():
        night = {metric: (delta, low, high, champion) for _, subject, baseline, champion, metric, delta, low, high
                 in rows if subject == baseline == family.name and champion is not None}
        # the leaderboard's metrics and the family's gate metrics (whitened FD, the vae's likelihood bound)
        expected = (set(family.modality.leaderboard_metrics) | set(family.gate_metrics)
                    if family.name in ("vae", "diffusion", "gplvm", "lstm", "textgan") else set())
        assert set(night) == expected, family.name
        assert all(champion == champions[family.name] and math.isfinite(delta) and low <= high
                   for delta, low, high, champion in night.values()), family.name
    pairs = {(subject, baseline) for _, subject, baseline, previous, *_ in rows if previous is None}
    image_families = sorted(f.name for f in families() if f.modality.name == "image")
    assert (image_families[0], image_families[1]) in pairs and len(pairs) == sum(
        len(members) * (len(members) - 1) // 2 for members in
        ([f for f in families() if f.modality.name == m] for m in MODALITIES))


def test_kid_leave_one_out_in_closed_form_equals_deleting_each_sample():
    rng = np.random.default_rng(3)
    terms = KidTerms(rng.normal(size=(40, 6)), rng.normal(size=(25, 6)), 1e3)
    deleted = [terms(np.delete(np.arange(40), i)) for i in range(40)]
    np.testing.assert_allclose(terms.left_out(), deleted, rtol=1e-10, atol=1e-9)
