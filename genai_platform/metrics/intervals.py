"""Point estimates with their sample size and a 95% confidence interval whose coverage is checked.

Each kind of estimate gets the interval that covers its stated target in simulations with known
truth (tests/test_coverage.py, bench/coverage.py; catalog.INTERVALS says per metric what is
covered):

- a share of 0/1 values: the Wilson score interval (Wilson, 1927), which stays informative at 0
  or 1 (all-zero flags give [0, >0], not [0, 0]);
- a mean of other values: Student's t interval;
- a ratio of sums over units (documents): t interval on the delete-one jackknife's standard error;
- a difference of two group means: Welch's t interval;
- a smooth statistic of one evaluated set (FID): the delete-a-group jackknife (Quenouille, 1956;
  Tukey, 1958), optionally bias-corrected, with a t interval on its standard error;
- a mean of dependent flags (manifold coverage, whose balls depend on the other real points):
  the delete-d jackknife (Shao & Wu, 1989), a fifth of the points left out at a time;
- a distance between a sample histogram and a fixed reference histogram (class TV): the expected
  plug-in distance at this sample size, with a normal interval from the multinomial bootstrap's
  standard deviation.

Random draws (groups, resamples) come from seeded generators, so a report's intervals are
reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from genai_platform.records import Estimate

RESAMPLES = 200
LEVEL = 0.95
JACKKNIFE_GROUPS = 20
DELETED_SHARE = 0.2  # of the units each delete-d jackknife subset leaves out


@dataclass(frozen=True)
class Difference(Estimate):
    """A difference (first minus second) with `baseline`, the second side's own value of the statistic it was
    taken on (for a metric judged by its distance to a target, that distance): a margin relative to the
    baseline is then on the difference's own scale, at its sample size."""
    baseline: float | None = None


def percentile_interval(values, centre: float | None = None, level: float = LEVEL) -> tuple[float, float]:
    """Tails of `values`, first moved so that their mean is `centre` when one is given."""
    values = np.asarray(values, dtype=np.float64)
    if centre is not None:
        values = values - (values.mean() - centre)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def normal_interval(value: float, standard_error: float, level: float = LEVEL,
                    degrees_of_freedom: float | None = None) -> tuple[float, float]:
    """value -+ quantile x standard error; Student's t quantile when degrees of freedom are given."""
    tail = (1 + level) / 2
    quantile = stats.norm.ppf(tail) if degrees_of_freedom is None else stats.t.ppf(tail, degrees_of_freedom)
    return float(value - quantile * standard_error), float(value + quantile * standard_error)


def wilson_interval(successes: float, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    z = stats.norm.ppf((1 + level) / 2)
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    # at a share of 0 or 1 the bound is the share itself, which rounding can leave a hair inside
    return float(min(max(centre - half, 0.0), share)), float(max(min(centre + half, 1.0), share))


def _clipped(value: float, count: int, low: float, high: float, minimum: float | None,
             maximum: float | None = None) -> Estimate:
    low_bound, high_bound = -np.inf if minimum is None else minimum, np.inf if maximum is None else maximum
    value, low, high = (float(np.clip(v, low_bound, high_bound)) for v in (value, low, high))
    return Estimate(value, count, low, high)


def jackknife_variance(leave_outs) -> float:
    """The jackknife's variance from the n statistics that each leave out one of n (groups of) units."""
    leave_outs = np.asarray(leave_outs, dtype=np.float64)
    return float((len(leave_outs) - 1) / len(leave_outs) * ((leave_outs - leave_outs.mean()) ** 2).sum())


def leave_group_out(n: int, rng: np.random.Generator, groups: int = JACKKNIFE_GROUPS) -> list[np.ndarray]:
    """Index sets of the delete-a-group jackknife: all of range(n) but one of min(groups, n) random
    groups of (nearly) equal size."""
    everything = np.arange(n)
    return [np.setdiff1d(everything, group) for group in np.array_split(rng.permutation(n), min(groups, n))]


def delete_d_subsets(n: int, rng: np.random.Generator, subsets: int = JACKKNIFE_GROUPS,
                     deleted_share: float = DELETED_SHARE) -> list[np.ndarray]:
    """Index sets of the delete-d jackknife (Shao & Wu, 1989): `subsets` random sorted subsets of
    range(n), each without a random d = deleted_share x n of the indices."""
    deleted = max(1, int(deleted_share * n))
    return [np.sort(rng.permutation(n)[deleted:]) for _ in range(subsets)]


def delete_d_estimate(full: float, leave_outs, n: int, deleted: int, level: float = LEVEL,
                      minimum: float | None = None, maximum: float | None = None) -> Estimate:
    """A statistic's value on all n units with the normal interval of the delete-d jackknife's variance
    (n - d) / (d x subsets) x sum of squared deviations of the statistic on the subsets (delete_d_subsets).
    With d growing faster than sqrt(n) it is consistent for non-smooth statistics, where deleting
    one unit (or a small group) overstates the variance."""
    leave_outs = np.asarray(leave_outs, dtype=np.float64)
    variance = (n - deleted) / (deleted * len(leave_outs)) * ((leave_outs - leave_outs.mean()) ** 2).sum()
    return _clipped(full, n, *normal_interval(full, np.sqrt(variance), level), minimum, maximum)


def satterthwaite(variances, degrees) -> float:
    """Welch-Satterthwaite degrees of freedom of a sum of independent variance estimates."""
    variances, degrees = np.asarray(variances, dtype=np.float64), np.asarray(degrees, dtype=np.float64)
    spread = (variances ** 2 / degrees).sum()
    return float(variances.sum() ** 2 / spread) if spread > 0 else float("inf")


def jackknife(statistic: Callable[[np.ndarray], float], n: int, seed: int, bias_corrected: bool,
              groups: int = JACKKNIFE_GROUPS, level: float = LEVEL, minimum: float | None = 0.0) -> Estimate:
    """statistic(all n indices) with the delete-a-group jackknife's t interval (groups - 1 degrees of
    freedom), the statistic recomputed without each of `groups` seeded random groups (leave_group_out).
    bias_corrected: the value is groups x full - (groups - 1) x mean(leave-outs), which removes a
    bias proportional to 1/n: the linear extrapolation in 1/size from size n and size
    n (1 - 1/groups) to infinitely many units. Otherwise the value is the statistic itself and the
    interval is for its expectation at this n. Value and interval are clipped at `minimum`."""
    if n < 4:
        raise ValueError(f"a jackknife interval needs at least 4 samples, got {n}")
    leave_outs = np.array([statistic(kept) for kept in leave_group_out(n, np.random.default_rng(seed), groups)])
    full, groups = float(statistic(np.arange(n))), len(leave_outs)
    value = groups * full - (groups - 1) * leave_outs.mean() if bias_corrected else full
    interval = normal_interval(value, np.sqrt(jackknife_variance(leave_outs)), level, groups - 1)
    return _clipped(value, n, *interval, minimum)


def bootstrap(statistic: Callable[[np.ndarray], float], n: int, seed: int, resamples: int = RESAMPLES,
              level: float = LEVEL, minimum: float | None = 0.0) -> Estimate:
    """statistic(all n indices) with the bias-shifted percentile interval over `resamples` draws of n
    indices with replacement, clipped at `minimum`. Not a checked interval for FID or TV distances
    (it covers neither their value at n nor at infinite n): use jackknife or tv_estimate."""
    if n < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 samples, got {n}")
    value = float(statistic(np.arange(n)))
    rng = np.random.default_rng(seed)
    resampled = [statistic(rng.integers(0, n, size=n)) for _ in range(resamples)]
    return _clipped(value, n, *percentile_interval(resampled, value, level), minimum)


def _per_sample(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("a mean needs a non-empty 1-D array of per-sample values")
    if not np.isfinite(values).all():
        raise ValueError("per-sample values contain NaN or infinite entries")
    return values


def mean_estimate(values, level: float = LEVEL) -> Estimate:
    """Mean of per-sample values: a share with the Wilson interval when every value is 0 or 1, else
    Student's t interval."""
    values = _per_sample(values)
    n = int(values.size)
    if np.isin(values, (0.0, 1.0)).all():
        return Estimate(float(values.mean()), n, *wilson_interval(values.sum(), n, level))
    if n == 1:
        return Estimate(float(values[0]), 1)
    mean = float(values.mean())
    return Estimate(mean, n, *normal_interval(mean, values.std(ddof=1) / np.sqrt(n), level, n - 1))


def ratio_estimate(numerators, denominators, level: float = LEVEL) -> Estimate:
    """sum(numerators) / sum(denominators) over units (documents, say), with a t interval on the
    delete-one jackknife's standard error (each unit left out in turn, in closed form). Target:
    E[numerator] / E[denominator] over the units' population."""
    numerators, denominators = np.asarray(numerators, dtype=np.float64), np.asarray(denominators, dtype=np.float64)
    if numerators.shape != denominators.shape or numerators.size == 0 or denominators.sum() <= 0:
        raise ValueError("a ratio needs matching non-empty arrays with a positive denominator total")
    value = float(numerators.sum() / denominators.sum())
    count, units = int(denominators.sum()), numerators.size
    if units == 1:
        return Estimate(value, count)
    rest = denominators.sum() - denominators
    if (rest <= 0).any():  # a unit holds the whole denominator: leaving it out leaves no ratio
        return Estimate(value, count)
    leave_outs = (numerators.sum() - numerators) / rest
    return Estimate(value, count, *normal_interval(value, np.sqrt(jackknife_variance(leave_outs)), level, units - 1))


def paired_ratio_difference(first_numerators, first_denominators, second_numerators, second_denominators,
                            level: float = LEVEL) -> Difference:
    """sum(first_num) / sum(first_den) - sum(second_num) / sum(second_den) over paired units (a document and its
    twin of the same seed, or one document under two models), with a t interval on the delete-one jackknife's
    standard error, each pair left out in turn (closed form); the baseline is the second side's ratio. Target:
    the difference of E[numerator] / E[denominator] between the two populations.
    The paired basic bootstrap covered 89% at 50 pairs and 68% at 5 (bench/coverage.py)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in (first_numerators, first_denominators, second_numerators,
                                                          second_denominators)]
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1 or arrays[1].sum() <= 0 or arrays[3].sum() <= 0:
        raise ValueError("a paired ratio difference needs four matching 1-D arrays and positive denominator totals")
    first_num, first_den, second_num, second_den = arrays
    baseline = float(second_num.sum() / second_den.sum())
    value = float(first_num.sum() / first_den.sum()) - baseline
    units = first_num.size
    first_rest, second_rest = first_den.sum() - first_den, second_den.sum() - second_den
    if units < 2 or (first_rest <= 0).any() or (second_rest <= 0).any():
        return Difference(value, units, baseline=baseline)
    leave_outs = (first_num.sum() - first_num) / first_rest - (second_num.sum() - second_num) / second_rest
    return Difference(value, units, *normal_interval(value, np.sqrt(jackknife_variance(leave_outs)), level, units - 1),
                      baseline)


def difference_estimate(first, second, level: float = LEVEL) -> Difference:
    """mean(first) - mean(second) of two independent groups, with Welch's t interval."""
    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if first.size == 0 or second.size == 0:
        raise ValueError("a difference of means needs values in both groups")
    value, count, baseline = float(first.mean() - second.mean()), int(min(first.size, second.size)), float(second.mean())
    if count < 2:
        return Difference(value, count, baseline=baseline)
    variances = first.var(ddof=1) / first.size, second.var(ddof=1) / second.size
    degrees = satterthwaite(variances, (first.size - 1, second.size - 1))
    return Difference(value, count, *normal_interval(value, np.sqrt(sum(variances)), level, degrees), baseline)


def tv_estimate(counts, reference_counts, seed: int, resamples: int = RESAMPLES, level: float = LEVEL) -> Estimate:
    """TV distance between the histogram `counts` of n samples and the fixed `reference_counts`.

    Target: the expected plug-in TV at this n against this reference histogram, E[TV(p_n, q)]
    (p_n: the histogram of n draws from the samples' class distribution p, q: the reference's
    shares). The plug-in TV is biased upward for TV(p, q) itself, by about sqrt(p_k / n) per class
    where p_k is near q_k, and no interval for that non-smooth target covers near TV = 0 (the
    floor); at fixed n the expectation is smooth. Interval: value -+ z x the standard deviation of
    the TV of `resamples` multinomial redraws of n from the sample histogram."""
    counts, reference = np.asarray(counts, dtype=np.float64), np.asarray(reference_counts, dtype=np.float64)
    if counts.shape != reference.shape or counts.ndim != 1 or (counts < 0).any() or (reference < 0).any():
        raise ValueError("TV needs two non-negative histograms over the same classes")
    n = int(counts.sum())
    if n < 2 or reference.sum() <= 0:
        raise ValueError(f"TV needs at least 2 samples and a non-empty reference, got {n} samples")
    shares, reference = counts / n, reference / reference.sum()
    value = float(0.5 * np.abs(shares - reference).sum())
    redrawn = np.random.default_rng(seed).multinomial(n, shares, size=resamples) / n
    spread = float((0.5 * np.abs(redrawn - reference).sum(axis=1)).std(ddof=1))
    return _clipped(value, n, *normal_interval(value, spread, level), 0.0)
