"""Evaluation assets: the frozen image feature extractor, then one evaluation per modality.

Each evaluation appends its numbers to metrics_history (one transaction) and keeps the
plot details (class histograms, BLEU signature) beside the models for the reports.
"""

import json

from pathlib import Path

import dagster as dg


from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.defs.datasets import dataset_stores, entry_for
from genai_platform.defs.metadata import markdown_table, reuse_record
from genai_platform.defs.resources import ArtifactStore, RunSettings
from genai_platform.evaluation.image_scores import (FEATURE_EXTRACTOR_DIR, feature_extractor_fingerprint,
                                                    train_feature_extractor)
from genai_platform.evaluation.profiles import evaluation_profile
from genai_platform.families.registry import families, family_named, load_family
from genai_platform.files import ArtifactPath, write_atomic
from genai_platform.fingerprints import evaluation_code_version, evaluation_fingerprint, package_version
from genai_platform.modalities import MODALITIES
from genai_platform.modalities.base import Contest, EvaluationContext, Modality
from genai_platform.modalities.image import IMAGE, read_classifier_data
from genai_platform.store.tables import append_comparisons, append_metrics, dataset_info, version_sample_run
from genai_platform.store.versions import best_version, challenger, champion
from genai_platform.training.fit import MANIFEST_FILE, read_manifest


@dg.asset(group_name="evaluation", deps=[IMAGE.data_asset], retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
          kinds={"pytorch"})
def image_feature_extractor(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                            run_settings: RunSettings):
    """CNN classifier trained on the real train split and frozen; its features feed FID."""
    duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
    device = run_settings.setup_torch()
    profile = evaluation_profile(run_settings.profile)
    with duckdb.read_connection() as con:  # closed before training: an open reader blocks DuckDB's writers
        data = read_classifier_data(con)
    extractor_fingerprint = feature_extractor_fingerprint(profile, data.data_version)
    out_dir = artifacts.model_dir(FEATURE_EXTRACTOR_DIR)
    if (out_dir / MANIFEST_FILE).exists() and (earlier := read_manifest(out_dir)).get("fingerprint") == extractor_fingerprint:
        context.log.info("the feature extractor was trained on the same data with the same settings and code; "
                         "re-using it")
        return reuse_record(extractor_fingerprint, earlier.get("run_id") or "an earlier run")
    manifest = train_feature_extractor(data, profile, device, out_dir,
                                       artifacts.checkpoint_path(FEATURE_EXTRACTOR_DIR), context.log.info, context.run_id)
    return reuse_record(extractor_fingerprint, None, test_accuracy=manifest["test_accuracy"],
                        classes=manifest["num_classes"], seconds=round(manifest["seconds"], 2))


def read_contests(con, members: list[str]) -> dict[str, Contest]:
    """Each family's challenger, its champion where that is another version, and the best version that ever
    served where that is yet another."""
    contests = {}
    for family in members:
        version = challenger(con, family)
        if version is None:
            raise LookupError(f"{family} has no trained version; materialize train_{family} first")
        serving, best = champion(con, family), best_version(con, family)
        contests[family] = Contest(version, None if serving == version else serving,
                                   None if best in (version, serving) else best)
    return contests


def reusable_run(details_path: ArtifactPath, fingerprint: str) -> str | None:
    """The run whose evaluation (details file) has this fingerprint; None when there is none to re-use."""
    try:
        details = json.loads(details_path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return details["run_id"] if details.get("fingerprint") == fingerprint else None


def build_evaluation_asset(modality: Modality, catalog: Path | None) -> dg.AssetsDefinition:
    members = [f.name for f in families(modality.name)]

    @dg.asset(name=f"{modality.name}_evaluation", group_name="evaluation", pool=DUCKDB_WRITE_POOL,
              code_version=evaluation_code_version(),
              kinds={"pytorch", "duckdb"}, deps=[*modality.evaluation_deps, *(f"samples_{name}" for name in members)],
              description=f"Every {modality.name} family scored beside the real-data floor, the naive baseline and "
              f"the ceiling, with 95% intervals: {', '.join(modality.leaderboard_metrics)} and more.")
    def evaluation(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                   run_settings: RunSettings):
        trained = members
        if catalog is not None and context.has_partition_key:  # the families its datasets-file entry trains
            entry = entry_for(context, catalog, modality.name)
            trained = [name for name in members if entry.trains(name)]
        duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
        device = run_settings.setup_torch()
        with duckdb.read_connection() as con:
            contests = read_contests(con, trained)
            data_version = dataset_info(con, modality.name)["data_version"]
            drawn = {family: [version_sample_run(con, modality.name, family, version)
                              for version in (contest.challenger, *contest.baselines)]
                     for family, contest in contests.items()}
        fingerprint = evaluation_fingerprint(
            data_version, {family: [d and d.fingerprint for d in sets] for family, sets in drawn.items()},
            run_settings.profile, run_settings.seed, run_settings.feature_extractor)
        details_path = artifacts.details_path(modality.name)
        if (earlier := reusable_run(details_path, fingerprint)) is not None:
            context.log.info(f"the {modality.name} evaluation of run {earlier} scored the same samples, data, settings "
                             "and code; re-using it")
            return reuse_record(fingerprint, earlier)
        for family, contest in contests.items():
            context.log.info(f"{family}: challenger {contest.challenger}, champion {contest.champion or 'none to compare'}"
                             + (f", best version that served {contest.best}" if contest.best else ""))
        with duckdb.read_connection() as con:
            inputs = modality.read_evaluation_inputs(con, contests)
        evaluation = modality.score(inputs, EvaluationContext(
            families=trained, contests=contests,
            load_model=lambda name, version: load_family(family_named(name), artifacts.version_dir(name, version), device),
            model_dir=artifacts.model_dir, profile=evaluation_profile(run_settings.profile), seed=run_settings.seed,
            device=device, feature_space=run_settings.feature_extractor, log=context.log.info))
        rows, comparisons = evaluation.rows, evaluation.comparisons
        with duckdb.transaction() as con:
            dataset = dataset_info(con, modality.name)
            append_metrics(con, context.run_id, modality.name, dataset["source"], dataset["data_version"],
                           package_version(), rows, {family: contest.challenger for family, contest in contests.items()})
            append_comparisons(con, context.run_id, modality.name, comparisons)
        write_atomic(details_path, json.dumps({**evaluation.details, "run_id": context.run_id,
                                               "fingerprint": fingerprint}, indent=2))
        for r in rows:
            context.log.info(f"{r.subject} {r.metric} = {r.value:.4f} {r.estimate.interval_text()} "
                             f"(n={r.sample_count})")
        return reuse_record(fingerprint, None, **{
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


def evaluation_assets(catalog: Path | None = None) -> list[dg.AssetsDefinition]:
    """<modality>_evaluation over the families registered now (`catalog`: the datasets file, whose entries may
    train fewer)."""
    return [build_evaluation_asset(modality, catalog) for modality in MODALITIES.values()]
