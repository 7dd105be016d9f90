"""The reports' content built from the inputs, reading nothing: the Report that the comparison and ethics
templates only render, and each modality's section of it (leaderboard.py, differences.py, findings.py and
model_cards.py build their parts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from genai_platform.metrics.catalog import info
from genai_platform.models.base import SINGLE_PHASE
from genai_platform.records import Decision
from genai_platform.verdicts.thresholds import MIN_FINDING_COUNT, Threshold, worst
from genai_platform.reporting.differences import (DifferenceRow, Trend, TrendRow, against_champion, leader_differences,
                                                  trends)
from genai_platform.reporting.findings import Finding, failing, findings
from genai_platform.reporting.inputs import Dataset, Inputs, ModalityInputs, RunInfo, TrainedModel
from genai_platform.reporting.leaderboard import (Experiment, Leaderboard, MetricTable, against_base, leaderboard,
                                                  metric_table)
from genai_platform.reporting.modality_parts import ModalityParts
from genai_platform.reporting.model_cards import Datasheet, ModelCard, model_cards
from genai_platform.reporting.plots import loss_curves
from genai_platform.reporting.self_test_section import SelfTestPanel, build_self_tests

ETHICS_TABLES = (("Bias", "bias"), ("Memorization", "memorization"))  # (title, metric category)
MANIFEST_FILES = 20  # source files listed per dataset in the run manifest


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
class SampleSize:
    label: str
    count: int


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
    misinformation: MetricTable | None  # the watermark's metrics, on the rows that have them
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
    below: bool  # higher is better: warns and fails below the thresholds


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
        cards=[card for m, s in zip(inputs.modalities, sections)
               for card in model_cards(m, {row.subject: row.win_rate for row in s.leaderboard.ranked}, s.findings)],
        thresholds=[ThresholdRow(info(m).label, t.warn, t.fail, info(m).direction == "zero",
                                 info(m).direction == "higher")
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
        misinformation=misinformation_table(table),
        experiments=[against_base(inputs.rows, f) for f in inputs.families if f.experimental and f.base],
        loss_curves=loss_curves({name if phase == SINGLE_PHASE else f"{name} ({phase})": curve
                                 for name, model in inputs.models.items()
                                 for phase, curve in model.loss_curves.items()}, f"{inputs.modality.name} families"),
        sample_sizes=[SampleSize(m.label, cells[0].count) for m in board.metrics
                      if (cells := [row.cells[m.name] for row in board.rows if row.cells[m.name]])],
        parts=report.build(inputs.gallery, {f.name: f.title for f in inputs.families}),
        datasheet=Datasheet(inputs.modality.name, inputs.dataset, report.preprocessing,
                            report.distribution(inputs.dataset.source)))


def misinformation_table(table: MetricTable) -> MetricTable | None:
    """The watermark's metrics (catalog category "misinformation") on the families and references that have one."""
    shown = [m for m in table.metrics if m.category == "misinformation"]
    rows = [row for row in table.rows if any(row.cells.get(m.name) for m in shown)]
    return MetricTable("Misinformation and provenance", shown, rows) if shown and rows else None


def serving_row(family: str, decision: Decision | None) -> ServingRow:
    if decision is None:
        return ServingRow(family, None, None, None, "no promotion decision yet: materialize champion_" + family, None)
    return ServingRow(family, decision.champion, decision.challenger, decision.decision, decision.reason,
                      f"{decision.decided_at:%Y-%m-%d %H:%M}" if decision.decided_at else None)


def cost_row(family: str, model: TrainedModel, examples_per_step: Callable[[int, dict], tuple[int, str]]) -> CostRow:
    """Parameters, training time and throughput (examples through one step per second)."""
    steps = model.steps - (model.resumed_from_step or 0)  # seconds cover this process only
    per_step, unit = examples_per_step(model.training_config["batch_size"], model.model_config)
    return CostRow(family, model.parameters, model.steps, model.limited_by, model.passes, model.seconds, model.device,
                   per_step * steps / model.seconds if model.seconds > 0 else None, unit)

