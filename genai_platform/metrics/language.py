"""Likelihood-based text metrics."""

from __future__ import annotations

import math


def bits_per_character(total_nats: float, characters: int) -> float:
    """Mean negative log2-likelihood per predicted character."""
    if characters <= 0:
        raise ValueError("bits per character needs at least one predicted character")
    return total_nats / (characters * math.log(2))
