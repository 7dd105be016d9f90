"""Paired differences as the reports show them, each with its verdict: every ranked family against the
top-ranked one, and each challenger against its champion over the recent runs (trends and regressions)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from genai_platform.metrics.catalog import info
from genai_platform.records import Comparison, Decision, Estimate
from genai_platform.reporting.analysis import difference_verdict, trailing_median
from genai_platform.reporting.inputs import HistoryPoint
from genai_platform.reporting.leaderboard import Leaderboard
from genai_platform.reporting.plots import sparkline


@dataclass(frozen=True)
class JudgedDifference:
    """A paired difference (metrics.comparisons) with its verdict (analysis.DIFFERENCE_VERDICTS): a report cell."""
    estimate: Estimate
    verdict: str

    @classmethod
    def of(cls, comparison: Comparison, flipped: bool = False) -> JudgedDifference:
        """subject minus baseline; `flipped`: baseline minus subject."""
        c = comparison
        low, high = (c.ci_low, c.ci_high) if not flipped or c.ci_low is None else (-c.ci_high, -c.ci_low)
        estimate = Estimate(-c.delta if flipped else c.delta, c.sample_count, low, high)
        return cls(estimate, difference_verdict(c.metric, low, high))


@dataclass(frozen=True)
class Trend:
    """A model's values of a metric over the recent runs, and its challenger's change against its
    champion: a regression when it is worse beyond its interval (the champion then stays)."""
    model: str
    metric: str
    label: str
    runs: int
    value: float
    median: float | None  # of the earlier runs; None with too few
    change: JudgedDifference | None  # the challenger minus the champion's samples, both scored on this run's reference
    changed: list[str]  # "code" and/or "data": versions that differ in earlier runs of the series
    sparkline: Markup

    @property
    def regressed(self) -> bool:
        return self.change is not None and self.change.verdict == "worse"


@dataclass(frozen=True)
class DifferenceRow:
    """A ranked family against the top-ranked one, per leaderboard metric (None: no paired difference)."""
    model: str
    cells: list[JudgedDifference | None]


@dataclass(frozen=True)
class TrendRow:
    model: str
    cells: list[Trend | None]  # one per leaderboard metric


def against_champion(comparisons: list[Comparison], decisions: dict[str, Decision]) -> list[Comparison]:
    """Each challenger's comparisons with one earlier version: the champion its decision judged it against
    where the run has that comparison (not the best version that served, also compared), else the only one."""
    chosen: dict[tuple[str, str], Comparison] = {}
    for c in comparisons:
        if c.baseline_run is None:
            continue
        decision = decisions.get(c.subject)
        if (c.subject, c.metric) not in chosen or (decision is not None and c.baseline_run == decision.previous):
            chosen[(c.subject, c.metric)] = c
    return list(chosen.values())


def trends(history: list[HistoryPoint], current_run: str | None, models: list[str], metrics: list[str],
           comparisons: list[Comparison]) -> list[Trend]:
    """Per model and metric: values over the recent runs (oldest first) with a sparkline, the trailing
    median of the earlier ones, and the challenger's paired change against its champion."""
    changes = {(c.subject, c.metric): c for c in comparisons if c.baseline_run is not None}
    out = []
    for model in models:
        for metric in metrics:
            series = [p for p in history if p.subject == model and p.metric == metric]
            current = next((p for p in series if p.run_id == current_run), None)
            if current is None:
                continue
            before = [p for p in series if p.run_id != current_run]
            values = [p.value for p in before] + [current.value]
            change = JudgedDifference.of(changes[(model, metric)]) if (model, metric) in changes else None
            regressed = change is not None and change.verdict == "worse"
            # a step may come from a new metric definition or new data rather than the model
            changed = [what for what in ("code", "data")
                       if any(getattr(p, f"{what}_version") != getattr(current, f"{what}_version") for p in before)]
            out.append(Trend(model, metric, info(metric).label, len(values), current.value,
                             trailing_median(values[:-1]), change, changed,
                             sparkline(values, f"{info(metric).label} of {model}", regressed)))
    return out


def leader_differences(board: Leaderboard, comparisons: list[Comparison]) -> list[DifferenceRow]:
    """Each ranked family after the first minus the top-ranked family, per leaderboard metric."""
    pairs = {(c.subject, c.baseline, c.metric): c for c in comparisons if c.baseline_run is None}
    if not board.ranked:
        return []
    leader = board.ranked[0].subject

    def cell(family: str, metric: str) -> JudgedDifference | None:
        if (family, leader, metric) in pairs:
            return JudgedDifference.of(pairs[(family, leader, metric)])
        if (leader, family, metric) in pairs:
            return JudgedDifference.of(pairs[(leader, family, metric)], flipped=True)
        return None

    return [DifferenceRow(row.label, [cell(row.subject, m.name) for m in board.metrics]) for row in board.ranked[1:]]
