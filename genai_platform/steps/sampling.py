"""Drawing a family's samples for the evaluation: those of its challenger version, or the ones that version
already drew with the same settings and sampling code."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from genai_platform.evaluation.profiles import evaluation_profile
from genai_platform.families.registry import Family, load_family
from genai_platform.fingerprints import sample_fingerprint
from genai_platform.steps.stores import Artifacts, Log, Tables
from genai_platform.store.tables import version_sample_run
from genai_platform.store.versions import challenger


@dataclass(frozen=True)
class SamplingOutcome:
    version: str  # the challenger version sampled
    fingerprint: str
    reused_from_run: str | None  # the run whose samples are re-used; None: drawn now
    count: int | None  # samples drawn now


def sample_or_reuse(family: Family, tables: Tables, artifacts: Artifacts, run_id: str, profile: str, seed: int,
                    device: torch.device, log: Log) -> SamplingOutcome:
    """The samples of `family`'s challenger stored in the tables under run `run_id`, unless that version was
    sampled with the same profile, seed and sampling code before."""
    modality = family.modality
    with tables.read_connection() as con:
        version = challenger(con, family.name)
        if version is None:
            raise LookupError(f"{family.name} has no trained version; materialize train_{family.name} first")
        inputs = modality.read_sampling_inputs(con)
        drawn = version_sample_run(con, modality.name, family.name, version)
    fingerprint = sample_fingerprint(version, profile, seed, type(modality).__module__)
    if drawn is not None and drawn.fingerprint == fingerprint:
        log.info(f"{family.name}: re-using the samples of version {version} drawn by run {drawn.run_id}")
        return SamplingOutcome(version, fingerprint, drawn.run_id, None)
    model, manifest = load_family(family, artifacts.version_dir(family.name, version), device)
    samples = modality.draw_samples(model, manifest, inputs, evaluation_profile(profile), seed)
    with tables.transaction() as con:
        modality.store_samples(con, family.name, run_id, version, fingerprint, samples)
    log.info(f"wrote {len(samples)} samples of {family.name} version {version}")
    return SamplingOutcome(version, fingerprint, None, len(samples))
