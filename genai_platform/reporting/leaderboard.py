"""The leaderboard ranked by mean win rate, the table of every metric, and each experimental family beside
the family it starts from: what the reports show of one run's metrics_history rows."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from genai_platform.metrics.catalog import (DIFFERENCE_KINDS, INTERVAL_KINDS, INTERVALS, METRICS, NOISE, PIXEL_GAUSSIAN,
                                             TRAINING_COPIES, TRAINING_DATA, UNIGRAM, UNSEEN_REAL, info, subject_label)
from genai_platform.records import Estimate, MetricRow
from genai_platform.reporting.analysis import mean_win_rates
from genai_platform.reporting.inputs import FamilyDescription

# Reference rows below the ranked families: floor, naive baseline, ceiling (best to worst), then the data.
REFERENCE_ORDER = (UNSEEN_REAL, TRAINING_COPIES, PIXEL_GAUSSIAN, NOISE, UNIGRAM, TRAINING_DATA)


@dataclass(frozen=True)
class MetricColumn:
    name: str
    label: str
    arrow: str
    definition: str
    reference: str
    category: str
    interval: str | None  # what its 95% interval covers (catalog.INTERVALS); None: recorded without one
    interval_kind: str  # how its interval is computed (catalog.INTERVAL_KINDS)
    difference_kind: str | None  # how a paired difference's interval is (catalog.DIFFERENCE_KINDS); None: none recorded

    @classmethod
    def of(cls, metric: str) -> MetricColumn:
        entry = info(metric)
        return cls(metric, entry.label, entry.arrow, entry.definition, entry.reference, entry.category,
                   INTERVALS.get(metric), INTERVAL_KINDS[metric], DIFFERENCE_KINDS.get(metric))


@dataclass(frozen=True)
class LeaderboardRow:
    subject: str  # a family name or a reference key
    label: str
    role: str  # records.ROLES
    rank: int | None  # ranked families only, 1 = best
    win_rate: float | None
    cells: dict[str, Estimate | None]  # metric -> value
    kept_out: str = ""  # a family with a failing finding: the findings that keep it off the ranking

    @property
    def reference(self) -> bool:
        return self.role != "model"


@dataclass(frozen=True)
class Leaderboard:
    metrics: list[MetricColumn]
    rows: list[LeaderboardRow]  # the families ranked, then those kept out by a failing finding, then the references

    @property
    def ranked(self) -> list[LeaderboardRow]:
        return [row for row in self.rows if not row.reference and not row.kept_out]

    @property
    def kept_out(self) -> list[LeaderboardRow]:
        return [row for row in self.rows if row.kept_out]

    def multiples_of_floor(self, metric: str) -> list[tuple[str, float]]:
        """(family label, its `metric` over real unseen data's) for each family, when the floor row has a positive
        value of it: how far each family is from what unseen real data scores."""
        floor = next((row.cells.get(metric) for row in self.rows if row.subject == UNSEEN_REAL), None)
        if floor is None or floor.value <= 0:
            return []
        return [(row.label, row.cells[metric].value / floor.value) for row in self.rows
                if not row.reference and row.cells.get(metric) is not None]


@dataclass(frozen=True)
class TableRow:
    label: str
    reference: bool
    cells: dict[str, Estimate | None]
    best: frozenset[str]  # metrics where this family has the best value


@dataclass(frozen=True)
class MetricTable:
    title: str
    metrics: list[MetricColumn]
    rows: list[TableRow]


@dataclass(frozen=True)
class ExperimentLine:
    label: str
    arrow: str
    value: float
    base_value: float
    winner: str


@dataclass(frozen=True)
class Experiment:
    """An experimental family beside the family it starts from, metric by metric."""
    family: str
    title: str
    base: str
    lines: list[ExperimentLine]
    wins: int


def _reference_key(subject: str) -> tuple[int, str]:
    """REFERENCE_ORDER first, any other reference after them by label."""
    order = REFERENCE_ORDER.index(subject) if subject in REFERENCE_ORDER else len(REFERENCE_ORDER)
    return order, subject_label(subject)


def leaderboard(rows: list[MetricRow], family_names: list[str], columns: tuple[str, ...],
                kept_out: dict[str, str] | None = None) -> Leaderboard:
    """Families ranked by HELM mean win rate over the modality's leaderboard metrics (a family without
    one last), among the families without a failing finding; those with one (`kept_out`: family -> its
    failing findings) follow unranked, then the reference rows (floor, ceiling, baselines), for scale. An
    image metric is shown in the Inception space when the run used it."""
    kept_out = kept_out or {}
    present = {r.metric for r in rows}
    metrics = [f"{m}_inception" if f"{m}_inception" in present else m for m in columns]
    metrics = [m for m in metrics if m in present]
    cells = {(r.subject, r.metric): r for r in rows}
    eligible = [f for f in family_names if f not in kept_out]
    win_rates = mean_win_rates({f: {m: cells[(f, m)].value for m in metrics if (f, m) in cells} for f in eligible})
    ranked = sorted(eligible, key=lambda f: (win_rates[f] is None, -(win_rates[f] or 0)))
    roles = {r.subject: r.role for r in rows if r.role != "model"}
    references = sorted((s for s in roles if any((s, m) in cells for m in metrics)), key=_reference_key)

    def values(subject: str) -> dict[str, Estimate | None]:
        return {m: cells[(subject, m)].estimate if (subject, m) in cells else None for m in metrics}

    return Leaderboard(
        [MetricColumn.of(m) for m in metrics],
        [LeaderboardRow(f, subject_label(f), "model", rank, win_rates[f], values(f))
         for rank, f in enumerate(ranked, 1)]
        + [LeaderboardRow(f, subject_label(f), "model", None, None, values(f), kept_out[f])
           for f in family_names if f in kept_out]
        + [LeaderboardRow(s, subject_label(s), roles[s], None, None, values(s)) for s in references])


def metric_table(rows: list[MetricRow], family_names: list[str], kept_out: Collection[str] = ()) -> MetricTable:
    """Every metric of the run against every subject: the families in registry order, then the rest by
    label; the best family value per metric marked, among the families no failing finding keeps out."""
    present = {r.metric for r in rows}
    metrics = [m for m in METRICS if m in present] + sorted(m for m in present if m not in METRICS)
    subjects = [f for f in family_names if any(r.subject == f for r in rows)]
    subjects += sorted({r.subject for r in rows} - set(subjects), key=subject_label)
    roles = {r.subject: r.role for r in rows}
    cells = {(r.subject, r.metric): r for r in rows}
    best = {}
    for metric in metrics:
        candidates = [(info(metric).sort_key(cells[(f, metric)].value), f) for f in family_names
                      if (f, metric) in cells and f not in kept_out]
        if len(candidates) > 1 and info(metric).direction != "none":
            best[metric] = min(candidates)[1]
    return MetricTable("All metrics", [MetricColumn.of(m) for m in metrics], [
        TableRow(subject_label(s), roles[s] != "model",
                 {m: cells[(s, m)].estimate if (s, m) in cells else None for m in metrics},
                 frozenset(m for m in metrics if best.get(m) == s)) for s in subjects])


def against_base(rows: list[MetricRow], family: FamilyDescription) -> Experiment:
    """An experimental family beside the family it starts from, metric by metric, winner named."""
    values = {(r.subject, r.metric): r.value for r in rows}
    lines = []
    for metric in sorted({r.metric for r in rows if r.subject == family.name}):
        if (family.base, metric) not in values or info(metric).direction == "none":
            continue
        mine, theirs = values[(family.name, metric)], values[(family.base, metric)]
        lines.append(ExperimentLine(info(metric).label, info(metric).arrow, mine, theirs,
                                    family.name if info(metric).better(mine, theirs) else family.base))
    return Experiment(family.name, family.title, family.base, lines,
                      sum(line.winner == family.name for line in lines))
