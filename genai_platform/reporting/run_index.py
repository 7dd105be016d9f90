"""The run index: what each run's manifest.json records of it (its headline), and the index of every
archived run built from those manifests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from markupsafe import Markup

from genai_platform.metrics.catalog import info
from genai_platform.reporting.plots import sparkline
from genai_platform.reporting.report import Report

HEADLINE_METRICS = 3  # leaderboard columns per modality carried to the run index


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
