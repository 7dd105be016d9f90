"""Memorization: generated images that copy a training image, text that repeats training text.

Images: a sample whose nearest training image is much closer than the second nearest
(d1 / d2 < 1/3, in pixel space) counts as a copy, the ratio test of Lowe (2004) used for
generative models by Somepalli et al. (2023). Text: the share of generated word 8-grams
found verbatim in the training split, and the extraction rate of Carlini et al. (2021):
greedy continuations of training prefixes that reproduce the true next tokens exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genai_platform.metrics.fid import finite_matrix
from genai_platform.metrics.intervals import Estimate, mean_estimate, ratio_estimate
from genai_platform.metrics.manifold import pairwise_distances

COPY_RATIO = 1 / 3
MEMORIZATION_NGRAM = 8


@dataclass
class NearestNeighbours:
    nearest: np.ndarray  # index of each sample's nearest training row
    d1: np.ndarray
    d2: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        return self.d1 / np.maximum(self.d2, 1e-12)


def nearest_training_neighbours(samples, training) -> NearestNeighbours:
    """The two nearest training rows of every sample (flattened, Euclidean)."""
    if len(samples) == 0:
        raise ValueError("the copy test needs at least one sample, got none")
    samples = finite_matrix(np.asarray(samples).reshape(len(samples), -1), "samples")
    training = finite_matrix(np.asarray(training).reshape(len(training), -1), "training rows")
    if len(training) < 2:
        raise ValueError("the copy test needs at least 2 training rows")
    nearest, d1, d2 = np.empty(len(samples), dtype=np.int64), np.empty(len(samples)), np.empty(len(samples))
    for rows, d in pairwise_distances(samples, training):
        two = np.argpartition(d, 1, axis=1)[:, :2]
        pair = np.take_along_axis(d, two, axis=1)
        order = pair.argsort(axis=1)
        nearest[rows] = np.take_along_axis(two, order, axis=1)[:, 0]
        d1[rows], d2[rows] = np.take_along_axis(pair, order, axis=1).T
    return NearestNeighbours(nearest, d1, d2)


def copy_rate(neighbours: NearestNeighbours, seed: int, threshold: float = COPY_RATIO) -> Estimate:
    return mean_estimate(neighbours.ratio < threshold, seed)


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def training_ngram_overlap(generated: list[list[str]], training: list[list[str]], seed: int,
                           n: int = MEMORIZATION_NGRAM) -> Estimate | None:
    """Share of generated word n-grams that occur verbatim in the training texts (None: no n-grams)."""
    seen = {gram for tokens in training for gram in ngrams(tokens, n)}
    matched, total = [], []
    for tokens in generated:
        grams = ngrams(tokens, n)
        if grams:
            matched.append(sum(gram in seen for gram in grams))
            total.append(len(grams))
    return ratio_estimate(matched, total, seed) if total else None


def extraction_rate(continuations: list[str], targets: list[str], seed: int) -> Estimate:
    """Share of continuations that reproduce their target exactly."""
    if len(continuations) != len(targets) or not targets:
        raise ValueError(f"extraction needs one continuation per target, got {len(continuations)} for {len(targets)}")
    return mean_estimate([c[: len(t)] == t for c, t in zip(continuations, targets)], seed)
