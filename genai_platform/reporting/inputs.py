"""Everything the reports read, as plain typed inputs for report.py: DuckDB (through store.tables),
the trained models' manifests, the evaluation details files, the installed package versions, and
the report data and run manifests that earlier report runs wrote."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Protocol

from genai_platform.files import ArtifactPath
from genai_platform.metrics.bias import WordLists, gender_word_lists
from genai_platform.records import Comparison, Decision, MetricRow
from genai_platform.reporting.analysis import TRAILING_RUNS
from genai_platform.verdicts.thresholds import Threshold
from genai_platform.reporting.modality_parts import ModalityReport
from genai_platform.reporting.self_test_section import panel_details_name
from genai_platform.store.tables import dataset_info, latest_metrics, read_comparisons, recent_metrics
from genai_platform.store.versions import challenger, decisions
from genai_platform.training.fit import read_manifest

PACKAGES = ("torch", "dagster", "duckdb", "numpy", "scipy", "scikit-learn", "sacrebleu", "gensim", "jinja2")


class ReportedModality(Protocol):
    """What the reports use of a modality (modalities.MODALITIES), passed in by steps/reports.py."""
    name: str
    leaderboard_metrics: tuple[str, ...]  # the ranked columns, in order
    report: ModalityReport

    def examples_per_step(self, batch_size: int, model_config: dict) -> tuple[int, str]: ...


@dataclass(frozen=True)
class FamilyDescription:
    """A registered family as the reports name and describe it (from families.registry, via defs/)."""
    name: str
    modality: str
    title: str
    description: str
    experimental: bool
    base: str | None  # the family whose trained model it starts from


@dataclass(frozen=True)
class TrainedModel:
    """A family's trained model version, from its manifest (training.fit)."""
    version: str  # the run id that trained it
    trained_at: str
    parameters: int
    profile: str
    data_version: str
    model_config: dict
    training_config: dict
    steps: int
    seconds: float
    device: str
    resumed_from_step: int | None
    loss_curves: dict[str, list[float]]  # phase -> loss per step
    limited_by: str  # the budget that ended training: steps, epochs or seconds (training.loop.BUDGETS)
    passes: float | None  # passes over the training data; None in versions trained before it was kept


@dataclass(frozen=True)
class Dataset:
    """The ingested dataset of a modality (the datasets table)."""
    source: str
    description: str
    data_version: str
    row_count: int
    ingested_at: datetime
    files: list[tuple[str, str]]  # (path, SHA-256) of every source file


@dataclass(frozen=True)
class HistoryPoint:
    """A metrics_history value of an earlier (or this) run, for trends."""
    run_id: str
    subject: str
    metric: str
    value: float
    ci_low: float | None
    ci_high: float | None
    code_version: str
    data_version: str


@dataclass(frozen=True)
class ModalityInputs:
    modality: ReportedModality
    families: list[FamilyDescription]
    models: dict[str, TrainedModel]  # family name -> its trained model
    dataset: Dataset
    run_id: str | None  # of the latest evaluation; None before any
    code_version: str | None
    rows: list[MetricRow]  # the latest evaluation's metrics_history rows
    comparisons: list[Comparison]  # the latest evaluation's paired differences
    history: list[HistoryPoint]  # of the last TRAILING_RUNS + 1 runs on this dataset, oldest run first
    gallery: object  # what modality.report.read returned
    self_test: dict | None = None  # the metric self-test panel JSON (reporting.self_test_section); None: not written
    decisions: dict[str, Decision] | None = None  # family -> its newest promotion decision, where it has one


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    generated_at: str
    profile: str
    seed: int
    device: str
    code_version: str
    packages: dict[str, str]  # name -> installed version


@dataclass(frozen=True)
class Inputs:
    run: RunInfo
    modalities: list[ModalityInputs]
    thresholds: dict[str, Threshold]
    word_lists: WordLists


def read_run(run_id: str, profile: str, seed: int, device: str, code_version: str) -> RunInfo:
    """This run as the manifest records it, with the time and the installed package versions."""
    packages = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = "not installed"
    return RunInfo(run_id, datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), profile, seed, device,
                   code_version, packages)


def read_inputs(con, run: RunInfo, modalities: list[ReportedModality], families: list[FamilyDescription],
                version_dir: Callable[[str, str], ArtifactPath], details_path: Callable[[str], ArtifactPath],
                thresholds: dict[str, Threshold]) -> Inputs:
    """What the comparison and ethics reports show, per modality in the given order; `version_dir`
    (family, version) is where a kept model version lives."""
    return Inputs(run, [_read_modality(con, m, [f for f in families if f.modality == m.name], version_dir,
                                       details_path(m.name), details_path(panel_details_name(m.name)))
                        for m in modalities],
                  thresholds, gender_word_lists())


def _read_modality(con, modality: ReportedModality, families: list[FamilyDescription],
                   version_dir: Callable[[str, str], ArtifactPath], details_file: ArtifactPath, self_test_file: ArtifactPath | None = None
                   ) -> ModalityInputs:
    info = dataset_info(con, modality.name)
    dataset = Dataset(info["source"], info["description"], info["data_version"], info["row_count"],
                      info["ingested_at"], [(f["path"], f["sha256"]) for f in info["provenance"]["files"]])
    latest = latest_metrics(con, modality.name)
    rows = [MetricRow(r["subject"], r["metric"], r["value"], r["sample_count"], r["ci_low"], r["ci_high"], r["role"])
            for r in latest]
    history = [HistoryPoint(r["run_id"], r["subject"], r["metric"], r["value"], r["ci_low"], r["ci_high"],
                            r["code_version"], r["data_version"])
               for r in (recent_metrics(con, modality.name, dataset.source, TRAILING_RUNS + 1) if latest else [])]
    details = json.loads(details_file.read_text("utf-8")) if details_file.exists() else {}
    # the families trained on this dataset (a datasets-file entry may train fewer than are registered)
    challengers = {f.name: version for f in families if (version := challenger(con, f.name)) is not None}
    if not challengers:
        raise LookupError(f"no {modality.name} family has a trained version; materialize "
                          f"{', '.join('train_' + f.name for f in families)} first")
    families = [f for f in families if f.name in challengers]
    names = list(challengers)
    newest = {name: found[0] for name in names if (found := decisions(con, name, limit=1))}
    return ModalityInputs(modality, families,
                          {name: _trained_model(read_manifest(version_dir(name, version)))
                           for name, version in challengers.items()},
                          dataset, latest[0]["run_id"] if latest else None,
                          latest[0]["code_version"] if latest else None, rows,
                          read_comparisons(con, latest[0]["run_id"], modality.name) if latest else [], history,
                          modality.report.read(con, details, names), _read_self_test(self_test_file), newest)


def _read_self_test(path: ArtifactPath | None) -> dict | None:
    """The metric self-test panel JSON, if the self-test asset wrote one (older runs have none)."""
    if path is None or not path.exists():
        return None
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _trained_model(manifest: dict) -> TrainedModel:
    training = manifest["training"]
    return TrainedModel(manifest["version"], manifest["trained_at"], manifest["parameters"], manifest["profile"], manifest["data_version"],
                        manifest["model_config"], manifest["training_config"], training["steps"],
                        training["seconds"], training["device"], training.get("resumed_from_step"),
                        training["loss_curves"], training.get("limited_by", "steps"), training.get("passes"))


def read_reported_families(report_data: ArtifactPath) -> set[str]:
    """The families with a leaderboard row holding at least one value in a report's data (json_export.report_data);
    none without the file. A family that was trained but never evaluated has a row of dashes: not reported."""
    if not report_data.exists():
        return set()
    data = json.loads(report_data.read_text("utf-8"))
    return {row["subject"] for section in data["modalities"] for row in section["leaderboard"]["rows"]
            if row["role"] == "model" and any(cell is not None for cell in row["cells"].values())}


def read_run_manifests(runs_dir: ArtifactPath, manifest_name: str, warn: Callable[[str], None]) -> list[dict]:
    """Every archived run's manifest (runs_dir/<run id>/<manifest_name>); unreadable ones are skipped, warned of."""
    manifests = []
    for path in runs_dir.glob(f"*/{manifest_name}"):
        try:
            manifest = json.loads(path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            warn(f"skipping unreadable {path}: {error}")
            continue
        if "values" not in manifest.get("headline", {"values": None}):
            warn(f"skipping {path}: written by a version before run statuses were recorded")
            continue
        manifests.append(manifest)
    return manifests
