"""The reports' content built from the inputs, reading nothing: leaderboards ranked by mean win rate,
trends and regressions, findings, model cards and datasheets, as typed objects that the templates
only render, plus the JSON that the run index and the coverage check read."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from markupsafe import Markup

from genai_platform.metrics.catalog import (INTERVALS, METRICS, NOISE, PIXEL_GAUSSIAN, TRAINING_COPIES, TRAINING_DATA,
                                             UNIGRAM, UNSEEN_REAL, info, subject_label)
from genai_platform.models.base import SINGLE_PHASE
from genai_platform.records import Comparison, Decision, MetricRow
from genai_platform.reporting.analysis import (MIN_FINDING_COUNT, Threshold, difference_verdict, judge, mean_win_rates,
                                               trailing_median, worst)
from genai_platform.reporting.inputs import (Dataset, FamilyDescription, HistoryPoint, Inputs, ModalityInputs,
                                             RunInfo, TrainedModel)
from genai_platform.reporting.modalities import CardTexts, ModalityParts
from genai_platform.reporting.plots import loss_curves, sparkline
from genai_platform.reporting.selftest import SelfTestPanel, build_self_tests

# Reference rows below the ranked families: floor, naive baseline, ceiling (best to worst), then the data.
REFERENCE_ORDER = (UNSEEN_REAL, TRAINING_COPIES, PIXEL_GAUSSIAN, NOISE, UNIGRAM, TRAINING_DATA)
ETHICS_TABLES = (("Bias", "bias"), ("Memorization", "memorization"))  # (title, metric category)
HEADLINE_METRICS = 3  # leaderboard columns per modality carried to the run index
MANIFEST_FILES = 20  # source files listed per dataset in the run manifest


@dataclass(frozen=True)
class Estimate:
    value: float
    ci_low: float | None  # 95% interval, where the metric has one
    ci_high: float | None
    sample_count: int

    @classmethod
    def of(cls, row: MetricRow) -> Estimate:
        return cls(row.value, row.ci_low, row.ci_high, row.sample_count)


@dataclass(frozen=True)
class MetricColumn:
    name: str
    label: str
    arrow: str
    definition: str
    reference: str
    category: str
    interval: str | None  # what its 95% interval covers (catalog.INTERVALS); None: recorded without one

    @classmethod
    def of(cls, metric: str) -> MetricColumn:
        entry = info(metric)
        return cls(metric, entry.label, entry.arrow, entry.definition, entry.reference, entry.category,
                   INTERVALS.get(metric))


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
class Difference:
    """A paired difference (metrics.comparisons) and its verdict (analysis.DIFFERENCE_VERDICTS)."""
    estimate: Estimate
    verdict: str

    @classmethod
    def of(cls, comparison: Comparison, flipped: bool = False) -> Difference:
        """subject minus baseline; `flipped`: baseline minus subject."""
        c = comparison
        low, high = (c.ci_low, c.ci_high) if not flipped or c.ci_low is None else (-c.ci_high, -c.ci_low)
        estimate = Estimate(-c.delta if flipped else c.delta, low, high, c.sample_count)
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
    change: Difference | None  # the challenger minus the champion's samples, both scored on this run's reference
    changed: list[str]  # "code" and/or "data": versions that differ in earlier runs of the series
    sparkline: Markup

    @property
    def regressed(self) -> bool:
        return self.change is not None and self.change.verdict == "worse"


@dataclass(frozen=True)
class DifferenceRow:
    """A ranked family against the top-ranked one, per leaderboard metric (None: no paired difference)."""
    model: str
    cells: list[Difference | None]


@dataclass(frozen=True)
class TrendRow:
    model: str
    cells: list[Trend | None]  # one per leaderboard metric


@dataclass(frozen=True)
class Finding:
    """A family's bias or memorization value judged against its threshold."""
    model: str
    metric: str
    label: str
    estimate: Estimate
    status: str  # analysis.STATUSES or analysis.TOO_FEW


@dataclass(frozen=True)
class ServingRow:
    """Which version of a family serves, and the promotion decision that made it so."""
    model: str
    champion: str | None  # None: never promoted
    challenger: str | None
    decision: str | None
    reason: str
    decided_at: str | None


@dataclass(frozen=True)
class CostRow:
    family: str
    parameters: int
    steps: int
    limited_by: str  # the budget that ended training
    passes: float | None  # over the training data
    seconds: float
    device: str
    throughput: float | None  # examples through one step per second
    unit: str


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


@dataclass(frozen=True)
class SampleSize:
    label: str
    count: int


@dataclass(frozen=True)
class Datasheet:
    modality: str
    dataset: Dataset
    preprocessing: str
    distribution: str


@dataclass(frozen=True)
class CardMetric:
    label: str
    estimate: Estimate


@dataclass(frozen=True)
class EthicalConsideration:
    name: str
    description: str
    mitigation: str


@dataclass(frozen=True)
class ModelCard:
    family: FamilyDescription
    model: TrainedModel
    dataset: Dataset
    win_rate: float | None
    findings: list[Finding]
    metrics: list[CardMetric]
    texts: CardTexts

    @property
    def intended_use(self) -> str:
        return (f"Research and monitoring of generative modelling on {self.dataset.source} inside this platform, "
                "comparing families night over night.")

    intended_users: ClassVar[str] = "ML engineers and reviewers of this platform's nightly runs."
    out_of_scope: ClassVar[str] = ("Producing content shown to people without review, any decision about a person, "
                                   "and any use of the samples as real data.")

    @property
    def limitations(self) -> str:
        return (f"{self.texts.limitations} Trained {self.model.steps} steps on one dataset with one seed; the "
                "intervals cover sampling noise, not seed-to-seed variation.")

    @property
    def ethical_considerations(self) -> list[EthicalConsideration]:
        texts = self.texts
        return [
            EthicalConsideration(
                "Privacy and memorization", "Generative models can reproduce training items verbatim; the training "
                f"data here is public, but a user's own data may not be. Measured: {texts.memorization_measured}, "
                "judged against thresholds.", "The run fails the finding above the fail threshold; review the "
                "closest pairs in the comparison report, and do not train on private data without deduplication "
                "and a memorization check at the user's own thresholds."),
            EthicalConsideration("Misinformation", texts.misinformation, "Samples stay inside the platform's reports, "
                                 "labelled as generated; do not publish them unlabelled."),
            EthicalConsideration("Discrimination", texts.discrimination,
                                 f"{texts.judged_nightly[:1].upper()}{texts.judged_nightly[1:]} are judged against "
                                 "thresholds every night; a warn or fail should block use of the model's samples "
                                 "until reviewed."),
        ]


@dataclass(frozen=True)
class ModalitySection:
    name: str
    dataset: Dataset
    run_id: str | None  # of the evaluation shown
    code_version: str | None
    leaderboard: Leaderboard
    serving: list[ServingRow]
    history_runs: int
    trends: list[TrendRow]  # the ranked families over the leaderboard metrics
    regressions: list[Trend]
    leader_differences: list[DifferenceRow]  # every other ranked family minus the top-ranked one
    findings: list[Finding]
    cost: list[CostRow]
    table: MetricTable  # every metric
    ethics_tables: list[MetricTable]  # the bias and memorization metrics
    experiments: list[Experiment]
    loss_curves: str
    sample_sizes: list[SampleSize]  # behind each leaderboard column
    parts: ModalityParts
    datasheet: Datasheet

    @property
    def flagged(self) -> list[Finding]:
        """The findings that warn or fail."""
        return [f for f in self.findings if f.status in ("warn", "fail")]


@dataclass(frozen=True)
class Counts:
    fail: int
    warn: int
    regressions: int


@dataclass(frozen=True)
class ThresholdRow:
    label: str
    warn: float
    fail: float
    absolute: bool  # judged by the absolute value


@dataclass(frozen=True)
class WordListSummary:
    source: str
    groups: dict[str, list[str]]  # group -> its words, sorted
    targets: dict[str, int]  # "profession" / "adjective" -> how many


@dataclass(frozen=True)
class ManifestDataset:
    modality: str
    source: str
    data_version: str
    files: list[tuple[str, str]]  # the first MANIFEST_FILES (path, SHA-256)
    file_count: int


@dataclass(frozen=True)
class Report:
    """The shared content of the comparison and ethics reports."""
    run: RunInfo
    datasets: list[ManifestDataset]
    status: str  # the worst finding status, warn at least when something regressed
    counts: Counts
    modalities: list[ModalitySection]
    cards: list[ModelCard]
    thresholds: list[ThresholdRow]
    min_finding_count: int
    word_lists: WordListSummary
    self_tests: list[SelfTestPanel] = field(default_factory=list)  # the metric self-test panel per modality


def build_report(inputs: Inputs) -> Report:
    sections = [_section(m, inputs.thresholds) for m in inputs.modalities]
    statuses = [f.status for s in sections for f in s.findings]
    regressions = sum(len(s.regressions) for s in sections)
    lists = inputs.word_lists
    return Report(
        run=inputs.run,
        datasets=[ManifestDataset(m.modality.name, m.dataset.source, m.dataset.data_version,
                                  m.dataset.files[:MANIFEST_FILES], len(m.dataset.files)) for m in inputs.modalities],
        status=worst(statuses + (["warn"] if regressions else [])),
        counts=Counts(statuses.count("fail"), statuses.count("warn"), regressions),
        modalities=sections,
        cards=[card for m, s in zip(inputs.modalities, sections) for card in _cards(m, s)],
        thresholds=[ThresholdRow(info(m).label, t.warn, t.fail, info(m).direction == "zero")
                    for m, t in inputs.thresholds.items()],
        min_finding_count=MIN_FINDING_COUNT,
        word_lists=WordListSummary(lists.source, {g: sorted(w) for g, w in lists.groups.items()},
                                   {t: len(w) for t, w in lists.targets.items()}),
        self_tests=build_self_tests({m.modality.name: m.self_test for m in inputs.modalities}))


def _section(inputs: ModalityInputs, limits: dict[str, Threshold]) -> ModalitySection:
    family_names = [f.name for f in inputs.families]
    section_findings = findings(inputs.rows, limits)
    board = leaderboard(inputs.rows, family_names, inputs.modality.leaderboard_metrics, failing(section_findings))
    all_trends = trends(inputs.history, inputs.run_id, family_names, [m.name for m in board.metrics],
                        against_champion(inputs.comparisons, inputs.decisions or {}))
    by_key = {(t.model, t.metric): t for t in all_trends}
    table = metric_table(inputs.rows, family_names, {row.subject for row in board.kept_out})
    report = inputs.modality.report
    return ModalitySection(
        name=inputs.modality.name,
        dataset=inputs.dataset,
        run_id=inputs.run_id,
        code_version=inputs.code_version,
        leaderboard=board,
        serving=[serving_row(f.name, (inputs.decisions or {}).get(f.name)) for f in inputs.families],
        history_runs=len({p.run_id for p in inputs.history}),
        trends=[TrendRow(row.label, [by_key.get((row.subject, m.name)) for m in board.metrics])
                for row in board.ranked + board.kept_out],
        regressions=[t for t in all_trends if t.regressed],
        leader_differences=leader_differences(board, inputs.comparisons),
        findings=section_findings,
        cost=[cost_row(name, model, inputs.modality.examples_per_step) for name, model in inputs.models.items()],
        table=table,
        ethics_tables=[MetricTable(title, shown, table.rows) for title, category in ETHICS_TABLES
                       if (shown := [m for m in table.metrics if m.category == category])],
        experiments=[against_base(inputs.rows, f) for f in inputs.families if f.experimental and f.base],
        loss_curves=loss_curves({name if phase == SINGLE_PHASE else f"{name} ({phase})": curve
                                 for name, model in inputs.models.items()
                                 for phase, curve in model.loss_curves.items()}, f"{inputs.modality.name} families"),
        sample_sizes=[SampleSize(m.label, cells[0].sample_count) for m in board.metrics
                      if (cells := [row.cells[m.name] for row in board.rows if row.cells[m.name]])],
        parts=report.build(inputs.gallery, {f.name: f.title for f in inputs.families}),
        datasheet=Datasheet(inputs.modality.name, inputs.dataset, report.preprocessing,
                            report.distribution(inputs.dataset.source)))


def serving_row(family: str, decision: Decision | None) -> ServingRow:
    if decision is None:
        return ServingRow(family, None, None, None, "no promotion decision yet: materialize champion_" + family, None)
    return ServingRow(family, decision.champion, decision.challenger, decision.decision, decision.reason,
                      f"{decision.decided_at:%Y-%m-%d %H:%M}" if decision.decided_at else None)


def _cards(inputs: ModalityInputs, section: ModalitySection) -> list[ModelCard]:
    win_rates = {row.subject: row.win_rate for row in section.leaderboard.ranked}
    return [ModelCard(f, inputs.models[f.name], inputs.dataset, win_rates.get(f.name),
                      [finding for finding in section.findings if finding.model == f.name],
                      [CardMetric(f"{info(r.metric).label} {info(r.metric).arrow}".strip(), Estimate.of(r))
                       for r in inputs.rows if r.subject == f.name],
                      inputs.modality.report.card)
            for f in inputs.families]


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
        return {m: Estimate.of(cells[(subject, m)]) if (subject, m) in cells else None for m in metrics}

    return Leaderboard(
        [MetricColumn.of(m) for m in metrics],
        [LeaderboardRow(f, subject_label(f), "model", rank, win_rates[f], values(f))
         for rank, f in enumerate(ranked, 1)]
        + [LeaderboardRow(f, subject_label(f), "model", None, None, values(f), kept_out[f])
           for f in family_names if f in kept_out]
        + [LeaderboardRow(s, subject_label(s), roles[s], None, None, values(s)) for s in references])


def failing(section_findings: list[Finding]) -> dict[str, str]:
    """Family -> its failing findings as text, for the families that have one."""
    out: dict[str, list[str]] = {}
    for f in section_findings:
        if f.status == "fail":
            out.setdefault(f.model, []).append(f"{f.label} {_estimate_text(f.estimate)}")
    return {model: "; ".join(texts) for model, texts in out.items()}


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
                 {m: Estimate.of(cells[(s, m)]) if (s, m) in cells else None for m in metrics},
                 frozenset(m for m in metrics if best.get(m) == s)) for s in subjects])


def cost_row(family: str, model: TrainedModel, examples_per_step: Callable[[int, dict], tuple[int, str]]) -> CostRow:
    """Parameters, training time and throughput (examples through one step per second)."""
    steps = model.steps - (model.resumed_from_step or 0)  # seconds cover this process only
    per_step, unit = examples_per_step(model.training_config["batch_size"], model.model_config)
    return CostRow(family, model.parameters, model.steps, model.limited_by, model.passes, model.seconds, model.device,
                   per_step * steps / model.seconds if model.seconds > 0 else None, unit)


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
            change = Difference.of(changes[(model, metric)]) if (model, metric) in changes else None
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

    def cell(family: str, metric: str) -> Difference | None:
        if (family, leader, metric) in pairs:
            return Difference.of(pairs[(family, leader, metric)])
        if (leader, family, metric) in pairs:
            return Difference.of(pairs[(leader, family, metric)], flipped=True)
        return None

    return [DifferenceRow(row.label, [cell(row.subject, m.name) for m in board.metrics]) for row in board.ranked[1:]]


def alert_text(report: Report) -> str | None:
    """What a webhook is told about a run: its failing and warning findings, regressions and self-test
    violations, one line each; None when there is nothing to tell."""
    lines = [f"{f.model} {f.label}: {f.status} ({_estimate_text(f.estimate)})"
             for s in report.modalities for f in s.findings if f.status in ("warn", "fail")]
    lines += [f"{t.model} {t.label}: regressed, {_estimate_text(t.change.estimate)} against its champion"
              for s in report.modalities for t in s.regressions]
    lines += [f"self-test {panel.modality}: {label}: {check.message}"
              for panel in report.self_tests for label, check in panel.violations]
    if not lines:
        return None
    return f"genai-platform run {report.run.run_id}: status {report.status.upper()}\n" + "\n".join(lines)


def _estimate_text(estimate: Estimate) -> str:
    interval = "" if estimate.ci_low is None else f" [{estimate.ci_low:.4g}, {estimate.ci_high:.4g}]"
    return f"{estimate.value:.4g}{interval}"


def findings(rows: list[MetricRow], limits: dict[str, Threshold]) -> list[Finding]:
    """Each family's values of the thresholded metrics judged pass / warn / fail."""
    return [Finding(r.subject, r.metric, info(r.metric).label, Estimate.of(r),
                    judge(r.metric, r.value, r.sample_count, limits[r.metric], r.ci_low, r.ci_high))
            for r in rows if r.role == "model" and r.metric in limits]


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


def headline(report: Report) -> dict:
    """What the run index shows of a run: status, finding counts, each modality's leader, and the
    best family value of its first leaderboard metrics."""
    values, leaders = {}, {}
    for section in report.modalities:
        ranked = [r for r in section.leaderboard.ranked if r.win_rate is not None]
        if ranked:
            leaders[section.name] = {"model": ranked[0].label, "win_rate": ranked[0].win_rate}
        for metric in section.leaderboard.metrics[:HEADLINE_METRICS]:
            cells = [r.cells[metric.name] for r in ranked if r.cells[metric.name]]
            if cells:
                best = min((c.value for c in cells), key=info(metric.name).sort_key)
                values[f"{section.name} {metric.label} {metric.arrow}"] = best
    return {"status": report.status, "counts": asdict(report.counts), "leaders": leaders, "values": values}


def run_manifest(report: Report, dataset: str | None) -> dict:
    """The run's manifest.json: the run, the dataset partition it ran for (None without a datasets file),
    its datasets and its headline (the run index reads it)."""
    return {**asdict(report.run), "dataset": dataset, "datasets": [asdict(d) for d in report.datasets],
            "headline": headline(report)}


def report_data(report: Report) -> dict:
    """The report's data as JSON: status, and per modality the leaderboard and the findings."""
    return {"run_id": report.run.run_id, "status": report.status, "counts": asdict(report.counts),
            "modalities": [{"name": s.name, "dataset": s.dataset.source, "data_version": s.dataset.data_version,
                            "evaluation_run_id": s.run_id,
                            "leaderboard": {"metrics": [m.name for m in s.leaderboard.metrics],
                                            "rows": [asdict(row) for row in s.leaderboard.rows]},
                            "serving": [asdict(row) for row in s.serving],
                            "findings": [asdict(f) for f in s.findings]} for s in report.modalities]}


def model_cards_data(report: Report) -> dict:
    """Every family's model card as JSON in the Model Card Toolkit's schema fields (model_details,
    model_parameters, quantitative_analysis, considerations; Mitchell et al., 2019), keyed by family."""
    def metric(m: CardMetric) -> dict:
        entry = {"type": m.label, "value": f"{m.estimate.value:.6g}", "slice": f"n={m.estimate.sample_count}"}
        if m.estimate.ci_low is not None:
            entry["confidence_interval"] = {"lower_bound": f"{m.estimate.ci_low:.6g}",
                                            "upper_bound": f"{m.estimate.ci_high:.6g}"}
        return entry

    return {"run_id": report.run.run_id, "model_cards": {card.family.name: {
        "model_details": {"name": card.family.name, "overview": card.family.description,
                          "version": {"name": card.model.version, "date": card.model.trained_at},
                          "documentation": f"{card.family.title}; profile {card.model.profile}, seed "
                                           f"{report.run.seed}, {card.model.parameters} parameters, "
                                           f"{card.model.steps} steps on {card.model.device}"},
        "model_parameters": {"model_architecture": card.family.title,
                             "data": [{"name": card.dataset.source, "description": card.dataset.description,
                                       "version": card.model.data_version}]},
        "quantitative_analysis": {"performance_metrics": [metric(m) for m in card.metrics]},
        "considerations": {
            "users": [{"description": card.intended_users}],
            "use_cases": [{"description": card.intended_use}, {"description": f"Out of scope: {card.out_of_scope}"}],
            "limitations": [{"description": card.limitations}],
            "tradeoffs": [{"description": card.texts.trade_offs}],
            "ethical_considerations": [{"name": f"{c.name}: {c.description}", "mitigation_strategy": c.mitigation}
                                       for c in card.ethical_considerations]},
    } for card in report.cards}}


@dataclass(frozen=True)
class IndexRun:
    """A run as the index lists it, from its archived manifest."""
    run_id: str
    generated_at: str
    dataset: str | None  # the GENAI_DATASETS partition it ran for; None in the one-dataset layout
    profile: str | None
    seed: int | None
    failure: dict | None  # {"job", "message"} of a failed run
    status: str | None  # None: not recorded
    counts: dict[str, int]
    leaders: dict[str, dict]  # modality -> {"model", "win_rate"}
    values: dict[str, float]  # headline name -> best family value


@dataclass(frozen=True)
class IndexTrend:
    dataset: str | None
    name: str
    latest: float
    sparkline: Markup


@dataclass(frozen=True)
class IndexDataset:
    """A dataset partition as the index lists it: its newest run and the newest that wrote reports, if any."""
    name: str
    newest: IndexRun | None
    reported: IndexRun | None


@dataclass(frozen=True)
class RunIndex:
    runs: list[IndexRun]  # newest first
    trends: list[IndexTrend]  # per dataset, per headline value of its newest reported run
    datasets: list[IndexDataset]  # the named datasets (GENAI_DATASETS), by name; empty in the one-dataset layout


def build_index(manifests: list[dict], datasets: Sequence[str] = ()) -> RunIndex:
    """Every archived run, newest first; every named dataset (`datasets`, and any a run names) with its
    newest run; and per dataset each headline value's series over its reported runs (a dataset's runs
    never mix with another's)."""
    runs = sorted((_index_run(m) for m in manifests), key=lambda r: r.generated_at, reverse=True)
    by_dataset: dict[str | None, list[IndexRun]] = {}
    for run in runs:
        by_dataset.setdefault(run.dataset, []).append(run)
    trends, listed = [], []
    for dataset in sorted(set(datasets) | set(by_dataset), key=lambda name: name or ""):
        dataset_runs = by_dataset.get(dataset, [])
        reported = [r for r in dataset_runs if r.status is not None]  # it wrote reports
        for name in reported[0].values if reported else []:
            values = [run.values[name] for run in reversed(reported) if name in run.values]
            trends.append(IndexTrend(dataset, name, values[-1], sparkline(values, name)))
        if dataset is not None:
            listed.append(IndexDataset(dataset, dataset_runs[0] if dataset_runs else None,
                                       reported[0] if reported else None))
    return RunIndex(runs, trends, listed)


def _index_run(manifest: dict) -> IndexRun:
    """A run's archived manifest as an index row; a failed run that wrote no reports has no headline."""
    headline = manifest.get("headline") or {"status": None, "counts": {}, "leaders": {}, "values": {}}
    return IndexRun(manifest["run_id"], manifest["generated_at"], manifest.get("dataset"), manifest.get("profile"),
                    manifest.get("seed"), manifest.get("failure"), headline["status"], headline["counts"],
                    headline["leaders"], headline["values"])
