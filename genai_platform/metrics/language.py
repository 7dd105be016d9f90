"""Likelihood-based text metrics."""

from __future__ import annotations

import math

import numpy as np

from genai_platform.metrics.bleu import ngrams


def bits_per_character(total_nats: float, characters: int) -> float:
    """Mean negative log2-likelihood per predicted character."""
    if characters <= 0:
        raise ValueError("bits per character needs at least one predicted character")
    return total_nats / (characters * math.log(2))


def unigram_bits_per_character(train_ids: np.ndarray, test_ids: np.ndarray, vocab_size: int) -> float:
    """Bits per character of test_ids[1:] under the training unigram frequencies (add-one smoothed).

    The naive baseline a language model must beat: it ignores all context.
    """
    train_ids, test_ids = np.asarray(train_ids), np.asarray(test_ids)
    if train_ids.size == 0 or test_ids.size < 2:
        raise ValueError("the unigram baseline needs training characters and at least 2 test characters")
    counts = np.bincount(train_ids, minlength=vocab_size).astype(np.float64) + 1.0
    log_probs = np.log(counts / counts.sum())
    return bits_per_character(float(-log_probs[test_ids[1:]].sum()), test_ids.size - 1)


def distinct_n(token_lists: list[list[str]], n: int) -> float | None:
    """Distinct-n (Li et al., 2016): unique n-grams over all n-grams of the samples (None: no n-grams)."""
    grams = [gram for tokens in token_lists for gram in ngrams(tokens, n)]
    return len(set(grams)) / len(grams) if grams else None
