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
Four intervals, chosen per metric by simulation (tests/test_comparisons.py; coverage's in
tests/test_coverage.py and bench/coverage.py):
- `jackknife_difference` for KID, an unbiased U-statistic: the delete-1 jackknife standard error
  (Arvesen, 1969), normal interval. The bootstrap covered 99.7% for a family against its previous
  run (too wide: paired samples make the difference nearly degenerate, which the bootstrap
  overstates); the jackknife 97-99%.
- `bootstrap_difference`, for the other smooth statistics (FID, precision, density, BLEU): the basic (pivotal) bootstrap interval [2d - q_high, 2d - q_low]. A plug-in difference at
  N carries bias (FID's grows with a set's spread), and the pivot removes the part of it that the
  bootstrap reproduces.
- `half_sample_difference`, for statistics that a resample's duplicates distort (recall, whose
  k-th neighbour radii shrink to 0 on a duplicate; class TV and distinct-2, which count whether
  anything lands in a class or a new bigram): half-sampling, the delete-d jackknife with d = n/2
  (Shao & Wu, 1989). Over random halves drawn without replacement the difference varies about as
  much as the full-sample difference does around its mean, so d +- 1.96 sd(halves) is the interval.
- `coverage_difference` for coverage, the share of reference points whose ball holds a sample: the
  delete-1 jackknife over the samples, its variance times (1 - e^-rate) / rate. If a point's ball
  gets Poisson(rate) of the samples, its covered flag varies by e^-rate (1 - e^-rate), but leaving
  one sample out uncovers it only when it holds exactly one, with probability rate e^-rate: the
  jackknife overstates the variance by rate / (1 - e^-rate) (Efron & Stein's bias; up to 1.8x in
  standard error in simulation). rate is estimated as the points held by exactly one sample over those
  held by none (P(1) / P(0) of a Poisson count), each count plus COVERAGE_SMOOTHING. The factor is
  exact for equal rates and by concavity errs wide for mixed ones; with 1-10 samples per reference
  point, paired and not, it covered 94.5-98% (bench/coverage.py). Half-sampling computes coverage
  at n/2, where it varies differently: halving the samples alone covered 65-100%; halving the
  reference points too, as before, covered 96.5-100% with intervals 1.2-2.2x too wide, although the
  reference is not part of the difference's noise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import norm

from genai_platform.metrics.catalog import DIFFERENCE_KINDS, PAIRED_JACKKNIFE_T, info
from genai_platform.metrics.distributions import class_histogram, total_variation
from genai_platform.metrics.fid import polynomial_kernel
from genai_platform.metrics.intervals import LEVEL, RESAMPLES, Difference
from genai_platform.records import Estimate

Statistic = Callable[[np.ndarray], float]  # a metric of the units at the given indices
# metrics that a resample's duplicates distort: they count whether anything is there, or (recall) need
# distinct neighbours
HALF_SAMPLED = ("recall", "class_tv_distance", "distinct_2")
JACKKNIFED = ("kid", "coverage")
COVERED_SHARES = ("coverage",)  # shares of reference units whose ball holds a sample: coverage_difference
# units that coverage_difference adds per side to those held by one sample and by none, as Agresti and Coull
# add two successes and two failures to a share: a side with none of either keeps a width, and one with
# few gets a little more (one set covering all at 10 samples per reference point: 91% covered with one, 95% with two)
COVERAGE_SMOOTHING = 2


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


def _left_out(statistic: Statistic, count: int) -> np.ndarray:
    """The statistic without each unit in turn (KidTerms in closed form: O(n^2), not O(n^3))."""
    if isinstance(statistic, KidTerms):
        return statistic.left_out()
    everything = np.arange(count)
    return np.array([statistic(np.delete(everything, i)) for i in range(count)])


def _jackknife_variance(left_out: np.ndarray) -> float:
    return float((len(left_out) - 1) / len(left_out) * ((left_out - left_out.mean()) ** 2).sum())


def jackknife_difference(first: Statistic, second: Statistic, first_count: int, second_count: int, paired: bool,
                         level: float = LEVEL) -> Estimate:
    """first(all) - second(all), with the normal interval from the delete-1 jackknife variance: of the
    leave-one-out differences when `paired` (unit i left out of both sides), else the sum of each
    side's own jackknife variance."""
    _check_sizes(first_count, second_count, paired, 3)
    value = _full_difference(first, second, first_count, second_count)
    mine, theirs = _left_out(first, first_count), _left_out(second, second_count)
    spread = (_jackknife_variance(mine - theirs) if paired
              else _jackknife_variance(mine) + _jackknife_variance(theirs))
    half_width = float(norm.ppf((1 + level) / 2) * np.sqrt(spread))
    return Estimate(value, min(first_count, second_count), value - half_width, value + half_width)


def _poisson_factor(held_once: float, held_by_none: float) -> float:
    """(1 - e^-rate) / rate for rate = held_once / held_by_none: the variance e^-rate (1 - e^-rate) of
    the covered flag of a unit whose ball gets Poisson(rate) samples, over the delete-1 jackknife's
    expectation for it, the chance rate e^-rate that the ball holds exactly one sample."""
    rate = held_once / held_by_none
    return float(-np.expm1(-rate) / rate) if rate > 0 else 1.0


def coverage_difference(first: Statistic, second: Statistic, first_count: int, second_count: int,
                        reference_count: int, paired: bool, level: float = LEVEL) -> Estimate:
    """first(all) - second(all) for shares of `reference_count` reference units whose ball holds one of
    the samples, with the normal interval from the delete-1 jackknife variance (as jackknife_difference)
    times _poisson_factor: of both sides' shares together when `paired`, else per side. Each side counts
    COVERAGE_SMOOTHING more units held by one sample (in the jackknife too) and held by none than it has."""
    _check_sizes(first_count, second_count, paired, 3)
    covered = np.array([first(np.arange(first_count)), second(np.arange(second_count))])
    mine, theirs = _left_out(first, first_count), _left_out(second, second_count)
    smoothing = COVERAGE_SMOOTHING / reference_count
    # a unit held by one sample alone is lost when that sample is left out
    held_once = np.array([(covered[0] - mine).sum(), (covered[1] - theirs).sum()]) + smoothing
    held_by_none = 1 - covered + smoothing
    lost_alone = smoothing / reference_count  # jackknife variance of the added units, each lost with its own sample
    if paired:
        spread = ((_jackknife_variance(mine - theirs) + 2 * lost_alone)
                  * _poisson_factor(held_once.sum(), held_by_none.sum()))
    else:
        spread = sum((_jackknife_variance(left_out) + lost_alone) * _poisson_factor(once, none)
                     for left_out, once, none in zip((mine, theirs), held_once, held_by_none))
    value = float(covered[0] - covered[1])
    half_width = float(norm.ppf((1 + level) / 2) * np.sqrt(spread))
    return Estimate(value, min(first_count, second_count), value - half_width, value + half_width)


def half_sample_difference(first: Statistic, second: Statistic, first_count: int, second_count: int, seed: int,
                           paired: bool, resamples: int = RESAMPLES, level: float = LEVEL) -> Estimate:
    """first(all) - second(all), with the normal interval whose standard error is the spread of the
    difference over `resamples` random halves of each side (shared halves when `paired`)."""
    _check_sizes(first_count, second_count, paired, 4)
    value = _full_difference(first, second, first_count, second_count)
    rng = np.random.default_rng(seed)
    differences = np.empty(resamples)
    for b in range(resamples):
        mine = rng.choice(first_count, first_count // 2, replace=False)
        theirs = mine if paired else rng.choice(second_count, second_count // 2, replace=False)
        differences[b] = first(mine) - second(theirs)
    half_width = float(norm.ppf((1 + level) / 2) * differences.std(ddof=1))
    return Estimate(value, min(first_count, second_count), value - half_width, value + half_width)


def difference(metric: str, first: Statistic, second: Statistic, first_count: int, second_count: int, seed: int,
               paired: bool, reference_count: int | None = None) -> Difference:
    """The difference of `metric` (a catalog name; a feature-space suffix is ignored) by its method;
    a COVERED_SHARES metric needs the number of reference units, `reference_count`. For a metric
    judged by its closeness to a target (density to 1, a gap to 0) it is the difference of the
    distances to the target, so its sign says which side is closer."""
    if DIFFERENCE_KINDS.get(metric) == PAIRED_JACKKNIFE_T:
        raise ValueError(f"{metric}: its difference is one of per-document sums, intervals.paired_ratio_difference "
                         "(evaluation.text_scores.compare_text), not a statistic of resampled units")
    target = TARGETS.get(info(metric).direction)
    if target is not None:
        first, second = (_distance_to(target, statistic) for statistic in (first, second))
    estimate = _estimate(metric, first, second, first_count, second_count, seed, paired, reference_count)
    return Difference(estimate.value, estimate.count, estimate.ci_low, estimate.ci_high,
                      float(second(np.arange(second_count))))


def _estimate(metric: str, first: Statistic, second: Statistic, first_count: int, second_count: int, seed: int,
              paired: bool, reference_count: int | None) -> Estimate:
    """The difference with the interval of the metric's method (see the module docstring)."""
    base = next((name for name in HALF_SAMPLED + JACKKNIFED if metric == name or metric.startswith(f"{name}_")), None)
    if base in COVERED_SHARES:
        if reference_count is None:
            raise ValueError(f"{metric}: its difference needs the number of reference units")
        return coverage_difference(first, second, first_count, second_count, reference_count, paired)
    if base in JACKKNIFED:
        return jackknife_difference(first, second, first_count, second_count, paired)
    if base is None:
        return bootstrap_difference(first, second, first_count, second_count, seed, paired)
    return half_sample_difference(first, second, first_count, second_count, seed, paired)


TARGETS = {"one": 1.0, "zero": 0.0}  # catalog directions judged by the distance to a value


def _distance_to(target: float, statistic: Statistic) -> Statistic:
    return lambda indices: abs(statistic(indices) - target)


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

    def left_out(self) -> np.ndarray:
        """The statistic of the whole set less each sample in turn, as __call__(np.delete(all, i)) gives it:
        sample i's row leaves the kernel sum twice, and its cross term the mean."""
        n = len(self.cross)
        within = self.within.sum() - 2 * self.within.sum(axis=1)
        return self.scale * (within / ((n - 1) * (n - 2)) - 2 * (self.cross.sum() - self.cross) / (n - 1))


class ClassDistance:
    """Class TV of a resample of a set's predicted classes against a fixed reference histogram."""

    def __init__(self, predicted: np.ndarray, reference_histogram: np.ndarray):
        self.predicted, self.reference = predicted, reference_histogram

    def __call__(self, indices: np.ndarray) -> float:
        return total_variation(class_histogram(self.predicted[indices], len(self.reference)), self.reference)
