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


# A pair's colour: each character gets a keyed 64-bit code (one keyed hash per character), and the pair's two
# codes are mixed by SplitMix64's finalizer (Steele et al., 2014), in numpy, so that a vocabulary of thousands
# of characters (millions of pairs) is coloured in milliseconds rather than one keyed hash a pair.
_GOLDEN, _MIX_1, _MIX_2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _codes(key: WatermarkKey, characters) -> np.ndarray:
    return np.array([key.digest("text", ord(c)) for c in characters], dtype=np.uint64)


def _green(previous_codes: np.ndarray, next_codes: np.ndarray) -> np.ndarray:
    """Green flags of pairs (previous, next) from their codes (broadcast); uint64 arithmetic wraps, as the mix
    intends."""
    with np.errstate(over="ignore"):
        x = previous_codes ^ (next_codes * _GOLDEN)
        x = (x ^ (x >> np.uint64(30))) * _MIX_1
        x = (x ^ (x >> np.uint64(27))) * _MIX_2
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / 2.0 ** 53 < GAMMA


def is_green(key: WatermarkKey, previous: str, character: str) -> bool:
    return bool(_green(_codes(key, previous), _codes(key, character))[0])


def green_bias(key: WatermarkKey, characters: list[str], skip: frozenset[int] = frozenset()) -> torch.Tensor:
    """[V, V] logits to add: row = the previous token's id, column = the next one's; DELTA where green. Ids in
    `skip` (a vocabulary's unknown-character token) are neither steered nor steered to."""
    codes = _codes(key, characters)
    bias = np.where(_green(codes[:, None], codes[None, :]), DELTA, 0.0).astype(np.float32)
    skipped = sorted(skip)
    bias[skipped, :] = 0.0
    bias[:, skipped] = 0.0
    return torch.from_numpy(bias)


@dataclass(frozen=True)
class TextMarkScore:
    pairs: int  # distinct (previous, next) character pairs scored
    green: int  # how many of them are green
    z: float  # (green - GAMMA pairs) / sqrt(pairs GAMMA (1 - GAMMA)); 0 for an empty text
    p_value: float  # P(binomial(pairs, GAMMA) >= green): the chance an unmarked text has this many


def text_mark_score(key: WatermarkKey, texts: list[str]) -> TextMarkScore:
    """The mark's evidence in `texts`: the distinct pairs of adjacent characters within any of them."""
    pairs = sorted({pair for text in texts for pair in zip(text, text[1:])})
    characters = sorted({c for pair in pairs for c in pair})
    codes = dict(zip(characters, _codes(key, characters)))
    n = len(pairs)
    green = int(_green(np.array([codes[a] for a, _ in pairs], dtype=np.uint64),
                       np.array([codes[b] for _, b in pairs], dtype=np.uint64)).sum()) if n else 0
    z = (green - GAMMA * n) / np.sqrt(n * GAMMA * (1 - GAMMA)) if n else 0.0
    return TextMarkScore(n, green, float(z), float(binom.sf(green - 1, n, GAMMA)) if n else 1.0)
