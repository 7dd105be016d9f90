"""Training a family, or re-using its version: a new model version when the data, code or config changed,
else the family's existing version (unless its files are damaged)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from genai_platform.families.registry import Family, family_named, load_family, pretrained_config, train_family
from genai_platform.fingerprints import training_fingerprint
from genai_platform.records import ModelVersion
from genai_platform.steps.stores import Artifacts, Log, Tables
from genai_platform.store.tables import dataset_info
from genai_platform.store.versions import champion as champion_of
from genai_platform.store.versions import challenger, choose_version, record_version, version_by_fingerprint, versions
from genai_platform.training.fit import damage, save_trained

# trains on several processes and returns the kept manifest: (model config, training config, data, fingerprint,
# out_dir, manifest) -> manifest; the Dagster layer starts torchrun through Pipes
TrainElsewhere = Callable[..., dict]


@dataclass(frozen=True)
class TrainingOutcome:
    version: str  # the version made, or re-used
    reused: bool
    fingerprint: str
    kept: list[ModelVersion]  # every kept version of the family afterwards
    champion: str | None
    manifest: dict | None = None  # of the version made (None: re-used)


def train_or_reuse(family: Family, model_config, training_config, tables: Tables, artifacts: Artifacts, run_id: str,
                   profile: str, device: torch.device, log: Log, train_elsewhere: TrainElsewhere | None = None
                   ) -> TrainingOutcome:
    """`family`'s model for run `run_id`: its existing version when one has the same data, code, config and
    pretrained model (and is intact), else a new version trained with the one loop (on `device`, or on
    `training_config.processes` processes through `train_elsewhere`), kept under the run's id."""
    with tables.read_connection() as con:
        data = family.modality.load_training_data(con)
        dataset = dataset_info(con, family.modality.name)["source"]
        base_version = challenger(con, family.pretrained.family) if family.pretrained else None
    pretrained, lineage = None, None
    if family.pretrained:
        base = family.pretrained.family
        if base_version is None:
            raise RuntimeError(f"{family.name} starts from a trained {base} model and there is none: "
                               f"materialize train_{base} first")
        pretrained, pretrained_manifest = load_family(family_named(base), artifacts.version_dir(base, base_version),
                                                      device)
        if pretrained_manifest["data_version"] != data.version:
            raise RuntimeError(f"train_{base} was trained on data version {pretrained_manifest['data_version']}, "
                               f"the data is now {data.version}: materialize train_{base} first")
        lineage = {"family": base, "version": base_version}
    model_config = pretrained_config(family, model_config, pretrained)
    code = family.code_version
    fingerprint = training_fingerprint(family.name, model_config, training_config, data.version, code, lineage)

    with tables.read_connection() as con:
        existing = version_by_fingerprint(con, family.name, fingerprint)
    if existing is not None and (problem := damage(artifacts.version_dir(family.name, existing))):
        log.error(f"{family.name}: version {existing} has the same data, code and config but is damaged "
                  f"({problem}); training a new version instead of re-using it")
    elif existing is not None:
        with tables.transaction() as con:
            choose_version(con, family.name, existing)
            kept, champion = versions(con, family.name), champion_of(con, family.name)
        log.info(f"{family.name}: version {existing} has the same data, code and config; re-using it, nothing to train")
        return TrainingOutcome(existing, True, fingerprint, kept, champion)

    out_dir = artifacts.version_dir(family.name, run_id)
    manifest = {
        "family": family.name, "modality": family.modality.name, "profile": profile,
        "model_config": model_config, "training_config": training_config, "data": data.description,
        "data_version": data.version, "run_id": run_id, "version": run_id,
        "code_version": code, "fingerprint": fingerprint, "pretrained": lineage}
    if training_config.processes > 1:
        if train_elsewhere is None:
            raise ValueError(f"{family.name}: processes = {training_config.processes} needs a distributed launcher")
        log.info(f"training {family.name} on {training_config.processes} processes ({profile} profile, seed "
                 f"{training_config.seed})")
        manifest = train_elsewhere(model_config, training_config, data, fingerprint, out_dir, manifest)
    else:
        log.info(f"training {family.name} on {device} ({profile} profile, seed {training_config.seed})")
        model, result = train_family(family, model_config, training_config, data, device,
                                     artifacts.checkpoint_path(family.name), fingerprint, log.info, pretrained)
        manifest = save_trained(model, out_dir, manifest, result)
    with tables.transaction() as con:
        record_version(con, ModelVersion(
            family.name, family.modality.name, run_id, None, None, dataset, data.version, code, fingerprint,
            {"model": model_config, "training": training_config}, str(out_dir)))
        kept, champion = versions(con, family.name), champion_of(con, family.name)
    log.info(f"{family.name}: kept as version {run_id} in {out_dir}")
    return TrainingOutcome(run_id, False, fingerprint, kept, champion, manifest)
