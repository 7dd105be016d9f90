"""Evaluation assets: the frozen image feature extractor, then one evaluation per modality.

Each evaluation appends its numbers to metrics_history (one transaction) and keeps the
plot details (class histograms, BLEU signature) beside the models for the reports.
"""

import json

import dagster as dg

from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.defs.resources import ArtifactStore, RunSettings, code_version
from genai_platform.evaluation import MODALITIES
from genai_platform.evaluation.image import FEATURE_EXTRACTOR_DIR, IMAGE, read_classifier_data, train_feature_extractor
from genai_platform.evaluation.modality import EvaluationContext, Modality
from genai_platform.evaluation.profiles import evaluation_profile
from genai_platform.families.registry import FAMILIES, families, load_family
from genai_platform.files import write_atomic
from genai_platform.records import Comparison, MetricRow
from genai_platform.store.tables import append_comparisons, append_metrics, dataset_info


@dg.asset(group_name="evaluation", deps=[IMAGE.data_asset], retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
          kinds={"pytorch"})
def image_feature_extractor(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                            run_settings: RunSettings):
    """CNN classifier trained on the real train split and frozen; its features feed FID."""
    device = run_settings.setup_torch()
    with duckdb.read_connection() as con:  # closed before training: an open reader blocks DuckDB's writers
        data = read_classifier_data(con)
    manifest = train_feature_extractor(data, evaluation_profile(run_settings.profile), run_settings.seed, device,
                                       artifacts.model_dir(FEATURE_EXTRACTOR_DIR),
                                       artifacts.checkpoint_path(FEATURE_EXTRACTOR_DIR), context.log.info)
    return dg.MaterializeResult(metadata={"test_accuracy": manifest["test_accuracy"],
                                          "classes": manifest["num_classes"], "seconds": round(manifest["seconds"], 2)})


def _interval(row: MetricRow | Comparison) -> str:
    return "" if row.ci_low is None else f"[{row.ci_low:.4g}, {row.ci_high:.4g}]"


def build_evaluation_asset(modality: Modality) -> dg.AssetsDefinition:
    members = [f.name for f in families(modality.name)]

    @dg.asset(name=f"{modality.name}_evaluation", group_name="evaluation", pool=DUCKDB_WRITE_POOL,
              kinds={"pytorch", "duckdb"}, deps=[*modality.evaluation_deps, *(f"samples_{name}" for name in members)],
              description=f"Every {modality.name} family scored beside the real-data floor, the naive baseline and "
              f"the ceiling, with 95% intervals: {', '.join(modality.leaderboard_metrics)} and more.")
    def evaluation(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                   run_settings: RunSettings):
        device = run_settings.setup_torch()
        with duckdb.read_connection() as con:
            inputs = modality.read_evaluation_inputs(con, members)
        evaluation = modality.score(inputs, EvaluationContext(
            families=members, load_model=lambda name: load_family(FAMILIES[name], artifacts.model_dir(name), device),
            model_dir=artifacts.model_dir, profile=evaluation_profile(run_settings.profile), seed=run_settings.seed,
            device=device, feature_space=run_settings.feature_extractor, log=context.log.info))
        rows, comparisons = evaluation.rows, evaluation.comparisons
        with duckdb.transaction() as con:
            dataset = dataset_info(con, modality.name)
            append_metrics(con, context.run_id, modality.name, dataset["source"], dataset["data_version"],
                           code_version(), rows)
            append_comparisons(con, context.run_id, modality.name, comparisons)
        write_atomic(artifacts.details_path(modality.name),
                     json.dumps({**evaluation.details, "run_id": context.run_id}, indent=2))
        for r in rows:
            context.log.info(f"{r.subject} {r.metric} = {r.value:.4f} {_interval(r)} (n={r.sample_count})")
        table = "\n".join(f"| {r.subject} | {r.role} | {r.metric} | {r.value:.4g} | {_interval(r)} | {r.sample_count} |"
                          for r in rows)
        differences = "\n".join(
            f"| {c.subject} | {c.baseline if c.baseline_run is None else 'previous run ' + c.baseline_run[:8]} | "
            f"{c.metric} | {c.delta:+.4g} | {_interval(c)} | {c.sample_count} |" for c in comparisons)
        return dg.MaterializeResult(metadata={
            "metrics": dg.MetadataValue.md("| subject | role | metric | value | 95% interval | n |\n"
                                           f"|---|---|---|---|---|---|\n{table}"),
            "comparisons": dg.MetadataValue.md("| subject | minus | metric | difference | 95% interval | n |\n"
                                               f"|---|---|---|---|---|---|\n{differences}"),
            "rows": len(rows), "paired_comparisons": len(comparisons)})

    return evaluation


def evaluation_assets() -> list[dg.AssetsDefinition]:
    """<modality>_evaluation over the families registered now."""
    return [build_evaluation_asset(modality) for modality in MODALITIES.values()]
