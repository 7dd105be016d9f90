"""The champion gate: does tonight's challenger replace the family's champion?

The evaluation scored the challenger and re-scored the champion's samples on the same reference
set with the same seeds and N; their paired differences (metrics.comparisons) carry 95% intervals.
The challenger is promoted only when it is worse than the champion beyond the interval on none of
the gate metrics and has no failing bias or memorization finding. The first version is promoted.
"""

from __future__ import annotations

from dataclasses import dataclass

from genai_platform.metrics.catalog import info
from genai_platform.records import Comparison, Decision, MetricRow
from genai_platform.reporting.analysis import Threshold, difference_verdict, judge


@dataclass(frozen=True)
class GateLine:
    """One gate metric: challenger minus champion and its verdict (None: no paired difference)."""
    metric: str
    comparison: Comparison | None
    verdict: str | None

    def text(self) -> str:
        label = info(self.metric).label
        c = self.comparison
        if c is None:
            return f"{label}: no paired difference"
        interval = "" if c.ci_low is None else f" [{c.ci_low:+.4g}, {c.ci_high:+.4g}]"
        return f"{label} {c.delta:+.4g}{interval} ({self.verdict})"


def failing_findings(rows: list[MetricRow], limits: dict[str, Threshold]) -> list[str]:
    """The challenger's findings at or past their fail threshold, as text."""
    return [f"{info(r.metric).label} {r.value:.4g} (fail at {limits[r.metric].fail:g})" for r in rows
            if r.metric in limits and judge(r.metric, r.value, r.sample_count, limits[r.metric], r.ci_low,
                                            r.ci_high) == "fail"]


def gate(comparisons: list[Comparison], gate_metrics: tuple[str, ...]) -> list[GateLine]:
    """The gate metrics' challenger-minus-champion differences; `comparisons` are the family's against
    its champion."""
    by_metric = {c.metric: c for c in comparisons}
    lines = []
    for metric in gate_metrics:
        c = by_metric.get(metric)
        lines.append(GateLine(metric, c, None if c is None else difference_verdict(metric, c.ci_low, c.ci_high)))
    return lines


def decide(family: str, challenger: str, champion: str | None, rows: list[MetricRow], comparisons: list[Comparison],
           gate_metrics: tuple[str, ...], limits: dict[str, Threshold]) -> Decision:
    """The gate's decision on `challenger` (`rows`: its metrics of the evaluation; `comparisons`: its
    paired differences against `champion`)."""
    failing = failing_findings(rows, limits)
    if champion is None:
        note = f"; it has failing findings: {'; '.join(failing)}" if failing else ""
        return Decision(family, challenger, None, challenger, "first", f"first version of {family}{note}")
    if challenger == champion:
        return Decision(family, challenger, champion, champion, "unchanged",
                        "the champion was re-used: same data, code and config, nothing retrained")
    lines = gate(comparisons, gate_metrics)
    worse = [line.text() for line in lines if line.verdict == "worse"]
    missing = [line.text() for line in lines if line.comparison is None]
    reasons = []
    if failing:
        reasons.append(f"failing findings: {'; '.join(failing)}")
    if worse:
        reasons.append(f"worse than the champion beyond the 95% interval on {'; '.join(worse)}")
    if missing:
        reasons.append(f"cannot be compared with the champion ({'; '.join(missing)})")
    if reasons:
        return Decision(family, challenger, champion, champion, "kept",
                        f"champion {champion} stays; challenger {challenger}: {' and '.join(reasons)}")
    return Decision(family, challenger, champion, challenger, "promoted",
                    f"not worse than champion {champion} beyond the 95% interval on any gate metric "
                    f"({'; '.join(line.text() for line in lines)}) and no failing finding")


def forced(family: str, version: str, champion: str | None, by: str) -> Decision:
    """A promotion by hand of a kept version, whatever the gate says."""
    return Decision(family, version, champion, version, "forced", f"promoted by hand ({by}) over "
                    f"{'no champion' if champion is None else f'champion {champion}'}")


def rolled_back(family: str, version: str, champion: str | None, by: str) -> Decision:
    """A return by hand to an earlier kept version."""
    return Decision(family, None, champion, version, "rolled back",
                    f"rolled back by hand ({by}) from {'no champion' if champion is None else champion} to {version}")
