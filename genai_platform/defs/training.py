"""Training and sampling assets, made from the family registry: train_<family> (a new model version, or
the existing one when data, code and config are unchanged) and samples_<family> (of that version)."""

from pathlib import Path

import dagster as dg
import torch
from pydantic import Field, create_model

from genai_platform.defs.database import PlatformDuckDB
from genai_platform.defs.datasets import FAMILY_TAG, dataset_stores, family_settings, not_trained_here, partitions_for
from genai_platform.defs.metadata import markdown_table, reuse_record
from genai_platform.defs.resources import ArtifactStore, RunSettings
from genai_platform.defs.torchrun import check_distributable, train_in_processes
from genai_platform.families.registry import Family, families
from genai_platform.fingerprints import sampling_code_version
from genai_platform.models.base import SINGLE_PHASE
from genai_platform.records import ModelVersion
from genai_platform.steps.sampling import sample_or_reuse
from genai_platform.steps.training import train_or_reuse

TRAINING_RETRIES = dg.RetryPolicy(max_retries=2, delay=5)


def training_config_class(family: Family) -> type[dg.Config]:
    """A typed Dagster Config with every setting of the family; empty means the dataset's or profile's value."""
    fields = {name: (kind | None, Field(default=None, description="empty: the datasets-file entry's or the "
                                        "profile's value")) for name, kind in family.setting_types().items()}
    return create_model(f"Train{family.name.title()}Config", __base__=dg.Config, **fields)


def resolve_settings(family: Family, config: dg.Config, settings: RunSettings, dataset_settings: dict):
    """The profile's configs, then the dataset entry's settings for the family, then the run config's; the
    run's seed unless one of them sets it."""
    given = {"seed": settings.seed, **dataset_settings,
             **{k: v for k, v in config.model_dump().items() if v is not None}}
    return family.with_settings(settings.profile, given)


def versions_table(kept: list[ModelVersion], champion: str | None, challenger: str | None) -> dg.MetadataValue:
    """The kept versions, each with its role (champion, challenger)."""
    return markdown_table(("version", "created", "data version", "code version", "serving"), [
        (v.version, f"{v.created_at:%Y-%m-%d %H:%M}", v.data_version[:12], v.code_version,
         ", ".join(role for role, holder in (("champion", champion), ("challenger", challenger))
                   if holder == v.version))
        for v in kept])


def build_family_assets(family: Family, datasets_path: Path | None) -> list[dg.AssetsDefinition]:
    config_class = training_config_class(family)
    upstream = [family.modality.data_asset] + ([f"train_{family.pretrained.family}"] if family.pretrained else [])

    @dg.asset(name=f"train_{family.name}", group_name="training", deps=upstream,
              retry_policy=TRAINING_RETRIES, kinds={"pytorch"}, code_version=family.code_version,
              tags={FAMILY_TAG: family.name},
              description=f"{family.title}{' (experimental)' if family.experimental else ''}: {family.description} "
              "Each training keeps its model as a new version; with the same data, code and config the "
              "family's existing version is re-used instead. With processes > 1 it trains with DDP on that "
              "many processes, started by torchrun through Dagster Pipes.",
              partitions_def=partitions_for(datasets_path))
    def train_family_asset(context: dg.AssetExecutionContext, config: config_class, duckdb: PlatformDuckDB,
                           artifacts: ArtifactStore, run_settings: RunSettings,
                           pipes_client: dg.PipesSubprocessClient):
        if (dataset_settings := family_settings(context, datasets_path, family)) is None:
            return dg.MaterializeResult(metadata={"trained": False, "reason": not_trained_here(context, family.name)})
        duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
        model_config, training_config = resolve_settings(family, config, run_settings, dataset_settings)
        device = run_settings.setup_torch()

        def train_elsewhere(model_config, training_config, data, fingerprint, out_dir, manifest) -> dict:
            check_distributable(family, model_config, training_config, data, device)
            return train_in_processes(
                context, pipes_client, family, model_config, training_config, data, device=run_settings.device,
                threads=torch.get_num_threads(), checkpoint=artifacts.checkpoint_path(family.name),
                run_fingerprint=fingerprint, out_dir=out_dir, manifest=manifest)

        outcome = train_or_reuse(family, model_config, training_config, duckdb, artifacts, context.run_id,
                                 run_settings.profile, device, context.log, train_elsewhere)
        versions = versions_table(outcome.kept, outcome.champion, outcome.version)
        if outcome.reused:  # a version's id is the run that trained it
            return reuse_record(outcome.fingerprint, outcome.version, data_version=outcome.version,
                                version=outcome.version, versions=versions)
        training = outcome.manifest["training"]
        final_losses = {("final_loss" if phase == SINGLE_PHASE else f"final_loss_{phase}"): value
                        for phase, value in training["final_losses"].items()}
        out_dir = artifacts.version_dir(family.name, outcome.version)
        return reuse_record(outcome.fingerprint, None, data_version=outcome.version, **{
            "version": outcome.version, "path": dg.MetadataValue.path(str(out_dir)),
            "steps": training["steps"], "limited_by": training["limited_by"], "passes": round(training["passes"], 3),
            "seconds": round(training["seconds"], 2), "device": training["device"],
            "processes": training_config.processes, **final_losses,
            "resumed_from_step": training["resumed_from_step"] or 0, "parameters": outcome.manifest["parameters"],
            "versions": versions})

    # not in the duckdb_write pool: sampling holds no connection, and the store is one short transaction,
    # which waits for DuckDB's file lock; in the pool, families would also sample one at a time
    @dg.asset(name=f"samples_{family.name}", group_name="training", deps=[train_family_asset],
              code_version=sampling_code_version(type(family.modality).__module__), kinds={"pytorch", "duckdb"}, tags={FAMILY_TAG: family.name},
              description=f"Samples of {family.title}'s challenger version, written to DuckDB for evaluation and "
              "reports; re-used when that version was sampled with the same settings and code before.",
              partitions_def=partitions_for(datasets_path))
    def sample_family(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                      run_settings: RunSettings):
        if family_settings(context, datasets_path, family) is None:
            return dg.MaterializeResult(metadata={"sampled": False, "reason": not_trained_here(context, family.name)})
        duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
        outcome = sample_or_reuse(family, duckdb, artifacts, context.run_id, run_settings.profile, run_settings.seed,
                                  run_settings.setup_torch(), context.log)
        return reuse_record(outcome.fingerprint, outcome.reused_from_run, version=outcome.version,
                            **({} if outcome.count is None else {"samples": outcome.count}),
                            **({"redrawn_versions": ", ".join(outcome.redrawn)} if outcome.redrawn else {}))

    return [train_family_asset, sample_family]


def training_assets(datasets_path: Path | None = None) -> list[dg.AssetsDefinition]:
    """train_<family> and samples_<family> for every registered family (`datasets_path`: the datasets file, whose
    entries may choose families and their settings)."""
    return [asset for family in families() for asset in build_family_assets(family, datasets_path)]
