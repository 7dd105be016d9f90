"""Report assets: the comparison and ethics reports of the latest evaluations, and the run index.

Each HTML file is self-contained and written atomically; a copy of every run's reports, with the
run manifest and the report data (JSON), is archived under reports/runs/<run id>/ and listed by
index.html.
"""

import json
from datetime import datetime, timezone

from pathlib import Path

import dagster as dg

from genai_platform.defs.database import PlatformDuckDB
from genai_platform.defs.datasets import (DATASETS, PARTITION_TAG, dataset_name, dataset_stores, entry_families,
                                          partitions_for)
from genai_platform.defs.metadata import markdown_table
from genai_platform.defs.resources import Alerts, ArtifactStore, FindingThresholds, RunSettings
from genai_platform.families.registry import families
from genai_platform.files import write_atomic
from genai_platform.modalities import MODALITIES
from genai_platform.reporting.alerts import alert_text
from genai_platform.reporting.inputs import read_reported_families
from genai_platform.reporting.report import Report
from genai_platform.steps.reports import COMPARISON, DATA, MANIFEST, write_index, write_reports
from genai_platform.store.versions import challenger

REPORT_INDEX_POOL = "report_index"
FAILURE_CHARS = 600  # of the run's failure message kept for the index


FINDINGS_CHECK, REGRESSIONS_CHECK = "findings_pass", "no_regressions"


def findings_check(report: Report) -> dg.AssetCheckResult:
    judged = [f for s in report.modalities for f in s.findings]
    failing = [f for f in judged if f.status == "fail"]
    warning = [f for f in judged if f.status == "warn"]
    return dg.AssetCheckResult(
        asset_key="ethics_report", check_name=FINDINGS_CHECK, passed=not failing and not warning,
        severity=dg.AssetCheckSeverity.ERROR if failing else dg.AssetCheckSeverity.WARN,
        description=f"{len(failing)} failing, {len(warning)} warning of {len(judged)} findings",
        metadata={"findings": markdown_table(("model", "finding", "value", "status"),
                                             [(f.model, f.label, f"{f.estimate.value:.4g}", f.status) for f in judged]),
                  "failing": len(failing), "warning": len(warning)})


def regressions_check(report: Report) -> dg.AssetCheckResult:
    regressions = [t for s in report.modalities for t in s.regressions]
    return dg.AssetCheckResult(
        asset_key="model_comparison_report", check_name=REGRESSIONS_CHECK, passed=not regressions,
        severity=dg.AssetCheckSeverity.WARN, description=f"{len(regressions)} challenger(s) worse than their champion",
        metadata={"regressions": markdown_table(
            ("model", "metric", "value", "challenger minus champion"),
            [(t.model, t.label, f"{t.value:.4g}", t.change.estimate.text(signed=True)) for t in regressions]),
            "count": len(regressions)})


def _leaderboard_markdown(report: Report) -> str:
    lines = [f"Status: **{report.status}** ({report.counts.fail} fail, {report.counts.warn} warn, "
             f"{report.counts.regressions} regressions)\n"]
    for section in report.modalities:
        board = section.leaderboard
        lines.append(f"**{section.name}** ({section.dataset.source})\n")
        lines.append(markdown_table(
            ("model", "win rate", *(f"{m.label} {m.arrow}" for m in board.metrics)),
            [(row.label, "—" if row.win_rate is None else f"{row.win_rate:.2f}",
              *(f"{c.value:.4g}" if (c := row.cells[m.name]) else "—" for m in board.metrics))
             for row in board.rows]).value)
        lines.append("")
    return "\n".join(lines)


def report_assets(datasets_path: Path | None = None) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    """The comparison and ethics reports, from every evaluation, metric self-test panel and promotion decision
    of the run, and the check that every family trained on the dataset is in them (`datasets_path`: the
    datasets file, whose entries may train fewer families than are registered)."""
    evaluations = ([f"{name}_evaluation" for name in MODALITIES]
                   + [f"{name}_metric_self_test" for name, modality in MODALITIES.items() if modality.self_test]
                   + [f"champion_{family.name}" for family in families()])

    @dg.multi_asset(
        group_name="reports",
        specs=[dg.AssetSpec("model_comparison_report", deps=evaluations, kinds={"html"},
                            description="reports/model_comparison.html: metrics, samples, training curves"),
               dg.AssetSpec("ethics_report", deps=evaluations, kinds={"html"},
                            description="reports/ethics.html: bias findings, model cards, datasheets")],
        check_specs=[dg.AssetCheckSpec(FINDINGS_CHECK, asset="ethics_report", description=(
                         "Every bias and memorization finding of the run passes its threshold: a failing one fails "
                         "this check with ERROR severity, a warning one with WARN; the table is in the metadata.")),
                     dg.AssetCheckSpec(REGRESSIONS_CHECK, asset="model_comparison_report", description=(
                         "No challenger is worse than its champion beyond the interval of the paired difference "
                         "(WARN severity when one is: the champion then stays); the regressions are in the "
                         "metadata."))],
        partitions_def=partitions_for(datasets_path),
    )
    def reports(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                run_settings: RunSettings, alerts: Alerts, findings: FindingThresholds):
        duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
        report, paths = write_reports(run_settings.run_info(context.run_id), duckdb, artifacts, findings.limits(),
                                      archive=True, families=entry_families(datasets_path, dataset_name(context)))
        leaderboard = dg.MetadataValue.md(_leaderboard_markdown(report))
        context.log.info(f"run status {report.status}: {report.counts}")
        if (text := alert_text(report)) is not None:
            alerts.send(f"{text}\n{artifacts.latest_reports / COMPARISON}", context.log)
        for name, path in paths.items():
            context.log.info(f"wrote {path} ({path.stat().st_size:,} bytes)")
            yield dg.MaterializeResult(asset_key=name, metadata={
                "path": dg.MetadataValue.path(str(path)), "bytes": path.stat().st_size, "leaderboard": leaderboard,
                "status": report.status})
        yield findings_check(report)
        yield regressions_check(report)

    @dg.asset_check(asset="model_comparison_report", description="Every family trained on the dataset has a "
                    "leaderboard row with values in the comparison report's data (reports/report.json).")
    def every_trained_family_reported(context: dg.AssetCheckExecutionContext, duckdb: PlatformDuckDB,
                                      artifacts: ArtifactStore) -> dg.AssetCheckResult:
        duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
        with duckdb.read_connection() as con:
            trained = [f.name for f in entry_families(datasets_path, dataset_name(context))
                       if challenger(con, f.name) is not None]
        path = artifacts.latest_reports / DATA
        missing = sorted(set(trained) - read_reported_families(path))
        return dg.AssetCheckResult(passed=not missing, severity=dg.AssetCheckSeverity.ERROR, metadata={
            "trained": ", ".join(trained), "missing": ", ".join(missing) or "none", "path": str(path)})

    return reports, every_trained_family_reported


def dataset_partitions(instance: dg.DagsterInstance, partitioned: bool) -> list[str]:
    return instance.get_dynamic_partitions(DATASETS.name) if partitioned else []


def report_index_asset(datasets_path: Path | None = None) -> dg.AssetsDefinition:
    """report_index (partitioned by dataset with a datasets file: a run of a dataset writes the shared index)."""
    # in a pool (one slot): with a datasets file the schedule starts a run per dataset at once, and an index
    # written from the manifests read before another run archived its own would leave that run out
    @dg.asset(group_name="reports", deps=["model_comparison_report", "ethics_report"], kinds={"html"},
              pool=REPORT_INDEX_POOL,
              partitions_def=partitions_for(datasets_path))
    def report_index(context: dg.AssetExecutionContext, artifacts: ArtifactStore):
        """reports/index.html: every archived run, newest first, with its status, headline numbers and trends."""
        path, runs = write_index(artifacts, context.log.warning,
                                 dataset_partitions(context.instance, dataset_name(context) is not None))
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "runs": runs,
                                              "bytes": path.stat().st_size})

    return report_index


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Lists a failed run in reports/index.html with its error, so the morning "
                       "page shows failed nights too, and posts it to GENAI_ALERT_WEBHOOK when one is set "
                       "(needs the daemon, which dagster dev starts).")
def failed_runs_in_index(context: dg.RunFailureSensorContext, artifacts: ArtifactStore, alerts: Alerts):
    run = context.dagster_run
    manifest_path = artifacts.reports / "runs" / run.run_id / MANIFEST
    manifest = json.loads(manifest_path.read_text("utf-8")) if manifest_path.exists() else {
        "run_id": run.run_id, "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "dataset": run.tags.get(PARTITION_TAG)}
    manifest.setdefault("dataset", None)  # manifests from before datasets have none
    manifest["failure"] = {"job": run.job_name, "message": (context.failure_event.message or "")[:FAILURE_CHARS]}
    write_atomic(manifest_path, json.dumps(manifest, indent=2))
    write_index(artifacts, context.log.warning, dataset_partitions(context.instance, manifest["dataset"] is not None))
    alerts.send(f"genai-platform run {run.run_id} of {run.job_name} FAILED: {manifest['failure']['message']}",
                context.log)
