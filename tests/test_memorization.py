"""Memorization that sees through disguises (issue 25): the near-copy test against a brute-force
reference and a hand-computed calibration, the training 4-gram excess against hand counts and scipy's
Welch interval, and on real digits (the bundled 8x8 ones and the same upscaled to 28 px as bench/scale.py
builds them) disguised training copies fail the near-copy finding at the default thresholds while unseen
real digits pass it."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter, shift, zoom
from scipy.stats import ttest_ind
from sklearn.datasets import load_digits

from genai_platform.evaluation.self_test_panel import DISGUISED_COPIES, disguised_copies, heldout_halves
from genai_platform.metrics.bleu import tokenize
from genai_platform.metrics.memorization import (KTH_NEIGHBOUR, SHIFT, InvariantMatcher, NearCopyTest, near_copy_rate,
                                                 ngrams, training_ngram_coverage, training_ngram_excess)
from genai_platform.verdicts.thresholds import DEFAULT_THRESHOLDS, judge

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scale import digits_28px  # noqa: E402

FRAME, CONTENT = 14, 6  # hand-built images: content in the middle, a margin wider than any shift plus the blur


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 2-thread pool on 2 cores shared with other work can run 10x slower
    yield
    torch.set_num_threads(threads)


def _hand_built(count: int, rng) -> np.ndarray:
    """Smooth random blobs (3 x 3 values, bilinear up to CONTENT px) in the middle of the frame."""
    images = np.zeros((count, 1, FRAME, FRAME), np.float32)
    start = (FRAME - CONTENT) // 2
    coarse = rng.random((count, 1, 3, 3))
    images[:, :, start:start + CONTENT, start:start + CONTENT] = zoom(coarse, (1, 1, CONTENT / 3, CONTENT / 3), order=1)
    return images


def _blur(images: np.ndarray) -> np.ndarray:
    """The matcher's blur at this size (sd 0.5 px, kernel cut at 3 sd, zero outside), by scipy."""
    return gaussian_filter(images, sigma=(0, 0, 0.5, 0.5), mode="constant", truncate=3.0)


def _shifted_ratio_by_brute_force(sample: np.ndarray, training: np.ndarray) -> float:
    """min over every training image, mirrored or not, moved by every offset up to SHIFT (zero fill), of its
    distance to the sample, over the sample's distance to its KTH_NEIGHBOUR-th nearest training image; all
    on blurred images."""
    x, blurred = _blur(sample[None])[0], _blur(training)
    distances = [np.linalg.norm(x - shift(version, (0, dy, dx), order=0, mode="constant"))
                 for image in blurred for version in (image, image[..., ::-1])
                 for dy in range(-SHIFT, SHIFT + 1) for dx in range(-SHIFT, SHIFT + 1)]
    kth = np.sort([np.linalg.norm(x - image) for image in blurred])[KTH_NEIGHBOUR - 1]
    return min(distances) / kth


def test_shift_and_mirror_matching_equals_a_brute_force_search():
    """With 8 training images every one is a candidate, so the matcher's first ratio is the exhaustive one."""
    rng = np.random.default_rng(0)
    training = _hand_built(8, rng)
    moved = shift(training[3], (0, 1, -2), order=0, mode="constant")
    mirrored_moved = shift(training[5][..., ::-1], (0, -2, 1), order=0, mode="constant")
    samples = np.stack([moved, mirrored_moved, _hand_built(1, rng)[0], training[0] * 0.5])
    ratios = InvariantMatcher(training).ratios(samples)
    expected = [_shifted_ratio_by_brute_force(sample, training) for sample in samples]
    assert ratios[:, 0] == pytest.approx(expected, rel=1e-4, abs=1e-3)
    assert ratios[0, 0] < 1e-3 and ratios[1, 0] < 1e-3  # exact copies once moved back
    assert ratios[2, 0] > 0.3


def test_blends_and_rescaled_or_moved_copies_match_at_once():
    rng = np.random.default_rng(1)
    training = _hand_built(8, rng)
    blend = 0.6 * training[1] + 0.4 * training[6]
    brighter = np.clip(1.3 * training[2], 0, 1.5)
    far_moved = shift(training[4], (0, 3, -3), order=0, mode="constant")  # beyond SHIFT: normalisation undoes it
    unrelated = _hand_built(1, rng)[0]
    ratios = InvariantMatcher(training).ratios(np.stack([blend, brighter, far_moved, unrelated]))
    assert ratios[0, 2] < 1e-3 and ratios[1, 2] < 1e-3  # two training images explain the blend, one the brighter copy
    assert ratios[2, 1] < 1e-3 < 0.1 < ratios[2, 0]
    assert ratios[3].min() > 0.3


class _GivenRatios:
    """A stand-in matcher whose 'images' are their ratios already."""

    def ratios(self, images):
        return np.asarray(images, dtype=np.float64)


def test_near_copy_calibration_by_hand():
    heldout = [[0.1, 0.9], [0.5, 0.2], [0.3, 0.6], [0.7, 0.4], [0.9, 0.8]]
    # leave-one-out p-values (held-out ratios at most its own / 5): per route (0.2, 1.0), (0.6, 0.2), (0.4, 0.6),
    # (0.8, 0.4), (1.0, 0.8); smallest per image 0.2, 0.2, 0.4, 0.4, 0.8, whose lower median is 0.4
    test = NearCopyTest(_GivenRatios(), heldout, share=0.5)
    assert test.level == pytest.approx(0.4)
    # samples: (1 + held-out ratios at most its own) / 6 per route: min(1/6, 1), min(3/6, 3/6), min(4/6, 2/6)
    samples = [[0.05, 0.95], [0.35, 0.5], [0.6, 0.25]]
    assert test.p_values(samples) == pytest.approx([1 / 6, 3 / 6, 2 / 6])
    assert test.flags(samples).tolist() == [True, False, True]
    rate = near_copy_rate(test, samples)
    assert (rate.value, rate.count) == (pytest.approx(2 / 3), 3)


def test_training_4gram_excess_by_hand_and_welch_by_scipy():
    training = [tokenize("the cat sat on the mat today")]
    generated = [tokenize(t) for t in ("the cat sat on a log", "a dog sat on the mat", "cat sat on the mat today",
                                       "hi")]
    heldout = [tokenize(t) for t in ("on the mat today we left", "we left the cat alone here", "the cat sat on it")]
    seen = {gram for tokens in training for gram in ngrams(tokens, 4)}
    mine = training_ngram_coverage(generated, seen, 4)
    real = training_ngram_coverage(heldout, seen, 4)
    assert mine == pytest.approx([4 / 6, 4 / 6, 1.0])  # "hi" has no 4-gram: no unit
    assert real == pytest.approx([4 / 6, 0.0, 4 / 5])
    excess = training_ngram_excess(generated, heldout, training)
    interval = ttest_ind(mine, real, equal_var=False).confidence_interval()
    assert excess.value == pytest.approx(np.mean(mine) - np.mean(real))
    assert (excess.ci_low, excess.ci_high) == (pytest.approx(interval.low), pytest.approx(interval.high))
    assert training_ngram_excess([tokenize("too short")], heldout, training) is None


def _digits(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Real digits, train and held-out (80/20, seeded): the bundled 8x8 ones, or each upscaled once to 28 px
    and moved by a random affine transform as bench/scale.py builds its data."""
    digits = load_digits()
    pixels = ((digits.images / 16.0)[:, None] if size == 8 else digits_28px(len(digits.images), 0)[0][:, None] / 255.0)
    order = np.random.default_rng(0).permutation(len(pixels))
    cut = int(0.8 * len(pixels))
    return pixels[order[:cut]].astype(np.float32), pixels[order[cut:]].astype(np.float32)


@pytest.mark.parametrize("size", [8, 28])
def test_disguised_copies_fail_the_near_copy_finding_and_unseen_digits_pass(size):
    train, heldout = _digits(size)
    reference_idx, unseen_idx = heldout_halves(len(heldout), 0)
    unseen = heldout[unseen_idx]
    rng = np.random.default_rng(3)
    copies = train[rng.choice(len(train), size=len(unseen), replace=False)]
    cases, _ = disguised_copies(copies, train, rng)
    cases["noisy_copies"] = np.clip(copies + rng.normal(0, 0.1, copies.shape), 0, 1).astype(np.float32)
    assert set(cases) == set(DISGUISED_COPIES) - ({"cropped_copies"} if size < 16 else set()) | {"noisy_copies"}
    test = NearCopyTest(InvariantMatcher(train), heldout[reference_idx])
    threshold = DEFAULT_THRESHOLDS["near_copy_rate"]
    verdict = lambda rate: judge("near_copy_rate", rate.value, rate.count, threshold, rate.ci_low, rate.ci_high)  # noqa: E731
    honest = near_copy_rate(test, unseen)
    assert verdict(honest) == "pass", honest
    for case, images in cases.items():
        rate = near_copy_rate(test, images)
        assert verdict(rate) == "fail", (case, rate)
        assert rate.value > 0.5, (case, rate)
