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
