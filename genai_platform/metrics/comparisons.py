"""Paired differences of a metric between two sets scored against the same reference set.

Two sets are compared on the same reference rows, at the same sample size N, drawn with the same
seeds: a family against another family of the same run, or its challenger against its champion's samples
(sample i of both comes from the same seeded noise). The difference gets its own interval; two
separate intervals side by side say little about it, since the reference's share of the noise is
common to both and cancels in the difference.

Every difference is conditional on the reference set both sides are scored against (it is the
same rows for both, so its noise is not part of the difference): the generated sets are resampled,
the reference is not. Units that correspond are resampled together (sample i of a family and of its
champion come from the same seeded noise; two families' continuations answer the same prompts;
bits per character of two models cover the same documents); other sets are resampled independently.
Three intervals, chosen per metric by simulation (tests/test_comparisons.py):
- `jackknife_difference` for KID, an unbiased U-statistic: the delete-1 jackknife standard error
  (Arvesen, 1969), normal interval. The bootstrap covered 99.7% for a family against its previous
  run (too wide: paired samples make the difference nearly degenerate, which the bootstrap
  overstates); the jackknife 97-99%.
- `bootstrap_difference`, for the other smooth statistics (FID, precision, density, bits per
  character, BLEU): the basic (pivotal) bootstrap interval [2d - q_high, 2d - q_low]. A plug-in difference at
  N carries bias (FID's grows with a set's spread), and the pivot removes the part of it that the
  bootstrap reproduces.
- `half_sample_difference`, for statistics that a resample's duplicates distort (recall, whose
  k-th neighbour radii shrink to 0 on a duplicate; coverage, class TV and distinct-2, which count
  whether anything lands in a ball, a class or a new bigram): half-sampling, the delete-d jackknife
  with d = n/2 (Shao & Wu, 1989). Over random halves drawn without replacement the difference varies
  about as much as the full-sample difference does around its mean, so d +- 1.96 sd(halves) is the
  interval. Coverage averages over the reference points whether a sample lands in their ball, and
  its halves halve the reference points too (shared by both sides): with the samples alone halved
  it covered 85% in simulation, with both 93-97%.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import norm

from genai_platform.metrics.catalog import info
from genai_platform.metrics.distributions import class_histogram, total_variation
from genai_platform.metrics.fid import polynomial_kernel
from genai_platform.metrics.intervals import LEVEL, RESAMPLES, Estimate

Statistic = Callable[[np.ndarray], float]  # a metric of the units at the given indices
# metrics that a resample's duplicates distort: they count whether anything is there, or (recall) need
# distinct neighbours
HALF_SAMPLED = ("recall", "coverage", "class_tv_distance", "distinct_2")
JACKKNIFED = ("kid",)
REFERENCE_HALVED = ("coverage",)  # statistic(indices, reference_indices): the reference points are halved too


def _check_sizes(first_count: int, second_count: int, paired: bool, minimum: int) -> None:
    if min(first_count, second_count) < minimum:
        raise ValueError(f"a difference needs at least {minimum} units per side, got {first_count} and {second_count}")
    if paired and first_count != second_count:
        raise ValueError(f"paired sides need the same units, got {first_count} and {second_count}")


def _full_difference(first: Statistic, second: Statistic, first_count: int, second_count: int) -> float:
    return float(first(np.arange(first_count)) - second(np.arange(second_count)))


def bootstrap_difference(first: Statistic, second: Statistic, first_count: int, second_count: int, seed: int,
                         paired: bool, resamples: int = RESAMPLES, level: float = LEVEL) -> Estimate:
    """first(all its indices) - second(all its indices), with the basic bootstrap interval over
    `resamples` draws with replacement: one draw of indices shared by both sides when `paired` (their
    units correspond: the same seeded noise, the same documents), else one draw per side."""
    _check_sizes(first_count, second_count, paired, 2)
    value = _full_difference(first, second, first_count, second_count)
    rng = np.random.default_rng(seed)
    differences = np.empty(resamples)
    for b in range(resamples):
        mine = rng.integers(0, first_count, size=first_count)
        theirs = mine if paired else rng.integers(0, second_count, size=second_count)
        differences[b] = first(mine) - second(theirs)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    return Estimate(value, min(first_count, second_count), float(2 * value - high), float(2 * value - low))


def jackknife_difference(first: Statistic, second: Statistic, first_count: int, second_count: int, paired: bool,
                         level: float = LEVEL) -> Estimate:
    """first(all) - second(all), with the normal interval from the delete-1 jackknife variance: of the
    leave-one-out differences when `paired` (unit i left out of both sides), else the sum of each
    side's own jackknife variance."""
    _check_sizes(first_count, second_count, paired, 3)
    value = _full_difference(first, second, first_count, second_count)

    def left_out(statistic: Statistic, count: int) -> np.ndarray:
        everything = np.arange(count)
        return np.array([statistic(np.delete(everything, i)) for i in range(count)])

    def variance(values: np.ndarray) -> float:
        return float((len(values) - 1) / len(values) * ((values - values.mean()) ** 2).sum())

    mine, theirs = left_out(first, first_count), left_out(second, second_count)
    spread = variance(mine - theirs) if paired else variance(mine) + variance(theirs)
    half_width = float(norm.ppf((1 + level) / 2) * np.sqrt(spread))
    return Estimate(value, min(first_count, second_count), value - half_width, value + half_width)


def half_sample_difference(first: Statistic, second: Statistic, first_count: int, second_count: int, seed: int,
                           paired: bool, resamples: int = RESAMPLES, level: float = LEVEL,
                           reference_count: int | None = None) -> Estimate:
    """first(all) - second(all), with the normal interval whose standard error is the spread of the
    difference over `resamples` random halves of each side (shared halves when `paired`). With a
    `reference_count` the statistics take (indices, reference indices) and each draw also halves the
    reference units, the same half for both sides."""
    _check_sizes(first_count, second_count, paired, 4)
    if reference_count is None:
        value = _full_difference(first, second, first_count, second_count)
    else:
        everything = np.arange(reference_count)
        value = float(first(np.arange(first_count), everything) - second(np.arange(second_count), everything))
    rng = np.random.default_rng(seed)
    differences = np.empty(resamples)
    for b in range(resamples):
        mine = rng.choice(first_count, first_count // 2, replace=False)
        theirs = mine if paired else rng.choice(second_count, second_count // 2, replace=False)
        if reference_count is None:
            differences[b] = first(mine) - second(theirs)
        else:
            shared = rng.choice(reference_count, reference_count // 2, replace=False)
            differences[b] = first(mine, shared) - second(theirs, shared)
    half_width = float(norm.ppf((1 + level) / 2) * differences.std(ddof=1))
    return Estimate(value, min(first_count, second_count), value - half_width, value + half_width)


def difference(metric: str, first: Statistic, second: Statistic, first_count: int, second_count: int, seed: int,
               paired: bool, reference_count: int | None = None) -> Estimate:
    """The difference of `metric` (a catalog name; a feature-space suffix is ignored) by its method;
    a REFERENCE_HALVED metric's statistics index the `reference_count` reference units too. For a
    metric judged by its closeness to a target (density to 1, a gap to 0) it is the difference of the
    distances to the target, so its sign says which side is closer."""
    target = TARGETS.get(info(metric).direction)
    if target is not None:
        first, second = (_distance_to(target, statistic) for statistic in (first, second))
    base = next((name for name in HALF_SAMPLED + JACKKNIFED if metric == name or metric.startswith(f"{name}_")), None)
    if base in JACKKNIFED:
        return jackknife_difference(first, second, first_count, second_count, paired)
    if base is None:
        return bootstrap_difference(first, second, first_count, second_count, seed, paired)
    if base in REFERENCE_HALVED and reference_count is None:
        raise ValueError(f"{metric}: its difference needs the number of reference units")
    return half_sample_difference(first, second, first_count, second_count, seed, paired,
                                  reference_count=reference_count if base in REFERENCE_HALVED else None)


TARGETS = {"one": 1.0, "zero": 0.0}  # catalog directions judged by the distance to a value


def _distance_to(target: float, statistic: Statistic) -> Statistic:
    return lambda *indices: abs(statistic(*indices) - target)


class KidTerms:
    """The part of KID's unbiased MMD^2 (Binkowski et al., 2018) that differs between two sets scored
    against one reference, for any resample of the set: the mean kernel between distinct samples less
    twice the mean kernel to the reference; the reference's own term cancels in a difference. Pairs of
    a resample's duplicates are left out, as the unbiased estimator leaves out the diagonal."""

    def __init__(self, features: np.ndarray, reference_features: np.ndarray, scale: float = 1.0):
        self.within = polynomial_kernel(features, features)
        np.fill_diagonal(self.within, 0.0)
        self.cross = polynomial_kernel(features, reference_features).mean(axis=1)
        self.scale = scale

    def __call__(self, indices: np.ndarray) -> float:
        counts = np.bincount(indices, minlength=len(self.cross)).astype(np.float64)
        pairs = len(indices) ** 2 - (counts ** 2).sum()  # ordered pairs of different samples
        return self.scale * (counts @ self.within @ counts / pairs - 2 * self.cross[indices].mean())


class ClassDistance:
    """Class TV of a resample of a set's predicted classes against a fixed reference histogram."""

    def __init__(self, predicted: np.ndarray, reference_histogram: np.ndarray):
        self.predicted, self.reference = predicted, reference_histogram

    def __call__(self, indices: np.ndarray) -> float:
        return total_variation(class_histogram(self.predicted[indices], len(self.reference)), self.reference)
