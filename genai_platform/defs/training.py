"""Training and sampling assets, made from the family registry: train_<family>, samples_<family>."""

import dataclasses

import dagster as dg
import torch
from pydantic import Field, create_model

from genai_platform.evaluation.generation import continuation_prompts, image_samples, text_samples
from genai_platform.families.registry import FAMILIES, Family, families
from genai_platform.models.vocab import CharVocabulary
from genai_platform.evaluation.profiles import evaluation_profile
from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.defs.resources import ArtifactStore, RunSettings
from genai_platform.store.tables import (dataset_info, read_char_vocabulary, read_documents, read_image_split,
                                  read_sentences, replace_image_samples, replace_text_samples)
from genai_platform.training.fit import fingerprint, fit, load_family, save_trained
from genai_platform.training.loop import SINGLE_PHASE

DATA_ASSET = {"image": "images", "text": "text_corpus"}
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
    model_config, training_config = family.settings(settings.checked_profile())
    given = {k: v for k, v in config.model_dump().items() if v is not None}
    model_names = {f.name for f in dataclasses.fields(model_config)}
    model_config = dataclasses.replace(model_config, **{k: v for k, v in given.items() if k in model_names})
    training_given = {k: v for k, v in given.items() if k not in model_names}
    training_given.setdefault("seed", settings.seed)
    return model_config, dataclasses.replace(training_config, **training_given)


def load_training_data(con, modality: str) -> tuple[dict, torch.Tensor, str]:
    """(data description for the manifest, training tensor, data version)."""
    version = dataset_info(con, modality)["data_version"]
    if modality == "image":
        train = read_image_split(con, "train")
        n, c, h, w = train.pixels.shape
        return {"shape": {"channels": c, "height": h, "width": w}, "count": n}, torch.from_numpy(train.pixels), version
    vocab = CharVocabulary(read_char_vocabulary(con))
    tokens = vocab.encode_documents(read_documents(con, "train"))
    return {"vocabulary": vocab.characters}, tokens, version


def build_family_assets(family: Family) -> list[dg.AssetsDefinition]:
    config_class = training_config_class(family)
    upstream = [DATA_ASSET[family.modality]] + ([f"train_{family.pretrained}"] if family.pretrained else [])

    @dg.asset(name=f"train_{family.name}", group_name="training", deps=upstream,
              retry_policy=TRAINING_RETRIES, kinds={"pytorch"},
              description=f"{family.title}{' (experimental)' if family.experimental else ''}: {family.description}")
    def train_family(context: dg.AssetExecutionContext, config: config_class, duckdb: PlatformDuckDB,
                     artifacts: ArtifactStore, run_settings: RunSettings):
        model_config, training_config = resolve_settings(family, config, run_settings)
        device = run_settings.setup_torch()
        with duckdb.read_connection() as con:
            data, tensor, data_version = load_training_data(con, family.modality)
        tensor = tensor.to(device)
        pretrained, lineage = None, None
        if family.pretrained:
            pretrained, pretrained_manifest = load_family(FAMILIES[family.pretrained],
                                                          artifacts.model_dir(family.pretrained), device)
            if pretrained_manifest["data_version"] != data_version:
                raise RuntimeError(f"train_{family.pretrained} was trained on data version "
                                   f"{pretrained_manifest['data_version']}, the data is now {data_version}: "
                                   f"materialize train_{family.pretrained} first")
            # the pretrained family's config is this family's generator
            model_config = dataclasses.replace(model_config, generator=pretrained.config)
            lineage = {"family": family.pretrained, "run_id": pretrained_manifest["run_id"]}

        def build():
            model = family.build(model_config, data)
            if hasattr(model, "initialize"):  # data-dependent start (a GP-LVM's PCA latents)
                model.initialize(tensor)
            if pretrained is not None:
                model.initialize_from(pretrained)
            return model

        context.log.info(f"training {family.name} on {device} for {training_config.steps} steps "
                         f"({run_settings.profile} profile, seed {training_config.seed})")
        run_fingerprint = fingerprint(family.name, model_config, training_config, data_version, lineage)
        model, result = fit(build, family.batch_sampler(tensor, model_config), training_config, device,
                            artifacts.checkpoint_path(family.name), run_fingerprint, context.log.info)
        manifest_path = save_trained(model, artifacts.model_dir(family.name), {
            "family": family.name, "modality": family.modality, "profile": run_settings.profile,
            "model_config": model_config, "training_config": training_config, "data": data,
            "data_version": data_version, "run_id": context.run_id, "pretrained": lineage}, result)
        final_losses = {("final_loss" if phase == SINGLE_PHASE else f"final_loss_{phase}"): value
                        for phase, value in result.final_losses.items()}
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(manifest_path.parent)),
            "steps": result.steps, "seconds": round(result.seconds, 2), "device": result.device,
            **final_losses, "resumed_from_step": result.resumed_from_step or 0,
            "parameters": sum(p.numel() for p in model.parameters()),
        })

    @dg.asset(name=f"samples_{family.name}", group_name="training", deps=[train_family],
              pool=DUCKDB_WRITE_POOL, kinds={"pytorch", "duckdb"},
              description=f"Samples of {family.title}, written to DuckDB for evaluation and reports.")
    def sample_family(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                      run_settings: RunSettings):
        device = run_settings.setup_torch()
        model, manifest = load_family(family, artifacts.model_dir(family.name), device)
        profile = evaluation_profile(run_settings.checked_profile())
        if family.modality == "image":
            samples = image_samples(model, profile.image_samples, run_settings.seed)
            with duckdb.transaction() as con:
                replace_image_samples(con, family.name, context.run_id, samples)
            count = len(samples)
        else:
            vocab = CharVocabulary(manifest["data"]["vocabulary"])
            with duckdb.read_connection() as con:
                prompts = continuation_prompts(read_sentences(con, "test"), profile.prompts)
            rows = text_samples(model, vocab, prompts, profile.free_samples, profile.free_sample_chars,
                                run_settings.seed)
            with duckdb.transaction() as con:
                replace_text_samples(con, family.name, context.run_id, rows)
            count = len(rows)
        context.log.info(f"wrote {count} samples of {family.name}")
        return dg.MaterializeResult(metadata={"samples": count})

    return [train_family, sample_family]


training_assets = [asset for family in families() for asset in build_family_assets(family)]
