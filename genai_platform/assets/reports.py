"""Report assets: the comparison and ethics reports of the latest evaluations, and the run index.

Each HTML file is self-contained and written atomically; a copy of every run's reports
is archived under reports/runs/<run id>/ and listed by index.html.
"""

import json

import dagster as dg

from genai_platform.files import write_atomic
from genai_platform.reporting import render
from genai_platform.reporting.context import gather, headline, run_manifest
from genai_platform.resources import ArtifactStore, PlatformDuckDB, RunSettings, code_version
from genai_platform.store import dataset_info

COMPARISON, ETHICS, INDEX, MANIFEST = "model_comparison.html", "ethics.html", "index.html", "manifest.json"
LATEST_LINKS = {"index": INDEX, "comparison": COMPARISON, "ethics": ETHICS}
EVALUATIONS = ["image_evaluation", "text_evaluation"]
ARCHIVE_LINKS = {"index": f"../../{INDEX}", "comparison": COMPARISON, "ethics": ETHICS}


def _leaderboard_markdown(report: dict) -> str:
    lines = []
    for section in report["modalities"]:
        metrics = section["table"]["metrics"]
        lines.append(f"**{section['name']}** ({section['dataset']['source']})\n")
        lines.append("| model | " + " | ".join(m["label"] for m in metrics) + " |")
        lines.append("|---" * (len(metrics) + 1) + "|")
        for row in section["table"]["rows"]:
            values = [f"{c['value']:.4g}" if (c := row["cells"][m["name"]]) else "—" for m in metrics]
            lines.append(f"| {row['model']} | " + " | ".join(values) + " |")
        lines.append("")
    return "\n".join(lines)


@dg.multi_asset(
    group_name="reports",
    specs=[dg.AssetSpec("model_comparison_report", deps=EVALUATIONS, kinds={"html"},
                        description="reports/model_comparison.html: metrics, samples, training curves"),
           dg.AssetSpec("ethics_report", deps=EVALUATIONS, kinds={"html"},
                        description="reports/ethics.html: bias findings, model cards, datasheets")],
)
def reports(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
            run_settings: RunSettings):
    with duckdb.read_connection() as con:
        datasets = [{"modality": m, **dataset_info(con, m)} for m in ("image", "text")]
        run = run_manifest(context.run_id, run_settings.profile, run_settings.seed,
                           str(run_settings.setup_torch()), code_version(), datasets)
        report = gather(con, artifacts.model_dir, artifacts.details_path, run)
    archive = artifacts.reports / "runs" / context.run_id
    paths = {}
    for name, filename in (("model_comparison_report", COMPARISON), ("ethics_report", ETHICS)):
        template = filename.replace(".html", ".html.j2")
        write_atomic(archive / filename, render(template, links=ARCHIVE_LINKS, **report))
        paths[name] = write_atomic(artifacts.reports / filename, render(template, links=LATEST_LINKS, **report))
    write_atomic(archive / MANIFEST, json.dumps({**run, "headline": headline(report)}, indent=2))
    summary = dg.MetadataValue.md(_leaderboard_markdown(report))
    for name, path in paths.items():
        context.log.info(f"wrote {path}")
        yield dg.MaterializeResult(asset_key=name, metadata={"path": dg.MetadataValue.path(str(path)),
                                                             "bytes": path.stat().st_size, "summary": summary})


@dg.asset(group_name="reports", deps=["model_comparison_report", "ethics_report"], kinds={"html"})
def report_index(context: dg.AssetExecutionContext, artifacts: ArtifactStore):
    """reports/index.html: every archived run, newest first, with its headline numbers."""
    runs = []
    for manifest in (artifacts.reports / "runs").glob(f"*/{MANIFEST}"):
        try:
            runs.append(json.loads(manifest.read_text("utf-8")))
        except (OSError, json.JSONDecodeError) as error:
            context.log.warning(f"skipping unreadable {manifest}: {error}")
    runs.sort(key=lambda r: r["generated_at"], reverse=True)
    path = write_atomic(artifacts.reports / INDEX, render("index.html.j2", links=LATEST_LINKS, runs=runs))
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "runs": len(runs)})
