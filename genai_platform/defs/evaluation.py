"""Evaluation assets: the frozen image feature extractor, then one evaluation per modality.

Each evaluation appends its numbers to metrics_history (one transaction) and keeps the
plot details (class histograms, BLEU signature) beside the models for the reports.
"""

from pathlib import Path

import dagster as dg

from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.defs.datasets import dataset_stores, entry_for, partitions_for
from genai_platform.defs.metadata import markdown_table, reuse_record
from genai_platform.defs.resources import ArtifactStore, RunSettings
from genai_platform.families.registry import families
from genai_platform.fingerprints import classifier_code_version, evaluation_code_version
from genai_platform.modalities import MODALITIES
from genai_platform.modalities.base import Modality
from genai_platform.modalities.image import IMAGE
from genai_platform.steps.evaluation import evaluate_or_reuse, feature_extractor_or_reuse


def feature_extractor_asset(datasets_path: Path | None = None) -> dg.AssetsDefinition:
    """image_feature_extractor (partitioned by dataset with a datasets file)."""
    @dg.asset(group_name="evaluation", deps=[IMAGE.data_asset], retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
              kinds={"pytorch"}, code_version=classifier_code_version(),
              partitions_def=partitions_for(datasets_path))
    def image_feature_extractor(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                                run_settings: RunSettings):
        """CNN classifier trained on the real train split and frozen; its features feed FID."""
        duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
        outcome = feature_extractor_or_reuse(duckdb, artifacts, context.run_id, run_settings.profile,
                                             run_settings.setup_torch(), context.log)
        trained = {} if outcome.manifest is None else {
            "test_accuracy": outcome.manifest["test_accuracy"], "classes": outcome.manifest["num_classes"],
            "seconds": round(outcome.manifest["seconds"], 2)}
        return reuse_record(outcome.fingerprint, outcome.reused_from_run, **trained)

    return image_feature_extractor


def build_evaluation_asset(modality: Modality, datasets_path: Path | None) -> dg.AssetsDefinition:
    members = [f.name for f in families(modality.name)]

    @dg.asset(name=f"{modality.name}_evaluation", group_name="evaluation", pool=DUCKDB_WRITE_POOL,
              code_version=evaluation_code_version(type(modality).__module__),
              kinds={"pytorch", "duckdb"}, deps=[*modality.evaluation_deps, *(f"samples_{name}" for name in members)],
              description=f"Every {modality.name} family scored beside the real-data floor, the naive baseline and "
              f"the ceiling, with 95% intervals: {', '.join(modality.leaderboard_metrics)} and more.",
              partitions_def=partitions_for(datasets_path))
    def evaluation(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                   run_settings: RunSettings):
        trained = members
        if datasets_path is not None and context.has_partition_key:  # the families its datasets-file entry trains
            entry = entry_for(context, datasets_path, modality.name)
            trained = [name for name in members if entry.trains(name)]
        duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
        outcome = evaluate_or_reuse(modality, trained, duckdb, artifacts, context.run_id, run_settings.profile,
                                    run_settings.seed, run_settings.feature_extractor, run_settings.setup_torch(),
                                    context.log)
        if outcome.reused_from_run is not None:
            return reuse_record(outcome.fingerprint, outcome.reused_from_run)
        rows, comparisons = outcome.rows, outcome.comparisons
        return reuse_record(outcome.fingerprint, None, **{
            "metrics": markdown_table(
                ("subject", "role", "metric", "value", "95% interval", "n"),
                [(r.subject, r.role, r.metric, f"{r.value:.4g}", r.estimate.interval_text(), r.sample_count)
                 for r in rows]),
            "comparisons": markdown_table(
                ("subject", "minus", "metric", "difference", "95% interval", "n"),
                [(c.subject, c.baseline if c.baseline_run is None else f"version {c.baseline_run[:8]}", c.metric,
                  f"{c.delta:+.4g}", c.estimate.interval_text(signed=True), c.sample_count) for c in comparisons]),
            "rows": len(rows), "paired_comparisons": len(comparisons)})

    return evaluation


def evaluation_assets(datasets_path: Path | None = None) -> list[dg.AssetsDefinition]:
    """<modality>_evaluation over the families registered now (`datasets_path`: the datasets file, whose entries may
    train fewer)."""
    return [build_evaluation_asset(modality, datasets_path) for modality in MODALITIES.values()]
