"""Report assets: the comparison and ethics reports of the latest evaluations, and the run index.

Each HTML file is self-contained and written atomically; a copy of every run's reports
is archived under reports/runs/<run id>/ and listed by index.html.
"""

import json
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
from pydantic import Field

from genai_platform.files import write_atomic
from genai_platform.families.registry import families
from genai_platform.reporting import render
from genai_platform.reporting.analysis import DEFAULT_THRESHOLDS, thresholds
from genai_platform.reporting.context import gather, headline, run_manifest
from genai_platform.reporting.plots import sparkline
from genai_platform.defs.database import PlatformDuckDB
from genai_platform.defs.resources import ArtifactStore, RunSettings, code_version
from genai_platform.store.tables import dataset_info
from genai_platform.training.fit import MANIFEST_FILE

COMPARISON, ETHICS, INDEX, MANIFEST = "model_comparison.html", "ethics.html", "index.html", "manifest.json"
LATEST_LINKS = {"index": INDEX, "comparison": COMPARISON, "ethics": ETHICS}
EVALUATIONS = ["image_evaluation", "text_evaluation"]
FAILURE_CHARS = 600  # of the run's failure message kept for the index
ARCHIVE_LINKS = {"index": f"../../{INDEX}", "comparison": COMPARISON, "ethics": ETHICS}


class ReportConfig(dg.Config):
    thresholds: dict[str, list[float]] = Field(
        default_factory=dict,
        description="Overrides of the ethics report's pass/warn/fail thresholds: metric name -> [warn, fail]; "
        "a value at or above warn warns, at or above fail fails (absolute value for sentiment gaps). Defaults: "
        + "; ".join(f"{m} [{t.warn:g}, {t.fail:g}]" for m, t in DEFAULT_THRESHOLDS.items()))


def _leaderboard_markdown(report: dict) -> str:
    lines = [f"Status: **{report['status']}** ({report['counts']['fail']} fail, {report['counts']['warn']} warn, "
             f"{report['counts']['regressions']} regressions)\n"]
    for section in report["modalities"]:
        board = section["leaderboard"]
        lines.append(f"**{section['name']}** ({section['dataset']['source']})\n")
        lines.append("| model | win rate | " + " | ".join(f"{m['label']} {m['arrow']}" for m in board["metrics"]) + " |")
        lines.append("|---" * (len(board["metrics"]) + 2) + "|")
        for row in board["rows"]:
            rate = "—" if row["win_rate"] is None else f"{row['win_rate']:.2f}"
            values = [f"{c['value']:.4g}" if (c := row["cells"][m["name"]]) else "—" for m in board["metrics"]]
            lines.append(f"| {row['model']} | {rate} | " + " | ".join(values) + " |")
        lines.append("")
    return "\n".join(lines)


@dg.multi_asset(
    group_name="reports",
    specs=[dg.AssetSpec("model_comparison_report", deps=EVALUATIONS, kinds={"html"},
                        description="reports/model_comparison.html: metrics, samples, training curves"),
           dg.AssetSpec("ethics_report", deps=EVALUATIONS, kinds={"html"},
                        description="reports/ethics.html: bias findings, model cards, datasheets")],
)
def reports(context: dg.AssetExecutionContext, config: ReportConfig, duckdb: PlatformDuckDB,
            artifacts: ArtifactStore, run_settings: RunSettings):
    limits = thresholds(config.thresholds)
    with duckdb.read_connection() as con:
        datasets = [{"modality": m, **dataset_info(con, m)} for m in ("image", "text")]
        run = run_manifest(context.run_id, run_settings.profile, run_settings.seed,
                           str(run_settings.setup_torch()), code_version(), datasets)
        report = gather(con, artifacts.model_dir, artifacts.details_path, run, limits)
    archive = artifacts.reports / "runs" / context.run_id
    paths = {}
    for name, filename in (("model_comparison_report", COMPARISON), ("ethics_report", ETHICS)):
        template = filename.replace(".html", ".html.j2")
        write_atomic(archive / filename, render(template, links=ARCHIVE_LINKS, **report))
        paths[name] = write_atomic(artifacts.reports / filename, render(template, links=LATEST_LINKS, **report))
    write_atomic(archive / MANIFEST, json.dumps({**run, "headline": headline(report)}, indent=2))
    leaderboard = dg.MetadataValue.md(_leaderboard_markdown(report))
    context.log.info(f"run status {report['status']}: {report['counts']}")
    for name, path in paths.items():
        context.log.info(f"wrote {path} ({path.stat().st_size:,} bytes)")
        yield dg.MaterializeResult(asset_key=name, metadata={
            "path": dg.MetadataValue.path(str(path)), "bytes": path.stat().st_size, "leaderboard": leaderboard,
            "status": report["status"]})


def _index_row(manifest: dict) -> dict:
    """A run's manifest as an index row; runs archived before statuses were recorded have a flat headline."""
    headline = manifest.get("headline", {})
    if "values" not in headline:
        headline = {"status": None, "counts": {}, "leaders": {}, "values": headline}
    return {"failure": None, "profile": None, "seed": None, **manifest, **headline}


def _index_trends(runs: list[dict]) -> list[dict]:
    """Per headline value of the newest run: its series over the runs (oldest first) as a sparkline."""
    out = []
    for name in runs[0]["values"] if runs else []:
        values = [run["values"][name] for run in reversed(runs) if name in run["values"]]
        out.append({"name": name, "latest": values[-1], "sparkline": sparkline(values, name)})
    return out


def write_index(artifacts: ArtifactStore, log) -> tuple[Path, int]:
    """Render reports/index.html from every archived run manifest, newest first."""
    runs = []
    for manifest in (artifacts.reports / "runs").glob(f"*/{MANIFEST}"):
        try:
            runs.append(_index_row(json.loads(manifest.read_text("utf-8"))))
        except (OSError, json.JSONDecodeError) as error:
            log.warning(f"skipping unreadable {manifest}: {error}")
    runs.sort(key=lambda r: r["generated_at"], reverse=True)
    reported = [r for r in runs if r["values"]]
    path = write_atomic(artifacts.reports / INDEX, render("index.html.j2", links=LATEST_LINKS, runs=runs,
                                                          trends=_index_trends(reported)))
    return path, len(runs)


@dg.asset(group_name="reports", deps=["model_comparison_report", "ethics_report"], kinds={"html"})
def report_index(context: dg.AssetExecutionContext, artifacts: ArtifactStore):
    """reports/index.html: every archived run, newest first, with its status, headline numbers and trends."""
    path, runs = write_index(artifacts, context.log)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "runs": runs,
                                          "bytes": path.stat().st_size})


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Lists a failed run in reports/index.html with its error, so the morning "
                       "page shows failed nights too (needs the daemon, which dagster dev starts).")
def failed_runs_in_index(context: dg.RunFailureSensorContext, artifacts: ArtifactStore):
    run = context.dagster_run
    manifest_path = artifacts.reports / "runs" / run.run_id / MANIFEST
    manifest = json.loads(manifest_path.read_text("utf-8")) if manifest_path.exists() else {
        "run_id": run.run_id, "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
    manifest["failure"] = {"job": run.job_name, "message": (context.failure_event.message or "")[:FAILURE_CHARS]}
    write_atomic(manifest_path, json.dumps(manifest, indent=2))
    write_index(artifacts, context.log)


class _FamilyMarkers(HTMLParser):
    """Collects the data-family attributes of a report's leaderboard rows."""

    def __init__(self):
        super().__init__()
        self.families: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.families.update(value for name, value in attrs if name == "data-family" and value)


@dg.asset_check(asset="model_comparison_report", description="Every family with a trained model has a "
                "leaderboard row in reports/model_comparison.html.")
def every_trained_family_reported(artifacts: ArtifactStore) -> dg.AssetCheckResult:
    trained = [f.name for f in families() if (artifacts.model_dir(f.name) / MANIFEST_FILE).exists()]
    path = artifacts.reports / COMPARISON
    markers = _FamilyMarkers()
    markers.feed(path.read_text("utf-8") if path.exists() else "")
    missing = sorted(set(trained) - markers.families)
    return dg.AssetCheckResult(passed=not missing, severity=dg.AssetCheckSeverity.ERROR, metadata={
        "trained": ", ".join(trained), "missing": ", ".join(missing) or "none", "path": str(path)})
