"""What the reports conclude from the numbers: leaderboard win rates, trends, and paired differences
judged on their intervals (a challenger against its champion: regressions; against the leader).
Findings are judged against their thresholds in verdicts.thresholds."""

from __future__ import annotations

import numpy as np

from genai_platform.metrics.catalog import info

TRAILING_RUNS = 7   # earlier runs whose median the trends show
MIN_EARLIER_RUNS = 2  # fewer earlier runs than this: no median


def mean_win_rates(values: dict[str, dict[str, float]]) -> dict[str, float | None]:
    """HELM's mean win rate (compute_aggregate_row_win_rates) of each model over its metrics.

    values[model][metric]. For each metric with a direction and at least two values, a model's
    win rate is (models it beats + half the other models it ties with) / (models with a value - 1);
    the mean is over the metrics where the model has a value. None where it has none.
    """
    per_model: dict[str, list[float]] = {model: [] for model in values}
    for metric in sorted({m for row in values.values() for m in row}):
        if info(metric).direction == "none":
            continue
        keys = {model: info(metric).sort_key(row[metric]) for model, row in values.items() if metric in row}
        if len(keys) < 2:
            continue
        for model, key in keys.items():
            beaten = sum(other > key for other in keys.values())
            tied = sum(other == key for other in keys.values()) - 1
            per_model[model].append((beaten + tied / 2) / (len(keys) - 1))
    return {model: float(np.mean(rates)) if rates else None for model, rates in per_model.items()}


def trailing_median(earlier: list[float]) -> float | None:
    """The median of the last TRAILING_RUNS earlier values (oldest first); None with too few."""
    trailing = earlier[-TRAILING_RUNS:]
    return float(np.median(trailing)) if len(trailing) >= MIN_EARLIER_RUNS else None


DIFFERENCE_VERDICTS = ("worse", "better", "indistinguishable")


def difference_verdict(metric: str, ci_low: float | None, ci_high: float | None) -> str:
    """A paired difference (this minus the other, metrics.comparisons) judged on its 95% interval:
    worse or better when all of it lies on one side of 0, else indistinguishable. For a metric judged
    by its closeness to a target (density to 1, a gap to 0) the difference is of that distance."""
    direction = info(metric).direction
    if direction == "none" or ci_low is None or ci_high is None or ci_low <= 0.0 <= ci_high:
        return "indistinguishable"
    above = ci_low > 0.0
    return ("better" if above else "worse") if direction == "higher" else ("worse" if above else "better")
