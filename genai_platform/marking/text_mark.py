"""A keyed green list over character pairs (Kirchenbauer et al. 2023, at the character level).

The key splits every pair of characters (previous, next) into green, with chance GAMMA, or red. While a text
family samples, every green next character's logit gets DELTA added (greedy and temperature sampling alike),
so marked text holds more green pairs than GAMMA. The detector counts the green pairs among a text's
distinct pairs: a pair's colour is a keyed coin independent of any text the key did not steer, so for
unmarked text the count is binomial(distinct pairs, GAMMA) exactly, and its tail is the p-value. Counting a
repeated pair once keeps a repetitive text (a run of "the the the") from faking either verdict.

The split is of Unicode characters, not of a model's token ids, so one key marks every text family and the
detector needs no model and no vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import binom

from genai_platform.marking.key import WatermarkKey

GAMMA = 0.25  # share of next characters that are green after any previous one
DELTA = 2.0  # logit added to a green next character


def is_green(key: WatermarkKey, previous: str, character: str) -> bool:
    return key.uniform("text", ord(previous), ord(character)) < GAMMA


def green_bias(key: WatermarkKey, characters: list[str], skip: frozenset[int] = frozenset()) -> torch.Tensor:
    """[V, V] logits to add: row = the previous token's id, column = the next one's; DELTA where green. Ids in
    `skip` (a vocabulary's unknown-character token) are neither steered nor steered to."""
    size = len(characters)
    bias = np.zeros((size, size), dtype=np.float32)
    for row, previous in enumerate(characters):
        if row in skip:
            continue
        for column, character in enumerate(characters):
            if column not in skip and is_green(key, previous, character):
                bias[row, column] = DELTA
    return torch.from_numpy(bias)


@dataclass(frozen=True)
class TextMarkScore:
    pairs: int  # distinct (previous, next) character pairs scored
    green: int  # how many of them are green
    z: float  # (green - GAMMA pairs) / sqrt(pairs GAMMA (1 - GAMMA)); 0 for an empty text
    p_value: float  # P(binomial(pairs, GAMMA) >= green): the chance an unmarked text has this many


def text_mark_score(key: WatermarkKey, texts: list[str]) -> TextMarkScore:
    """The mark's evidence in `texts`: the distinct pairs of adjacent characters within any of them."""
    pairs = {pair for text in texts for pair in zip(text, text[1:])}
    green = sum(is_green(key, a, b) for a, b in pairs)
    n = len(pairs)
    z = (green - GAMMA * n) / np.sqrt(n * GAMMA * (1 - GAMMA)) if n else 0.0
    return TextMarkScore(n, green, float(z), float(binom.sf(green - 1, n, GAMMA)) if n else 1.0)
