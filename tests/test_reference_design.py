"""The reference design (issue 12): a model that copies training data never looks better than
real unseen data. On the bundled digits, with a quickly trained feature classifier, exact training
copies and copies plus pixel noise are scored beside the floor row by the evaluation's own path;
neither beats the floor on any leaderboard metric, and the data-copying statistic fails both."""

import numpy as np
import pytest
import torch
from scipy.stats import mannwhitneyu, norm
from sklearn.datasets import load_digits

from helpers import TEST_THREADS, quick_digit_classifier

from genai_platform.evaluation.image_scores import evaluate_images
from genai_platform.modalities.image import IMAGE
from genai_platform.metrics.catalog import TRAINING_COPIES, UNSEEN_REAL, info
from genai_platform.metrics.memorization import data_copying_ct, mann_whitney_z
from genai_platform.records import ImageSplit
from genai_platform.verdicts.thresholds import DEFAULT_THRESHOLDS, judge

COPY_CASES = ("exact_copies", "noisy_copies")
DRAWS = 6


@pytest.fixture(scope="module")
def scored():
    return score_digits(evaluate_images)


def score_digits(evaluate):
    """Rows by (subject, metric) and details of `evaluate` (evaluate_images) on digits with copy cases."""
    torch.set_num_threads(TEST_THREADS)
    digits = load_digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(digits.images))
    pixels = (digits.images[order] / 16.0).astype(np.float32)[:, None]
    labels = digits.target[order].astype(np.int64)
    cut = int(0.7 * len(pixels))
    train = ImageSplit(pixels[:cut], labels[:cut], [str(i) for i in range(cut)])
    heldout = ImageSplit(pixels[cut:], labels[cut:], [str(i) for i in range(cut, len(pixels))])
    classifier = quick_digit_classifier(train.pixels, train.labels)
    accuracy = (classifier.embed(torch.from_numpy(heldout.pixels))[1].argmax(axis=1) == heldout.labels).mean()
    assert accuracy > 0.9
    copies = train.pixels[rng.permutation(cut)[: len(heldout.pixels)]]
    noisy = np.clip(copies + rng.normal(0, 0.1, copies.shape), 0, 1).astype(np.float32)
    # other train subsamples of the same size: the floor's own sampling spread
    draws = {f"draw_{i}": train.pixels[rng.permutation(cut)[: len(heldout.pixels)]] for i in range(DRAWS)}
    half = len(heldout.pixels) // 2  # the reference (as the val split) and unseen real images (as the test split)
    reference, unseen = (ImageSplit(heldout.pixels[part], heldout.labels[part], []) for part in
                         (slice(None, half), slice(half, None)))
    rows, details = evaluate(classifier, 10, train, reference,
                             {"exact_copies": copies, "noisy_copies": noisy, **draws}, seed=0, unseen=unseen)
    return {(r.subject, r.metric): r for r in rows}, details


def test_copies_never_beat_the_real_data_floor_on_any_leaderboard_metric(scored):
    metrics, details = scored
    for metric in IMAGE.leaderboard_metrics:
        floor = metrics[(TRAINING_COPIES, metric)]
        entry = info(metric)
        for case in COPY_CASES:
            copy = metrics[(case, metric)]
            assert copy.sample_count == floor.sample_count == details.sample_count, (case, metric)
            # exact copies are a draw from the floor's own distribution (N train images against the held-out
            # reference), so they can edge the floor row by sampling luck only: never better than the typical
            # floor (the median over the floor row and other train subsamples) by more than those draws' range
            keys = [entry.sort_key(metrics[(subject, metric)].value)
                    for subject in (TRAINING_COPIES, *(f"draw_{i}" for i in range(DRAWS)))]
            typical, spread = float(np.median(keys)), max(keys) - min(keys)
            assert entry.sort_key(copy.value) >= typical - spread, (case, metric, copy.value, keys)


def test_the_floor_is_unseen_real_data_and_training_copies_score_worse_in_fid(scored):
    """The floor row is unseen real data at the rows' N. The feature classifier trained on the train images, so
    they sit more typically in its features than unseen images do, and copies of them score a worse FID than
    the floor (here 17.5 against 12.2; on MNIST the audit of issue 25 found 17.75 against 6.34)."""
    metrics, details = scored
    floor, copies = metrics[(UNSEEN_REAL, "fid")], metrics[(TRAINING_COPIES, "fid")]
    assert floor.sample_count == copies.sample_count == details.sample_count
    assert floor.value < copies.value, (floor, copies)


def test_the_data_copying_finding_fails_copies_and_passes_the_floor(scored):
    metrics, _ = scored
    threshold = DEFAULT_THRESHOLDS["data_copying"]
    for case in COPY_CASES:
        row = metrics[(case, "data_copying")]
        assert judge("data_copying", row.value, row.sample_count, threshold, row.ci_low, row.ci_high) == "fail", row
    floor = metrics[(TRAINING_COPIES, "data_copying")]
    assert judge("data_copying", floor.value, floor.sample_count, threshold, floor.ci_low, floor.ci_high) != "fail", floor
    assert abs(floor.value) < 2.5
    assert metrics[(TRAINING_COPIES, "copy_rate")].value < 0.05  # the floor's images are not its own training data


def test_kid_is_on_a_readable_scale_and_density_is_judged_by_closeness_to_one(scored):
    metrics, _ = scored
    assert abs(metrics[(TRAINING_COPIES, "kid")].value) < 50 and metrics[("noise", "kid")].value > 100
    assert info("density").direction == "one" and info("density").arrow == "→1"
    assert info("density").better(1.05, 0.9) and info("density").better(0.9, 4.6)
    assert info("density_inception").direction == "one"


def test_mann_whitney_z_matches_scipy_with_ties():
    x = np.array([0.0, 0.0, 0.1, 0.2, 0.2, 0.5, 0.7])
    y = np.array([0.2, 0.3, 0.4, 0.4, 0.6, 0.8, 0.9, 1.0])
    result = mannwhitneyu(x, y, alternative="less", use_continuity=False, method="asymptotic")
    assert mann_whitney_z(x, y) == pytest.approx(norm.ppf(result.pvalue), abs=1e-9)
    assert result.statistic == pytest.approx(sum((a > b) + 0.5 * (a == b) for a in x for b in y))


def test_data_copying_ct_on_a_hand_built_case():
    """One cell (cells=1): C_T is the Mann-Whitney Z of sample-to-train against held-out-to-train distances."""
    rng = np.random.default_rng(3)
    train = rng.normal(size=(200, 2))
    heldout = rng.normal(size=(60, 2))
    copies = train[:50] + rng.normal(0, 0.01, (50, 2))
    result = data_copying_ct(copies, heldout, train, cells=1)
    nearest = lambda x: np.linalg.norm(x[:, None] - train[None], axis=2).min(axis=1)  # noqa: E731
    p = mannwhitneyu(nearest(copies), nearest(heldout), alternative="less", use_continuity=False,
                     method="asymptotic").pvalue  # one-sided towards copying, so the tail does not round to 1
    assert result.ct == pytest.approx(norm.ppf(p), abs=1e-9) and result.ct < -3 and result.count == 50
    fresh = data_copying_ct(rng.normal(size=(60, 2)), heldout, train, cells=1)
    assert abs(fresh.ct) < 2.5
    with pytest.raises(ValueError, match="no cell holds"):
        data_copying_ct(copies[:5], heldout, train, cells=2)
