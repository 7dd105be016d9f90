"""Training and sampling assets, made from the family registry: train_<family>, samples_<family>."""

import dataclasses

import dagster as dg
from pydantic import Field, create_model

from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.defs.resources import ArtifactStore, RunSettings
from genai_platform.evaluation.profiles import evaluation_profile
from genai_platform.families.registry import FAMILIES, Family, families, load_family, pretrained_config, train_family
from genai_platform.models.base import SINGLE_PHASE
from genai_platform.training.fit import fingerprint, save_trained

TRAINING_RETRIES = dg.RetryPolicy(max_retries=2, delay=5)


def training_config_class(family: Family) -> type[dg.Config]:
    """A typed Dagster Config with every model and training field; empty means the profile's value."""
    model_defaults, training_defaults = family.settings("default")
    fields = {}
    for prefix, defaults in (("model", model_defaults), ("training", training_defaults)):
        for f in dataclasses.fields(defaults):
            kind = type(getattr(defaults, f.name))
            if kind in (int, float, str, bool):  # nested settings (a pretrained model's config) are not user knobs
                fields[f.name] = (kind | None, Field(default=None, description=f"{prefix} setting; empty: the profile's value"))
    return create_model(f"Train{family.name.title()}Config", __base__=dg.Config, **fields)


def resolve_settings(family: Family, config: dg.Config, settings: RunSettings):
    model_config, training_config = family.settings(settings.profile)
    given = {k: v for k, v in config.model_dump().items() if v is not None}
    model_names = {f.name for f in dataclasses.fields(model_config)}
    model_config = dataclasses.replace(model_config, **{k: v for k, v in given.items() if k in model_names})
    training_given = {k: v for k, v in given.items() if k not in model_names}
    training_given.setdefault("seed", settings.seed)
    return model_config, dataclasses.replace(training_config, **training_given)


def build_family_assets(family: Family) -> list[dg.AssetsDefinition]:
    config_class = training_config_class(family)
    upstream = [family.modality.data_asset] + ([f"train_{family.pretrained.family}"] if family.pretrained else [])

    @dg.asset(name=f"train_{family.name}", group_name="training", deps=upstream,
              retry_policy=TRAINING_RETRIES, kinds={"pytorch"},
              description=f"{family.title}{' (experimental)' if family.experimental else ''}: {family.description}")
    def train_family_asset(context: dg.AssetExecutionContext, config: config_class, duckdb: PlatformDuckDB,
                           artifacts: ArtifactStore, run_settings: RunSettings):
        model_config, training_config = resolve_settings(family, config, run_settings)
        device = run_settings.setup_torch()
        with duckdb.read_connection() as con:
            data = family.modality.load_training_data(con)
        pretrained, lineage = None, None
        if family.pretrained:
            base = family.pretrained.family
            pretrained, pretrained_manifest = load_family(FAMILIES[base], artifacts.model_dir(base), device)
            if pretrained_manifest["data_version"] != data.version:
                raise RuntimeError(f"train_{base} was trained on data version {pretrained_manifest['data_version']}, "
                                   f"the data is now {data.version}: materialize train_{base} first")
            lineage = {"family": base, "run_id": pretrained_manifest["run_id"]}
        model_config = pretrained_config(family, model_config, pretrained)

        context.log.info(f"training {family.name} on {device} for {training_config.steps} steps "
                         f"({run_settings.profile} profile, seed {training_config.seed})")
        run_fingerprint = fingerprint(family.name, model_config, training_config, data.version, lineage)
        model, result = train_family(family, model_config, training_config, data, device,
                                     artifacts.checkpoint_path(family.name), run_fingerprint, context.log.info,
                                     pretrained)
        manifest_path = save_trained(model, artifacts.model_dir(family.name), {
            "family": family.name, "modality": family.modality.name, "profile": run_settings.profile,
            "model_config": model_config, "training_config": training_config, "data": data.description,
            "data_version": data.version, "run_id": context.run_id, "pretrained": lineage}, result)
        final_losses = {("final_loss" if phase == SINGLE_PHASE else f"final_loss_{phase}"): value
                        for phase, value in result.final_losses.items()}
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(manifest_path.parent)),
            "steps": result.steps, "seconds": round(result.seconds, 2), "device": result.device,
            **final_losses, "resumed_from_step": result.resumed_from_step or 0,
            "parameters": sum(p.numel() for p in model.parameters()),
        })

    @dg.asset(name=f"samples_{family.name}", group_name="training", deps=[train_family_asset],
              pool=DUCKDB_WRITE_POOL, kinds={"pytorch", "duckdb"},
              description=f"Samples of {family.title}, written to DuckDB for evaluation and reports.")
    def sample_family(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                      run_settings: RunSettings):
        device = run_settings.setup_torch()
        model, manifest = load_family(family, artifacts.model_dir(family.name), device)
        with duckdb.read_connection() as con:
            inputs = family.modality.read_sampling_inputs(con)
        samples = family.modality.draw_samples(model, manifest, inputs, evaluation_profile(run_settings.profile),
                                               run_settings.seed)
        with duckdb.transaction() as con:
            family.modality.store_samples(con, family.name, context.run_id, samples)
        context.log.info(f"wrote {len(samples)} samples of {family.name}")
        return dg.MaterializeResult(metadata={"samples": len(samples)})

    return [train_family_asset, sample_family]


def training_assets() -> list[dg.AssetsDefinition]:
    """train_<family> and samples_<family> for every registered family."""
    return [asset for family in families() for asset in build_family_assets(family)]
