"""Drawing a family's samples for the evaluation: those of its challenger version, or the ones that version
already drew with the same settings, count and sampling code.

How many: the profile's count, grown (doubled, up to the profile's max_sample_factor) when the last night's
paired intervals of the family's sampled gate metrics were wider than the gate's stated resolution
(verdicts.gate.samples_to_resolve). The champion and the best version that served are then drawn again at
the same count, with the same seed, so the paired comparison uses every sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from genai_platform.errors import DamagedArtifact
from genai_platform.evaluation.profiles import EvaluationProfile, evaluation_profile
from genai_platform.families.registry import Family, load_family
from genai_platform.fingerprints import sample_fingerprint
from genai_platform.steps.evaluation import read_contests
from genai_platform.steps.stores import Artifacts, Log, Tables
from genai_platform.store.tables import latest_version_comparisons, version_sample_run
from genai_platform.verdicts.gate import Gate, grown_sample_count, samples_to_resolve


@dataclass(frozen=True)
class SamplingOutcome:
    version: str  # the challenger version sampled
    fingerprint: str
    reused_from_run: str | None  # the run whose samples are re-used; None: drawn now
    count: int | None  # samples drawn now (of the challenger)
    redrawn: tuple[str, ...] = ()  # earlier versions drawn again at the challenger's count


def sample_count(family: Family, profile: EvaluationProfile, con, log: Log) -> int | None:
    """Samples to draw per version: the profile's, doubled until last night's intervals would reach the gate's
    resolution, at most the profile's max_sample_factor times; None when the modality's count is fixed."""
    modality = family.modality
    count = modality.sample_count(profile)
    if count is None or not modality.sampled_gate_metrics:
        return count
    last = latest_version_comparisons(con, modality.name, family.name)
    wanted = samples_to_resolve(Gate.of(family.gate_metrics), last, modality.sampled_gate_metrics)
    grown = grown_sample_count(count, wanted, profile.max_sample_factor)
    if grown > count:
        log.info(f"{family.name}: last night's gate intervals need about {wanted:,} samples per set to reach the "
                 f"gate's resolution; drawing {grown:,} (at most {profile.max_sample_factor}x {count:,})")
    return grown


def sample_or_reuse(family: Family, tables: Tables, artifacts: Artifacts, run_id: str, profile: str, seed: int,
                    device: torch.device, log: Log) -> SamplingOutcome:
    """The samples of `family`'s challenger stored in the tables under run `run_id`, unless that version was
    sampled with the same profile, count, seed and sampling code before; with a grown count, those of its
    earlier versions too."""
    modality, settings = family.modality, evaluation_profile(profile)
    base = modality.sample_count(settings)
    with tables.read_connection() as con:
        contest = read_contests(con, [family.name])[family.name]
        inputs = modality.read_sampling_inputs(con)
        # nothing to compare (the challenger serves): no reason to grow the count
        count = sample_count(family, settings, con, log) if contest.baselines else base
        drawn = {version: version_sample_run(con, modality.name, family.name, version)
                 for version in (contest.challenger, *contest.baselines)}
    settings = modality.with_sample_count(settings, count)
    key = artifacts.watermark_key()
    grown = count is not None and count > base
    outcome, redrawn = None, []
    for version in (contest.challenger, *(contest.baselines if grown else ())):
        fingerprint = sample_fingerprint(version, profile, seed, type(modality).__module__, count, key.fingerprint)
        # with nothing to compare, a set drawn at any count the profile allows will do
        accepted = {fingerprint} if contest.baselines or base is None else {
            sample_fingerprint(version, profile, seed, type(modality).__module__, base * 2 ** k, key.fingerprint)
            for k in range(int(math.log2(settings.max_sample_factor)) + 1)}
        if drawn[version] is not None and drawn[version].fingerprint in accepted:
            log.info(f"{family.name}: re-using the samples of version {version} drawn by run {drawn[version].run_id}")
            if version == contest.challenger:
                outcome = SamplingOutcome(version, drawn[version].fingerprint, drawn[version].run_id, None)
            continue
        try:
            model, manifest = load_family(family, artifacts.version_dir(family.name, version), device)
        except (FileNotFoundError, DamagedArtifact) as error:
            if version == contest.challenger:
                raise
            log.warning(f"{family.name} version {version} cannot be loaded, so it is not drawn again: {error}")
            continue
        samples = modality.draw_samples(model, manifest, inputs, settings, seed, key)
        # an earlier version's set is kept under its own id: the tables hold one set per family and id
        set_id = run_id if version == contest.challenger else f"{run_id}/{version}"
        with tables.transaction() as con:
            modality.store_samples(con, family.name, set_id, version, fingerprint, samples)
        log.info(f"wrote {len(samples)} samples of {family.name} version {version}")
        if version == contest.challenger:
            outcome = SamplingOutcome(version, fingerprint, None, len(samples))
        else:
            redrawn.append(version)
    return SamplingOutcome(outcome.version, outcome.fingerprint, outcome.reused_from_run, outcome.count,
                           tuple(redrawn))
