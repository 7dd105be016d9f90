"""The champion gate: does tonight's challenger replace the family's champion?

The evaluation scored the challenger and re-scored the champion's samples (and those of the best version
that ever served) on the same reference set with the same seeds; their paired differences
(metrics.comparisons) carry 95% intervals. The gate is a non-inferiority test: the challenger is promoted
only when, on every gate metric, the whole interval of challenger minus champion lies on the good side of
the margin (no worse than the champion by more than the margin), the same holds against the best version
that ever served (so a chain of small regressions stops at the margin), and it has no failing bias or
memorization finding. An interval that is neither wholly inside nor wholly past the margin is
"inconclusive": the champion stays, and the decision says what resolution was reached and how many
samples would reach the margin. A first version with a failing finding is withheld: nothing serves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from genai_platform.metrics.catalog import info
from genai_platform.metrics.comparisons import TARGETS
from genai_platform.records import Comparison, Decision, MetricRow
from genai_platform.verdicts.thresholds import Threshold, judge

# Margins relative to the champion's value: the largest loss the gate accepts, per gate metric. Whitened FD
# moves 0.6-0.85x as much as FID under a real loss (pixel noise: 0.61x at 28 px), so 3% blocks a challenger
# 5.5% worse in FID at MNIST size, where 3.5% let half of them through; bench/gate.py measures how often (at
# 8,000 samples a set an equal challenger is often not shown within 3% yet: the gate says "inconclusive" and
# the next nights draw up to the profile's max_sample_factor times as many).
DEFAULT_MARGINS = {"fid": 0.05, "fd_whitened": 0.03, "coverage": 0.05, "bits_per_character": 0.01, "continuation_bleu": 0.10,
                   "nll_bound": 0.03}
FALLBACK_MARGIN = 0.05  # a gate metric with no default margin
# The gate's stated resolution: sample counts aim at a paired interval whose half-width is this share of the
# margin, so that an equal challenger's interval lies inside the margin (steps/sampling.py grows them).
RESOLUTION = 0.5
NON_INFERIOR, INCONCLUSIVE, WORSE = "within margin", "inconclusive", "worse"


@dataclass(frozen=True)
class GateLine:
    """One gate metric: challenger minus an earlier version, its margin and its verdict (None: no paired
    difference, so nothing shows the challenger is not worse)."""
    metric: str
    comparison: Comparison | None
    margin: float | None  # in the metric's units, on the worse side of 0
    verdict: str | None

    def text(self) -> str:
        label = info(self.metric).label
        c = self.comparison
        if c is None:
            return f"{label}: no paired difference"
        text = f"{label} {c.estimate.text(signed=True)} against a margin of {self.margin:.4g} ({self.verdict})"
        if self.verdict == INCONCLUSIVE and c.ci_low is not None:
            half_width = (c.ci_high - c.ci_low) / 2
            text += f": half-width {half_width:.4g} at n = {c.sample_count}"
            room = self.margin - worse_side(self.metric, c.delta)  # between the point estimate and the margin
            if room > 0:  # the interval shrinks as 1/sqrt(n): the units that would fit it inside the margin
                text += (f"; about {math.ceil(c.sample_count * (half_width / room) ** 2):,} units per side "
                         f"(samples, prompts or documents) would resolve it")
        return text


def margin_of(metric: str, comparison: Comparison, challenger_value: float, relative: float) -> float:
    """The margin in the metric's units: `relative` times the champion's value on the comparison's own scale
    (its baseline value: at the comparison's sample size, as a distance for a metric judged by its distance
    to a target). A comparison recorded before baseline values were kept falls back to the challenger's row
    less the difference (the row's sample size may differ from the comparison's)."""
    if comparison.baseline_value is not None:
        return relative * abs(comparison.baseline_value)
    target = TARGETS.get(info(metric).direction)
    if target is None:
        return relative * abs(challenger_value - comparison.delta)
    return relative * max(abs(challenger_value - target) - comparison.delta, 0.0)


def worse_side(metric: str, value: float) -> float:
    """A difference (challenger minus an earlier version) signed so that positive is worse: metrics where
    higher is better flip; distances to a target, like lower-is-better metrics, do not."""
    return -value if info(metric).direction == "higher" else value


def non_inferiority(metric: str, comparison: Comparison, margin: float) -> str:
    """WORSE when the whole interval of challenger minus champion is past the margin on the worse side,
    NON_INFERIOR when all of it is on the good side of the margin, else INCONCLUSIVE."""
    if comparison.ci_low is None or comparison.ci_high is None:
        return INCONCLUSIVE
    low, high = sorted((worse_side(metric, comparison.ci_low), worse_side(metric, comparison.ci_high)))
    return WORSE if low > margin else NON_INFERIOR if high <= margin else INCONCLUSIVE


def samples_to_resolve(gate: Gate, comparisons: list[Comparison], metrics: tuple[str, ...]) -> int | None:
    """Samples per set at which the widest of these paired intervals (a challenger against an earlier version,
    on gate metrics among `metrics`) would have a half-width of RESOLUTION x its margin, the half-width
    shrinking as 1/sqrt(samples); None when none of them was inconclusive (a decided interval needs no more
    samples) with an interval and the champion's value that scales the margin."""
    needed = []
    for c in comparisons:
        if (c.metric not in metrics or c.metric not in gate.margins or c.ci_low is None or c.ci_high is None
                or c.baseline_value is None):
            continue
        margin = gate.margins[c.metric] * abs(c.baseline_value)
        if margin > 0 and non_inferiority(c.metric, c, margin) == INCONCLUSIVE:
            needed.append(math.ceil(c.sample_count * ((c.ci_high - c.ci_low) / 2 / (RESOLUTION * margin)) ** 2))
    return max(needed, default=None)


def grown_sample_count(count: int, wanted: int | None, max_factor: int) -> int:
    """Samples per set for the next night: the profile's `count`, doubled until it reaches `wanted`
    (samples_to_resolve), at most `max_factor` times."""
    if wanted is None or wanted <= count:
        return count
    return count * min(2 ** math.ceil(math.log2(wanted / count)), max_factor)


def better_or_equal(metric: str, comparison: Comparison) -> bool:
    """The point estimate of challenger minus the other version is on the good side of 0 (or 0)."""
    return worse_side(metric, comparison.delta) <= 0


def failing_findings(rows: list[MetricRow], limits: dict[str, Threshold]) -> list[str]:
    """The challenger's findings at or past their fail threshold, as text."""
    return [f"{info(r.metric).label} {r.value:.4g} (fail {'below' if info(r.metric).direction == 'higher' else 'at'} "
            f"{limits[r.metric].fail:g})" for r in rows
            if r.metric in limits and judge(r.metric, r.value, r.sample_count, limits[r.metric], r.ci_low,
                                            r.ci_high) == "fail"]


@dataclass(frozen=True)
class Gate:
    """The gate's settings: its metrics and their relative margins."""
    metrics: tuple[str, ...]
    margins: dict[str, float]

    @classmethod
    def of(cls, metrics: tuple[str, ...], overrides: dict[str, float] | None = None) -> Gate:
        overrides = overrides or {}
        unknown = sorted(set(overrides) - set(metrics))
        if unknown:
            raise ValueError(f"gate margins for metrics the gate does not judge: {', '.join(unknown)} "
                             f"(gate metrics: {', '.join(metrics)})")
        bad = {m: v for m, v in overrides.items() if not 0 <= v < 1}
        if bad:
            raise ValueError(f"gate margins are fractions of the champion's value in [0, 1), got {bad}")
        return cls(tuple(metrics), {m: overrides.get(m, DEFAULT_MARGINS.get(m, FALLBACK_MARGIN)) for m in metrics})

    def lines(self, comparisons: list[Comparison], rows: list[MetricRow]) -> list[GateLine]:
        """Each gate metric's difference (`comparisons`: the challenger against one earlier version) judged
        against its margin; `rows` give the challenger's own values, which set the margins' scale."""
        by_metric = {c.metric: c for c in comparisons}
        values = {r.metric: r.value for r in rows}
        out = []
        for metric in self.metrics:
            c = by_metric.get(metric)
            if c is None or metric not in values:  # no difference, or no value to scale the margin
                out.append(GateLine(metric, None, None, None))
                continue
            margin = margin_of(metric, c, values.get(metric), self.margins[metric])
            out.append(GateLine(metric, c, margin, non_inferiority(metric, c, margin)))
        return out

    def describe(self) -> str:
        return ", ".join(f"{info(m).label} {100 * self.margins[m]:.3g}%" for m in self.metrics)


def decide(family: str, challenger: str, champion: str | None, best: str | None, rows: list[MetricRow],
           comparisons: list[Comparison], gate: Gate, limits: dict[str, Threshold]) -> Decision:
    """The gate's decision on `challenger` (`rows`: its metrics of the evaluation; `comparisons`: its paired
    differences against earlier versions, each naming the version in `baseline_run`). `best` is the best
    version that ever served (None: the champion)."""
    failing = failing_findings(rows, limits)
    if champion is None:
        if failing:
            return Decision(family, challenger, None, None, "withheld",
                            f"first version of {family} withheld, nothing serves: failing findings: "
                            f"{'; '.join(failing)}", best=None)
        return Decision(family, challenger, None, challenger, "first", f"first version of {family}", best=challenger)
    best = best or champion
    if challenger == champion:
        return Decision(family, challenger, champion, champion, "unchanged",
                        "the champion was re-used: same data, code and config, nothing retrained", best=best)
    # the challenger may be the best version itself (re-used after a rollback): nothing to bound then
    against = {version: gate.lines([c for c in comparisons if c.baseline_run == version], rows)
               for version in dict.fromkeys((champion, best)) if version != challenger}
    reasons, inconclusive = [], []
    if failing:
        reasons.append(f"failing findings: {'; '.join(failing)}")
    for version, lines in against.items():
        whom = "the champion" if version == champion else f"{version}, the best version that served,"
        if worse := [line.text() for line in lines if line.verdict == WORSE]:
            reasons.append(f"worse than {whom} by more than the margin on {'; '.join(worse)}")
        if missing := [line.text() for line in lines if line.comparison is None]:
            reasons.append(f"cannot be compared with {whom.rstrip(',')} ({'; '.join(missing)})")
        if unresolved := [line.text() for line in lines if line.verdict == INCONCLUSIVE]:
            inconclusive.append(f"against {whom.rstrip(',')}: {'; '.join(unresolved)}")
    if reasons:
        return Decision(family, challenger, champion, champion, "kept",
                        f"champion {champion} stays; challenger {challenger}: {' and '.join(reasons)}", best=best)
    if inconclusive:
        return Decision(family, challenger, champion, champion, "inconclusive",
                        f"champion {champion} stays; challenger {challenger} is not shown to be within the margin "
                        f"({'; '.join(inconclusive)})", best=best)
    new_best = challenger if best == challenger or all(better_or_equal(line.metric, line.comparison)
                                                       for line in against[best]) else best
    return Decision(family, challenger, champion, challenger, "promoted",
                    f"no worse than champion {champion} by more than the margin on any gate metric "
                    f"({'; '.join(line.text() for line in against[champion])})"
                    + ("" if best in (champion, challenger) else
                       f", nor than {best}, the best version that served")
                    + f", and no failing finding; {'it is' if new_best == challenger else best + ' stays'} the best "
                    f"version that served", best=new_best)


def forced(family: str, version: str, champion: str | None, by: str) -> Decision:
    """A promotion by hand of a kept version, whatever the gate says; drift is measured from it on."""
    return Decision(family, version, champion, version, "forced", f"promoted by hand ({by}) over "
                    f"{'no champion' if champion is None else f'champion {champion}'}", best=version)


def rolled_back(family: str, version: str, champion: str | None, by: str) -> Decision:
    """A return by hand to an earlier kept version; drift is measured from it on."""
    return Decision(family, None, champion, version, "rolled back",
                    f"rolled back by hand ({by}) from {'no champion' if champion is None else champion} to {version}",
                    best=version)
