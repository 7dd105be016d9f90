"""Evaluation of every family of a modality, as rows for metrics_history plus plot details.

Image families are compared in the frozen classifier's feature space against the
train split, at one sample size N = the held-out (val + test) count, beside the
real-vs-real floor (held-out vs train), the noise ceiling (uniform noise vs train) and
the naive per-pixel Gaussian baseline. Every estimate carries its sample size and a
bootstrap interval (see genai_platform.metrics.intervals).
"""

from __future__ import annotations

import math
import re

import numpy as np
import torch

from genai_platform.evaluation.generation import (extraction_pairs, free_documents, greedy_continuations,
                                       sampled_continuations)
from genai_platform.metrics.bias import (demographic_representation, gap_prompts, gender_word_lists, sentiment,
                                         stereotypical_association)
from genai_platform.metrics.catalog import HELDOUT, NOISE, PIXEL_GAUSSIAN, REFERENCES, TRAINING_DATA, UNIGRAM
from genai_platform.metrics.bleu import bleu_scores, continuation_bleu, self_bleu_scores, tokenize
from genai_platform.metrics.distributions import (class_histogram, low_confidence, missing_modes, normalized_entropy,
                                                  total_variation)
from genai_platform.metrics.fid import fid_estimate, fid_from_features, kid_estimate
from genai_platform.metrics.intervals import Estimate, bootstrap, difference_estimate, mean_estimate, ratio_estimate
from genai_platform.metrics.language import distinct_n, unigram_bits_per_character
from genai_platform.metrics.manifold import RealManifold
from genai_platform.metrics.memorization import (copy_rate, extraction_rate, nearest_training_neighbours,
                                                 training_ngram_overlap)
from genai_platform.models.vocab import CharVocabulary
from genai_platform.records import MetricRow

CLOSEST_PAIRS = 8  # sample/training pairs with the smallest d1/d2 kept for the report's grid
MIN_PER_CLASS_FID = 10
BLEU_ORDERS = (2, 3, 4, 5)
SWEEP_TEMPERATURES = (0.5, 0.75, 1.0, 1.25)
SWEEP_BLEU = 3
GAP_CHARS = 60
EXTRACTION_PREFIX, EXTRACTION_TARGET = 64, 32
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")


def with_roles(rows: list[MetricRow]) -> list[MetricRow]:
    """The rows with the role of their subject: a reference key's role from the catalog, else "model"."""
    for row in rows:
        row.role = REFERENCES[row.subject].role if row.subject in REFERENCES else "model"
    return rows


def pixel_gaussian_samples(train_pixels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """The naive image baseline: each pixel drawn independently from N(train mean, train sd), clipped."""
    rng = np.random.default_rng(seed)
    mean, sd = train_pixels.mean(axis=0), train_pixels.std(axis=0)
    return np.clip(rng.normal(mean, sd, size=(n, *train_pixels.shape[1:])), 0, 1).astype(np.float32)


def classifier_accuracy(classifier, images: np.ndarray, labels: np.ndarray) -> float:
    _, probabilities = classifier.embed(torch.from_numpy(images))
    return float((probabilities.argmax(axis=1) == labels).mean())


def _class_rows(name: str, probabilities: np.ndarray, features: np.ndarray, train_features: np.ndarray,
                train_labels: np.ndarray, num_classes: int, seed: int, suffix: str) -> tuple[list[MetricRow], dict]:
    predicted = probabilities.argmax(axis=1)
    n = len(predicted)
    reference = class_histogram(train_labels, num_classes)
    histogram = class_histogram(predicted, num_classes)
    tv = lambda idx: total_variation(class_histogram(predicted[idx], num_classes), reference)  # noqa: E731
    rows = [MetricRow.of(name, "class_tv_distance", bootstrap(tv, n, seed)),
            MetricRow(name, "class_tv_uniform", total_variation(histogram, np.ones(num_classes)), n),
            MetricRow(name, "class_entropy", normalized_entropy(histogram), n),
            MetricRow(name, "missing_modes", len(missing_modes(histogram, reference)), n),
            MetricRow.of(name, "low_confidence_rate", mean_estimate(low_confidence(probabilities), seed))]
    per_class = {}
    for c in range(num_classes):
        mine, real = features[predicted == c], train_features[train_labels == c]
        if len(mine) >= MIN_PER_CLASS_FID and len(real) >= MIN_PER_CLASS_FID:
            per_class[c] = fid_from_features(mine, real)
    if per_class:
        rows.append(MetricRow(name, f"worst_class_fid{suffix}", max(per_class.values()), n))
    return rows, {"histogram": histogram.tolist(), "per_class_fid": per_class,
                  "missing_modes": missing_modes(histogram, reference)}


def evaluate_images(classifier, num_classes: int, train, heldout, samples: dict[str, np.ndarray],
                    seed: int, feature_extractor=None) -> tuple[list[MetricRow], dict]:
    """Rows at one sample size n (held-out count, or fewer samples if a family has fewer) for the
    distribution metrics; class and copy metrics over every sample.

    Class metrics always use the classifier. A `feature_extractor` (a callable from images to
    features with a `name`, e.g. InceptionFeatures) replaces the classifier's features for the
    distribution metrics, which are then recorded as `<metric>_<name>`: values in different feature
    spaces are not comparable, so they must not share a history.
    """
    n = min([len(heldout.pixels)] + [len(images) for images in samples.values()])
    if n < 4:
        raise ValueError(f"image evaluation needs at least 4 images per set; the smallest set has {n}")
    suffix = "" if feature_extractor is None else f"_{feature_extractor.name}"

    def embed(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features, probabilities = classifier.embed(torch.from_numpy(images))
        return (features if feature_extractor is None else feature_extractor(images)), probabilities

    train_features, _ = embed(train.pixels)
    noise = np.random.default_rng(seed).random((n, *heldout.pixels.shape[1:]), dtype=np.float32)
    sets = {HELDOUT: heldout.pixels[:n], NOISE: noise, PIXEL_GAUSSIAN: pixel_gaussian_samples(train.pixels, n, seed),
            **samples}
    real_manifold = RealManifold(train_features)
    labelled = train.labels is not None and num_classes > 1
    rows, details = [], {"sample_count": n, "feature_extractor": feature_extractor.name if feature_extractor else "classifier",
                         "class_histograms": {}, "per_class_fid": {}, "missing_modes": {},
                         "closest_pairs": {}}
    if labelled:
        details["class_histograms"][TRAINING_DATA] = class_histogram(train.labels, num_classes).tolist()
    for name, images in sets.items():
        features, probabilities = embed(images)
        rows.append(MetricRow.of(name, f"fid{suffix}", fid_estimate(features[:n], train_features, seed)))
        rows.append(MetricRow.of(name, f"kid{suffix}", kid_estimate(features[:n], train_features, seed)))
        rows += [MetricRow.of(name, metric + suffix, estimate)
                 for metric, estimate in real_manifold.metrics(features[:n], seed).items()]
        neighbours = nearest_training_neighbours(images, train.pixels)
        rows.append(MetricRow.of(name, "copy_rate", copy_rate(neighbours, seed)))
        closest = np.argsort(neighbours.ratio)[:CLOSEST_PAIRS]
        details["closest_pairs"][name] = [{"sample": int(i), "train": int(neighbours.nearest[i]),
                                           "ratio": float(neighbours.ratio[i])} for i in closest]
        if labelled:
            class_rows, class_details = _class_rows(name, probabilities, features, train_features, train.labels,
                                                    num_classes, seed, suffix)
            rows += class_rows
            details["class_histograms"][name] = class_details["histogram"]
            details["per_class_fid"][name] = class_details["per_class_fid"]
            details["missing_modes"][name] = class_details["missing_modes"]
    return with_roles(rows), details


def unigram_baseline_rows(vocab: CharVocabulary, train_documents: list[str], test_documents: list[str]) -> list[MetricRow]:
    test = vocab.encode_documents(test_documents).numpy()
    bpc = unigram_bits_per_character(vocab.encode_documents(train_documents).numpy(), test, len(vocab))
    return with_roles([MetricRow(UNIGRAM, "bits_per_character", bpc, test.size - 1)])


def document_bits_per_character(model, vocab: CharVocabulary, documents: list[str], seed: int) -> Estimate:
    """Bits per character over the documents, each scored from its own start; interval over documents."""
    nats, characters = [], []
    for document in documents:
        ids = vocab.encode_documents([document])
        nats.append(model.negative_log_likelihood(ids))
        characters.append(ids.numel() - 1)
    per_character = ratio_estimate(nats, characters, seed)  # nats
    to_bits = lambda v: None if v is None else v / math.log(2)  # noqa: E731
    return Estimate(to_bits(per_character.value), per_character.count, to_bits(per_character.ci_low),
                    to_bits(per_character.ci_high))


def sentence_tokens(documents: list[str]) -> list[list[str]]:
    """Word tokens of every sentence of the documents (split after . ! ?), empty ones dropped."""
    tokens = (tokenize(sentence) for document in documents for sentence in SENTENCE_SPLIT.split(document))
    return [t for t in tokens if t]


def quality_diversity(name: str, documents: list[str], references: list[list[str]], seed: int) -> list[MetricRow]:
    """Texygen BLEU-2..5 against the test sentences, Self-BLEU-2..5, distinct-2, of sampled documents."""
    sentences = sentence_tokens(documents)
    if not sentences:
        return []
    rows = [MetricRow.of(name, f"bleu_{n}", mean_estimate(bleu_scores(sentences, references, n), seed))
            for n in BLEU_ORDERS]
    if len(sentences) >= 2:
        rows += [MetricRow.of(name, f"self_bleu_{n}", mean_estimate(self_bleu_scores(sentences, n), seed))
                 for n in BLEU_ORDERS]
    distinct = distinct_n(sentences, 2)
    if distinct is not None:
        rows.append(MetricRow(name, "distinct_2", distinct, sum(max(0, len(s) - 1) for s in sentences)))
    return rows


def bias_rows(name: str, texts: list[str]) -> list[MetricRow]:
    """HELM representation and stereotypical association (profession, adjective) of the texts."""
    lists = gender_word_lists()
    bias = demographic_representation(texts, lists.groups)
    rows = [MetricRow(name, f"gender_mentions_{group}", count, len(texts)) for group, count in bias.counts.items()]
    if bias.tv_from_uniform is not None:
        rows.append(MetricRow(name, "gender_representation_tv", bias.tv_from_uniform, bias.mentions))
    for target, words in lists.targets.items():
        association = stereotypical_association(texts, lists.groups, words)
        if association.value is not None:
            rows.append(MetricRow(name, f"gender_{target}_association", association.value, association.targets_seen))
    return with_roles(rows)


AMPLIFIED = ("gender_representation_tv", "gender_profession_association", "gender_adjective_association")


def add_amplification(rows: list[MetricRow]) -> list[MetricRow]:
    """Each family's bias divided by the training text's: > 1 amplifies the skew."""
    extra = []
    for metric in AMPLIFIED:
        values = {r.subject: r for r in rows if r.metric == metric}
        base = values.get(TRAINING_DATA)
        if base is None or base.value <= 0:
            continue
        extra += [MetricRow(family, f"{metric}_amplification", row.value / base.value, row.sample_count)
                  for family, row in values.items() if family != TRAINING_DATA]
    return rows + extra


def sentiment_gaps(name: str, model, vocab: CharVocabulary, samples_per_prompt: int, seed: int) -> tuple[list[MetricRow], list[dict]]:
    """Per template kind: mean VADER compound of "The man ..." continuations minus "The woman ..."."""
    generator = torch.Generator().manual_seed(seed)
    scored: dict[str, dict[str, list[float]]] = {}
    examples = []
    for kind, subject, prompt in gap_prompts():
        texts = sampled_continuations(model, vocab, prompt, samples_per_prompt, GAP_CHARS, generator)
        scores = sentiment(texts)
        scored.setdefault(kind, {}).setdefault(subject, []).extend(scores.tolist())
        examples.append({"kind": kind, "prompt": prompt.strip(), "mean_sentiment": float(scores.mean()),
                         "examples": texts[:2]})
    rows = []
    for kind, by_subject in scored.items():
        male, female = by_subject["The man"], by_subject["The woman"]
        rows.append(MetricRow.of(name, f"sentiment_gap_{kind}", difference_estimate(male, female, seed)))
    return rows, examples


def memorization_rows(name: str, model, vocab: CharVocabulary, free_texts: list[str], train_documents: list[str],
                      prefixes: int, seed: int) -> list[MetricRow]:
    rows = []
    overlap = training_ngram_overlap([tokenize(t) for t in free_texts], [tokenize(d) for d in train_documents], seed)
    if overlap is not None:
        rows.append(MetricRow.of(name, "training_8gram_overlap", overlap))
    pairs = extraction_pairs(train_documents, prefixes, EXTRACTION_PREFIX, EXTRACTION_TARGET, seed)
    if pairs:
        continuations = greedy_continuations(model, vocab, [p for p, _ in pairs], EXTRACTION_TARGET)
        rows.append(MetricRow.of(name, "extraction_rate", extraction_rate(continuations, [t for _, t in pairs], seed)))
    return rows


def temperature_sweep(model, vocab: CharVocabulary, references: list[list[str]], samples: int, chars: int,
                      seed: int) -> list[dict]:
    """Quality (BLEU-3 against test) and diversity (Self-BLEU-3, distinct-2) of free samples per temperature."""
    generator = torch.Generator().manual_seed(seed)
    points = []
    for temperature in SWEEP_TEMPERATURES:
        sentences = sentence_tokens(free_documents(model, vocab, samples, chars, temperature, generator))
        points.append({"temperature": temperature, "sentences": len(sentences),
                       "bleu": float(bleu_scores(sentences, references, SWEEP_BLEU).mean()) if sentences else None,
                       "self_bleu": float(self_bleu_scores(sentences, SWEEP_BLEU).mean()) if len(sentences) > 1 else None,
                       "distinct_2": distinct_n(sentences, 2)})
    return points


def evaluate_text_family(family: str, model, vocab: CharVocabulary, test_documents: list[str],
                         train_documents: list[str], test_sentences: list[list[str]], samples: list[dict],
                         profile, seed: int) -> tuple[list[MetricRow], dict]:
    rows = [MetricRow.of(family, "bits_per_character", document_bits_per_character(model, vocab, test_documents, seed))]
    continuations = [s for s in samples if s["kind"] == "continuation"]
    bleu = continuation_bleu([s["text"] for s in continuations], [s["reference"] for s in continuations])
    rows.append(MetricRow(family, "continuation_bleu", bleu.score, bleu.count))
    free = [s["text"] for s in samples if s["kind"] == "free"]
    rows += quality_diversity(family, free, test_sentences, seed)
    rows += bias_rows(family, free)
    gap_rows, gap_examples = sentiment_gaps(family, model, vocab, profile.gap_samples, seed)
    rows += gap_rows
    rows += memorization_rows(family, model, vocab, free, train_documents, profile.extraction_prefixes, seed)
    sweep = temperature_sweep(model, vocab, test_sentences, profile.sweep_samples, profile.free_sample_chars, seed)
    return rows, {"bleu_signature": bleu.signature, "sentiment_prompts": gap_examples, "quality_diversity": sweep}
