"""The metric self-test assets: per modality, the evaluation's metrics score generators whose order is
known (evaluation.self_test_panel), built from this night's real splits; the panel is written as JSON beside
the evaluation details, and an ERROR-severity check fails naming every metric and pair it got wrong."""


from pathlib import Path

import dagster as dg

from genai_platform.defs.database import PlatformDuckDB
from genai_platform.defs.datasets import dataset_stores, partitions_for
from genai_platform.defs.metadata import markdown_table, reuse_record
from genai_platform.defs.resources import ArtifactStore, RunSettings
from genai_platform.evaluation.self_test_panel import FAIL, Panel
from genai_platform.fingerprints import evaluation_code_version
from genai_platform.modalities import MODALITIES
from genai_platform.modalities.base import Modality
from genai_platform.steps.evaluation import self_test_or_reuse

CHECK = "declared_pairs_hold"


def panel_table(panel: Panel) -> dg.MetadataValue:
    """The panel as a markdown table: a row per metric, a column per case, then the cases ranked."""
    cases = list(panel.cases)
    return markdown_table(
        ("metric", *cases, "ranked best first", "violated"),
        [(m.metric, *(f"{r.value:.4g}" if (r := m.values.get(case)) is not None else "—" for case in cases),
          " > ".join(m.ranking), "; ".join(f"{c.better} / {c.worse or c.kind}" for c in m.violations) or "none")
         for m in panel.metrics])


def check_result(panel: Panel, asset_key: dg.AssetKey) -> dg.AssetCheckResult:
    """Passes when no declared pair is violated; the description names each violated metric and pair."""
    checks = [c for m in panel.metrics for c in m.checks]
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=CHECK, passed=panel.status != FAIL, severity=dg.AssetCheckSeverity.ERROR,
        description=panel.summary(),
        metadata={"panel": panel_table(panel),
                  "violations": dg.MetadataValue.md("\n".join(f"- **{metric}**: {c.message}"
                                                               for metric, c in panel.violations) or "none"),
                  "passed": sum(c.status == "pass" for c in checks), "failed": len(panel.violations),
                  "not_judged": sum(c.status not in ("pass", FAIL) for c in checks),
                  "sample_size": panel.sample_size})


def build_self_test_asset(modality: Modality, datasets_path: Path | None) -> dg.AssetsDefinition:
    name = f"{modality.name}_metric_self_test"

    @dg.asset(name=name, group_name="evaluation", deps=[modality.data_asset, *modality.evaluation_deps],
              kinds={"python"},
              code_version=evaluation_code_version(type(modality).__module__),
              check_specs=[dg.AssetCheckSpec(CHECK, asset=name, description=(
                  f"Every {modality.name} metric orders the self-test's generators as it declares "
                  "(evaluation.self_test_panel.DECLARATIONS): fails naming the metric and the pair it got wrong."))],
              description=f"Metric self-test of the {modality.name} evaluation: generators whose order is known "
              "(unseen real data, training copies, degraded and collapsed sets) scored by tonight's metrics "
              "on tonight's data.",
              partitions_def=partitions_for(datasets_path))
    def self_test(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                  run_settings: RunSettings):
        duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
        outcome = self_test_or_reuse(modality, duckdb, artifacts, context.run_id, run_settings.seed,
                                     run_settings.profile, run_settings.feature_extractor, run_settings.setup_torch(),
                                     context.log)
        panel = outcome.panel
        yield reuse_record(outcome.fingerprint, outcome.reused_from_run, path=dg.MetadataValue.path(str(outcome.path)),
                           status=panel.status, panel=panel_table(panel), sample_size=panel.sample_size)
        yield check_result(panel, dg.AssetKey(name))

    return self_test


def self_test_assets(datasets_path: Path | None = None) -> list[dg.AssetsDefinition]:
    """<modality>_metric_self_test for every modality with a panel (partitioned by dataset with a datasets file)."""
    return [build_self_test_asset(modality, datasets_path) for modality in MODALITIES.values()
            if modality.self_test is not None]
