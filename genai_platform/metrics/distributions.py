"""Distances between discrete distributions."""

from __future__ import annotations

import numpy as np


def normalize(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or (counts < 0).any():
        raise ValueError("counts must be a 1-D array of non-negative numbers")
    total = counts.sum()
    if total <= 0:
        raise ValueError("counts sum to zero: no distribution to normalise")
    return counts / total


def total_variation(p, q) -> float:
    """Total variation distance 0.5 * sum |p - q| between two distributions (normalised first)."""
    p, q = normalize(p), normalize(q)
    if p.shape != q.shape:
        raise ValueError(f"distributions have different supports: {p.shape} vs {q.shape}")
    return float(0.5 * np.abs(p - q).sum())


def class_histogram(labels, num_classes: int) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.int64)
    return np.bincount(labels, minlength=num_classes)[:num_classes].astype(np.float64)


def normalized_entropy(counts) -> float:
    """Entropy of the distribution over log(K), K = its support size: 1 for uniform, 0 for one class."""
    p = normalize(counts)
    if p.size < 2:
        raise ValueError("normalized entropy needs at least 2 classes")
    nonzero = p[p > 0]
    return float(-(nonzero * np.log(nonzero)).sum() / np.log(p.size))


MISSING_MODE_SHARE = 0.25  # a class is missing when its sample share is below this fraction of its training share
LOW_CONFIDENCE = 0.5


def missing_modes(sample_counts, reference_counts, fraction: float = MISSING_MODE_SHARE) -> list[int]:
    """Classes present in the reference whose share of the samples is below `fraction` of their reference share."""
    samples, reference = normalize(sample_counts), normalize(reference_counts)
    return [int(c) for c in np.flatnonzero((reference > 0) & (samples < fraction * reference))]


def low_confidence(probabilities, threshold: float = LOW_CONFIDENCE) -> np.ndarray:
    """Per sample: 1 when the most likely class has probability below `threshold`."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or not np.isfinite(probabilities).all():
        raise ValueError("class probabilities must be a finite N x K matrix")
    return (probabilities.max(axis=1) < threshold).astype(np.float64)
