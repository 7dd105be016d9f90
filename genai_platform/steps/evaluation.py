"""Scoring: the image feature extractor, a modality's evaluation of its families and its metric self-test,
each re-used when its fingerprint (data, samples, settings, code) is the one recorded with it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch

from genai_platform.evaluation.image_scores import (FEATURE_EXTRACTOR_DIR, feature_extractor_fingerprint,
                                                    train_feature_extractor)
from genai_platform.evaluation.profiles import evaluation_profile
from genai_platform.evaluation.self_test_panel import Panel
from genai_platform.families.registry import family_named, load_family
from genai_platform.files import ArtifactPath, write_atomic
from genai_platform.fingerprints import evaluation_fingerprint, package_version
from genai_platform.modalities.base import Contest, EvaluationContext, Modality, PanelSettings
from genai_platform.modalities.image import read_classifier_data
from genai_platform.records import Comparison, MetricRow
from genai_platform.reporting.self_test_section import panel_details_name
from genai_platform.steps.stores import Artifacts, Log, Tables
from genai_platform.store.tables import append_comparisons, append_metrics, dataset_info, version_sample_run
from genai_platform.store.versions import best_version, challenger, champion
from genai_platform.training.fit import MANIFEST_FILE, read_manifest


@dataclass(frozen=True)
class Scored:
    """What a scoring step made or re-used: its fingerprint and the run it re-used (None: made now)."""
    fingerprint: str
    reused_from_run: str | None


@dataclass(frozen=True)
class ExtractorOutcome(Scored):
    manifest: dict | None = None  # of the classifier trained now


@dataclass(frozen=True)
class EvaluationOutcome(Scored):
    rows: list[MetricRow]
    comparisons: list[Comparison]


@dataclass(frozen=True)
class SelfTestOutcome(Scored):
    panel: Panel
    path: ArtifactPath


def feature_extractor_or_reuse(tables: Tables, artifacts: Artifacts, run_id: str, profile: str, device: torch.device,
                               log: Log) -> ExtractorOutcome:
    """The frozen image classifier whose features feed FID: trained on the train split, or re-used when it was
    trained on the same data with the same settings and code."""
    settings = evaluation_profile(profile)
    with tables.read_connection() as con:  # closed before training: an open reader blocks DuckDB's writers
        data = read_classifier_data(con)
    fingerprint = feature_extractor_fingerprint(settings, data.data_version)
    out_dir = artifacts.model_dir(FEATURE_EXTRACTOR_DIR)
    if (out_dir / MANIFEST_FILE).exists() and (earlier := read_manifest(out_dir)).get("fingerprint") == fingerprint:
        log.info("the feature extractor was trained on the same data with the same settings and code; re-using it")
        return ExtractorOutcome(fingerprint, earlier.get("run_id") or "an earlier run")
    manifest = train_feature_extractor(data, settings, device, out_dir,
                                       artifacts.checkpoint_path(FEATURE_EXTRACTOR_DIR), log.info, run_id)
    return ExtractorOutcome(fingerprint, None, manifest)


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
    """The run whose details file (an evaluation's, a self-test's) has this fingerprint; None when there is none."""
    try:
        details = json.loads(details_path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return details["run_id"] if details.get("fingerprint") == fingerprint else None


def evaluate_or_reuse(modality: Modality, members: list[str], tables: Tables, artifacts: Artifacts, run_id: str,
                      profile: str, seed: int, feature_space: str, device: torch.device, log: Log
                      ) -> EvaluationOutcome:
    """Every family of `members` scored beside the references and compared with its earlier versions, appended
    to metrics_history and metric_comparisons under `run_id`, the details kept for the reports; or nothing
    new when an evaluation of the same samples, data, settings and code exists."""
    with tables.read_connection() as con:
        contests = read_contests(con, members)
        data_version = dataset_info(con, modality.name)["data_version"]
        drawn = {family: [version_sample_run(con, modality.name, family, version)
                          for version in (contest.challenger, *contest.baselines)]
                 for family, contest in contests.items()}
    fingerprint = evaluation_fingerprint(
        type(modality).__module__, data_version, {family: [d and d.fingerprint for d in sets] for family, sets in drawn.items()},
        profile, seed, feature_space)
    details_path = artifacts.details_path(modality.name)
    if (earlier := reusable_run(details_path, fingerprint)) is not None:
        log.info(f"the {modality.name} evaluation of run {earlier} scored the same samples, data, settings and code; "
                 "re-using it")
        return EvaluationOutcome(fingerprint, earlier, [], [])
    for family, contest in contests.items():
        log.info(f"{family}: challenger {contest.challenger}, champion {contest.champion or 'none to compare'}"
                 + (f", best version that served {contest.best}" if contest.best else ""))
    with tables.read_connection() as con:
        inputs = modality.read_evaluation_inputs(con, contests)
    evaluation = modality.score(inputs, EvaluationContext(
        families=members, contests=contests,
        load_model=lambda name, version: load_family(family_named(name), artifacts.version_dir(name, version), device),
        model_dir=artifacts.model_dir, profile=evaluation_profile(profile), seed=seed, device=device,
        feature_space=feature_space, log=log.info, watermark_key=artifacts.watermark_key()))
    with tables.transaction() as con:
        dataset = dataset_info(con, modality.name)
        append_metrics(con, run_id, modality.name, dataset["source"], dataset["data_version"], package_version(),
                       evaluation.rows, {family: contest.challenger for family, contest in contests.items()})
        append_comparisons(con, run_id, modality.name, evaluation.comparisons)
    write_atomic(details_path, json.dumps({**evaluation.details.as_dict(), "run_id": run_id,
                                           "fingerprint": fingerprint}, indent=2))
    for r in evaluation.rows:
        log.info(f"{r.subject} {r.metric} = {r.value:.4f} {r.estimate.interval_text()} (n={r.sample_count})")
    return EvaluationOutcome(fingerprint, None, evaluation.rows, evaluation.comparisons)


def self_test_or_reuse(modality: Modality, tables: Tables, artifacts: Artifacts, run_id: str, seed: int,
                       profile: str, feature_space: str, device: torch.device, log: Log) -> SelfTestOutcome:
    """The modality's metric self-test panel on tonight's data, written beside the evaluation details; or the
    panel of the run that ran it on the same data, settings and code."""
    with tables.read_connection() as con:
        data = modality.self_test.read(con)
        data_version = dataset_info(con, modality.name)["data_version"]
    key = artifacts.watermark_key()
    fingerprint = evaluation_fingerprint(type(modality).__module__, data_version, profile, seed, feature_space,
                                         key.fingerprint)
    path = artifacts.details_path(panel_details_name(modality.name))
    earlier = reusable_run(path, fingerprint)
    if earlier is not None:
        panel = Panel.from_dict(json.loads(path.read_text("utf-8")))
        log.info(f"the self-test of run {earlier} ran on the same data, settings and code; re-using it")
    else:
        panel = modality.self_test.run(data, PanelSettings(artifacts.model_dir, device, seed, feature_space, log.info,
                                                              key))
        write_atomic(path, json.dumps({**panel.as_dict(), "run_id": run_id, "fingerprint": fingerprint}, indent=2))
    log.info(panel.summary())
    return SelfTestOutcome(fingerprint, earlier, panel, path)
