"""Point estimates with their sample size and a bootstrap confidence interval.

Bias-shifted percentile bootstrap (Efron & Tibshirani, 1993, ch. 10): resample the
evaluated set with replacement, recompute the statistic, move the resampled values by
their bias (their mean minus the estimate) and take the (1 - level) / 2 tails. The shift
matters for FID and TV distances: a resample holds duplicates, which inflates them, and
an unshifted interval would not even contain the estimate. Means are unbiased under
resampling and get the plain percentile interval. The generator is seeded, so a report's
intervals are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RESAMPLES = 200
LEVEL = 0.95


@dataclass(frozen=True)
class Estimate:
    value: float
    count: int  # the sample size behind the value
    ci_low: float | None = None
    ci_high: float | None = None


def percentile_interval(values, centre: float | None = None, level: float = LEVEL) -> tuple[float, float]:
    """Tails of `values`, first moved so that their mean is `centre` when one is given."""
    values = np.asarray(values, dtype=np.float64)
    if centre is not None:
        values = values - (values.mean() - centre)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap(statistic: Callable[[np.ndarray], float], n: int, seed: int, resamples: int = RESAMPLES,
              level: float = LEVEL, minimum: float | None = 0.0) -> Estimate:
    """statistic(all n indices) with the bias-shifted interval over `resamples` draws of n indices,
    with replacement; the interval is clipped at `minimum` (a distance cannot go below 0)."""
    if n < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 samples, got {n}")
    value = float(statistic(np.arange(n)))
    rng = np.random.default_rng(seed)
    resampled = [statistic(rng.integers(0, n, size=n)) for _ in range(resamples)]
    low, high = percentile_interval(resampled, value, level)
    if minimum is not None:
        low, high = max(low, minimum), max(high, minimum)
    return Estimate(value, n, low, high)


def mean_estimate(values, seed: int, resamples: int = RESAMPLES, level: float = LEVEL) -> Estimate:
    """Mean of per-sample values with a bootstrap interval (one vectorised draw)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("a mean needs a non-empty 1-D array of per-sample values")
    if not np.isfinite(values).all():
        raise ValueError("per-sample values contain NaN or infinite entries")
    if values.size == 1:
        return Estimate(float(values[0]), 1)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    return Estimate(float(values.mean()), int(values.size), *percentile_interval(means, level=level))


def ratio_estimate(numerators, denominators, seed: int, resamples: int = RESAMPLES, level: float = LEVEL) -> Estimate:
    """sum(numerators) / sum(denominators) with units (documents, say) resampled together."""
    numerators, denominators = np.asarray(numerators, dtype=np.float64), np.asarray(denominators, dtype=np.float64)
    if numerators.shape != denominators.shape or numerators.size == 0 or denominators.sum() <= 0:
        raise ValueError("a ratio needs matching non-empty arrays with a positive denominator total")
    value = float(numerators.sum() / denominators.sum())
    count = int(denominators.sum())
    if numerators.size == 1:
        return Estimate(value, count)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, numerators.size, size=(resamples, numerators.size))
    ratios = numerators[picks].sum(axis=1) / np.maximum(denominators[picks].sum(axis=1), 1e-300)
    return Estimate(value, count, *percentile_interval(ratios, level=level))


def difference_estimate(first, second, seed: int, resamples: int = RESAMPLES, level: float = LEVEL) -> Estimate:
    """mean(first) - mean(second), each group resampled on its own."""
    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    if first.size == 0 or second.size == 0:
        raise ValueError("a difference of means needs values in both groups")
    value, count = float(first.mean() - second.mean()), int(min(first.size, second.size))
    if min(first.size, second.size) < 2:
        return Estimate(value, count)
    rng = np.random.default_rng(seed)
    diffs = (first[rng.integers(0, first.size, size=(resamples, first.size))].mean(axis=1)
             - second[rng.integers(0, second.size, size=(resamples, second.size))].mean(axis=1))
    return Estimate(value, count, *percentile_interval(diffs, level=level))
