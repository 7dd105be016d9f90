"""Evaluation of every family of a modality, as rows for metrics_history plus plot details.

Image families are compared in the frozen classifier's feature space against the
train split, at one sample size N = the held-out (val + test) count, beside the
real-vs-real floor (held-out vs train) and the noise ceiling (uniform noise vs train).
"""

from __future__ import annotations

import numpy as np
import torch

from genai_platform.metrics.bias import demographic_representation, gender_word_lists
from genai_platform.metrics.bleu import continuation_bleu
from genai_platform.metrics.distributions import class_histogram, total_variation
from genai_platform.metrics.fid import fid_from_features
from genai_platform.metrics.language import bits_per_character, unigram_bits_per_character
from genai_platform.models.vocab import CharVocabulary
from genai_platform.store import MetricRow

FLOOR, CEILING, TRAINING_DATA, FEATURE_EXTRACTOR = "real held-out (floor)", "uniform noise (ceiling)", "training data", "feature extractor"
PIXEL_BASELINE = "per-pixel Gaussian (baseline)"
UNIGRAM_BASELINE = "unigram (baseline)"


def pixel_gaussian_samples(train_pixels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """The naive image baseline: each pixel drawn independently from N(train mean, train sd), clipped."""
    rng = np.random.default_rng(seed)
    mean, sd = train_pixels.mean(axis=0), train_pixels.std(axis=0)
    return np.clip(rng.normal(mean, sd, size=(n, *train_pixels.shape[1:])), 0, 1).astype(np.float32)


def classifier_accuracy(classifier, images: np.ndarray, labels: np.ndarray) -> float:
    _, predicted = classifier.embed(torch.from_numpy(images))
    return float((predicted.numpy() == labels).mean())


def evaluate_images(classifier, num_classes: int, train, heldout, samples: dict[str, np.ndarray],
                    seed: int) -> tuple[list[MetricRow], dict]:
    """FID rows at one sample size n (held-out count, or fewer samples if a family has fewer)."""
    n = min([len(heldout.pixels)] + [len(images) for images in samples.values()])
    if n < 2:
        raise ValueError(f"FID needs at least 2 images per set; the smallest set has {n}")
    train_features, _ = classifier.embed(torch.from_numpy(train.pixels))
    rows, details = [], {"sample_count": n, "class_histograms": {}}
    heldout_features, _ = classifier.embed(torch.from_numpy(heldout.pixels[:n]))
    rows.append(MetricRow(FLOOR, "fid", fid_from_features(heldout_features, train_features), n))
    noise = np.random.default_rng(seed).random((n, *heldout.pixels.shape[1:]), dtype=np.float32)
    noise_features, noise_classes = classifier.embed(torch.from_numpy(noise))
    rows.append(MetricRow(CEILING, "fid", fid_from_features(noise_features, train_features), n))
    samples = {PIXEL_BASELINE: pixel_gaussian_samples(train.pixels, n, seed), **samples}

    reference = None
    if train.labels is not None and num_classes > 1:
        reference = class_histogram(train.labels, num_classes)
        details["class_histograms"][TRAINING_DATA] = reference.tolist()
        rows.append(MetricRow(CEILING, "class_tv_distance",
                              total_variation(class_histogram(noise_classes.numpy(), num_classes), reference), n))
    for family, images in samples.items():
        features, predicted = classifier.embed(torch.from_numpy(images))
        rows.append(MetricRow(family, "fid", fid_from_features(features[:n], train_features), n))
        if reference is not None:
            histogram = class_histogram(predicted.numpy(), num_classes)
            details["class_histograms"][family] = histogram.tolist()
            rows.append(MetricRow(family, "class_tv_distance", total_variation(histogram, reference), len(images)))
    return rows, details


def unigram_baseline_rows(vocab: CharVocabulary, train_documents: list[str], test_documents: list[str]) -> list[MetricRow]:
    test = vocab.encode_documents(test_documents).numpy()
    bpc = unigram_bits_per_character(vocab.encode_documents(train_documents).numpy(), test, len(vocab))
    return [MetricRow(UNIGRAM_BASELINE, "bits_per_character", bpc, test.size - 1)]


def evaluate_text_family(family: str, model, vocab: CharVocabulary, test_documents: list[str],
                         samples: list[dict]) -> tuple[list[MetricRow], dict]:
    tokens = vocab.encode_documents(test_documents)
    predicted = tokens.numel() - 1
    rows = [MetricRow(family, "bits_per_character",
                      bits_per_character(model.negative_log_likelihood(tokens), predicted), predicted)]
    continuations = [s for s in samples if s["kind"] == "continuation"]
    bleu = continuation_bleu([s["text"] for s in continuations], [s["reference"] for s in continuations])
    rows.append(MetricRow(family, "continuation_bleu", bleu.score, bleu.count))
    free = [s["text"] for s in samples if s["kind"] == "free"]
    rows += representation_rows(family, free)
    return rows, {"bleu_signature": bleu.signature}


def representation_rows(family: str, texts: list[str]) -> list[MetricRow]:
    groups, _ = gender_word_lists()
    bias = demographic_representation(texts, groups)
    rows = [MetricRow(family, f"gender_mentions_{group}", count, len(texts)) for group, count in bias.counts.items()]
    if bias.tv_from_uniform is not None:
        rows.append(MetricRow(family, "gender_representation_tv", bias.tv_from_uniform, bias.mentions))
    return rows


def add_amplification(rows: list[MetricRow]) -> list[MetricRow]:
    """Each family's representation TV divided by the training text's: > 1 amplifies the skew."""
    tv = {r.family: r for r in rows if r.metric == "gender_representation_tv"}
    base = tv.get(TRAINING_DATA)
    extra = []
    if base is not None and base.value > 0:
        for family, row in tv.items():
            if family != TRAINING_DATA:
                extra.append(MetricRow(family, "gender_bias_amplification", row.value / base.value, row.sample_count))
    return rows + extra
