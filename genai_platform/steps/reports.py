"""Writing the reports: the comparison and ethics reports with their data and model cards, archived per run,
and the run index."""

from __future__ import annotations

import json
from collections.abc import Callable

from genai_platform.families.registry import Family
from genai_platform.families.registry import families as registered_families
from genai_platform.files import ArtifactPath, write_atomic
from genai_platform.modalities import MODALITIES
from genai_platform.reporting import render
from genai_platform.reporting.inputs import FamilyDescription, RunInfo, read_inputs, read_run_manifests
from genai_platform.reporting.json_export import model_cards_data, report_data
from genai_platform.reporting.report import Report, build_report
from genai_platform.reporting.run_index import build_index, run_manifest
from genai_platform.steps.stores import Artifacts, Tables
from genai_platform.store.tables import ingested_modalities
from genai_platform.verdicts.thresholds import Threshold


COMPARISON, ETHICS, INDEX = "model_comparison.html", "ethics.html", "index.html"
MANIFEST, DATA = "manifest.json", "report.json"  # per run: the index reads the manifest, the coverage check the data
MODEL_CARDS = "model_cards.json"  # per run: every family's model card in the Model Card Toolkit's fields
LATEST_LINKS = {"index": INDEX, "comparison": COMPARISON, "ethics": ETHICS}
# from a folder two below the reports folder: an archived run's (runs/<run id>/) or a dataset's (datasets/<name>/)
NESTED_LINKS = {"index": f"../../{INDEX}", "comparison": COMPARISON, "ethics": ETHICS}


def _described(family) -> FamilyDescription:
    return FamilyDescription(family.name, family.modality.name, family.title, family.description, family.experimental,
                             family.pretrained.family if family.pretrained else None)


def write_reports(run: RunInfo, tables: Tables, artifacts: Artifacts, limits: dict[str, Threshold], archive: bool,
                  families: list[Family] | None = None) -> tuple[Report, dict[str, ArtifactPath]]:
    """Render the comparison and ethics reports of every modality ingested in the tables (of `families`,
    default every registered one, those with a trained version), their
    data and the model cards from DuckDB into the dataset's latest reports folder; with `archive`, also under
    runs/<run id>/ with the run manifest the index lists."""
    with tables.read_connection() as con:
        if not (ingested := ingested_modalities(con)):
            raise LookupError("no dataset has been ingested yet; materialize the ingestion assets first")
        inputs = read_inputs(con, run, [m for m in MODALITIES.values() if m.name in ingested],
                             [_described(f) for f in (registered_families() if families is None else families)],
                             artifacts.version_dir, artifacts.details_path, limits)
    report = build_report(inputs)
    folders = [artifacts.latest_reports] + ([artifacts.reports / "runs" / run.run_id] if archive else [])
    paths = {}
    for folder in reversed(folders):  # the archive first: the latest files are the commit point
        links = LATEST_LINKS if folder == artifacts.reports else NESTED_LINKS
        for name, filename in (("model_comparison_report", COMPARISON), ("ethics_report", ETHICS)):
            paths[name] = write_atomic(folder / filename,
                                       render(filename.replace(".html", ".html.j2"), links=links, report=report))
        write_atomic(folder / DATA, json.dumps(report_data(report), indent=2))
        write_atomic(folder / MODEL_CARDS, json.dumps(model_cards_data(report), indent=2))
    if archive:
        write_atomic(folders[1] / MANIFEST, json.dumps(run_manifest(report, artifacts.dataset), indent=2))
    return report, paths


def write_index(artifacts: Artifacts, warn: Callable[[str], None], datasets: list[str]) -> tuple[ArtifactPath, int]:
    """Render reports/index.html from every archived run manifest, newest first, listing `datasets` (the
    dataset partitions; none in the one-dataset layout, whose latest reports it links instead)."""
    index = build_index(read_run_manifests(artifacts.reports / "runs", MANIFEST, warn), datasets)
    # with datasets, each has its latest reports in datasets/<name>/ and the reports folder itself has none
    links = {"index": INDEX, "comparison": None, "ethics": None} if index.datasets else LATEST_LINKS
    path = write_atomic(artifacts.reports / INDEX, render("index.html.j2", links=links, index=index))
    return path, len(index.runs)
