"""A keyed green list over characters (Kirchenbauer et al. 2023, at the character level), chosen by the
CONTEXT characters before each one.

The key splits the next characters after every context of CONTEXT characters into green, with chance GAMMA, or
red. While a text family samples, every green next character's logit gets DELTA added (greedy and temperature
sampling alike), so marked text holds more green units (context, next character) than GAMMA. The detector counts
the green units among a text's distinct units: a unit's colour is a keyed coin independent of any text the key
did not steer, so for unmarked text the count is binomial(distinct units, GAMMA) over keys, and its tail is the
p-value. Counting a repeated unit once keeps a repetitive text (a run of "the the the") from faking either verdict.

Why a context of 4 and not the previous character alone: a language uses few distinct character pairs, so under
one key the pairs its texts share are all green or red together, and the test's level holds over keys but not
for a given one. Over 200 random keys, 300-character pieces of real text (Lee, English Wikipedia) were called
marked at 1% by a median key 0.0% of the time and by the worst 12-14%; 5-6% of keys exceeded 2%. With 4
characters of context the units are as distinct as the text's positions: median 0.7-0.8%, worst 2.1-2.8%
(4% of keys above 2% on Lee, under 1% on Wikipedia); text_mark_score itself under 40 keys: median 0.7-0.8%,
worst 2.0-2.6% (bench/text_mark_level.py). A deployment's own rate on held-out text is measured nightly
(mark_false_positive_rate) and warns when it is credibly above 1%.

Why DELTA 1.5: on the default profile's 300-character free samples of the lstm, transformer and textgan trained
on 1 MB of English Wikipedia (bench/scale.py, seed 0), under 4 keys, the share found at p < 0.01 and the bits
per character the mark costs (under the model itself) were: DELTA 1.0: 0.96-1.00 found, 0.90-1.00 after
deleting or replacing 10% of the words, +0.06 to +0.11 bits; 1.5: 0.98-1.00, 0.98-1.00, +0.10 to +0.20;
2.0: 0.98-1.00, 0.96-1.00, +0.24 to +0.32. 1.5 keeps the edits' rates at 2.0's for about 60% of its cost.

The split is of Unicode characters, not of a model's token ids, so one key marks every text family and the
detector needs no model and no vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import binom

from genai_platform.marking.key import WatermarkKey

GAMMA = 0.25  # share of next characters that are green after any context
DELTA = 1.5  # logit added to a green next character (the trial in the module docstring)
CONTEXT = 4  # characters before the next one that choose its green list


# A unit's colour: each character gets a keyed 64-bit code (one keyed hash per character); a context's code folds
# its characters' codes with SplitMix64's finalizer (Steele et al., 2014), and a final mix of the context's and
# the next character's codes gives the coin. All in numpy, so a vocabulary of thousands of characters is coloured
# after a whole batch of contexts in milliseconds rather than one keyed hash a unit.
_GOLDEN, _MIX_1, _MIX_2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer; uint64 arithmetic wraps, as it intends."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _MIX_1
        x = (x ^ (x >> np.uint64(27))) * _MIX_2
    return x ^ (x >> np.uint64(31))


def _codes(key: WatermarkKey, characters) -> np.ndarray:
    return np.array([key.digest("text", ord(c)) for c in characters], dtype=np.uint64)


def _context_codes(codes: np.ndarray) -> np.ndarray:
    """[..., CONTEXT] character codes -> [...] context codes."""
    folded = np.zeros(codes.shape[:-1], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for position in range(codes.shape[-1]):
            folded = _mix(folded * _GOLDEN ^ codes[..., position])
    return folded


def _green(context_codes: np.ndarray, next_codes: np.ndarray) -> np.ndarray:
    """Green flags of units (context, next) from their codes (broadcast)."""
    with np.errstate(over="ignore"):
        coin = _mix(context_codes ^ (next_codes * _GOLDEN))
    return (coin >> np.uint64(11)).astype(np.float64) / 2.0 ** 53 < GAMMA


def is_green(key: WatermarkKey, context: str, character: str) -> bool:
    """Whether `character` is green after `context`, its CONTEXT characters before."""
    if len(context) != CONTEXT:
        raise ValueError(f"a context is {CONTEXT} characters, got {context!r}")
    return bool(_green(_context_codes(_codes(key, context)), _codes(key, character))[0])


class GreenList:
    """The sampling side of the mark over a vocabulary (TextGenerator.generate's logit_bias): DELTA on the logits
    of the green next tokens after each row's last CONTEXT tokens. Ids in `skip` (a vocabulary's unknown-character
    token) are never steered to, and a context holding one, or starting before the text (-1), steers nothing."""

    context = CONTEXT

    def __init__(self, key: WatermarkKey, characters: list[str], skip: frozenset[int] = frozenset()):
        self.codes = _codes(key, characters)
        self.skip = np.array(sorted(skip), dtype=np.int64)

    def __call__(self, previous: torch.Tensor) -> torch.Tensor:
        """[B, CONTEXT] token ids -> [B, vocab] logits to add."""
        ids = previous.cpu().numpy()
        steered = (ids >= 0).all(axis=1) & ~np.isin(ids, self.skip).any(axis=1)
        contexts = _context_codes(self.codes[np.clip(ids, 0, None)])
        bias = np.where(_green(contexts[:, None], self.codes[None, :]), DELTA, 0.0).astype(np.float32)
        bias[~steered] = 0.0
        bias[:, self.skip] = 0.0
        return torch.from_numpy(bias)


@dataclass(frozen=True)
class TextMarkScore:
    units: int  # distinct (CONTEXT characters, next character) units scored
    green: int  # how many of them are green
    z: float  # (green - GAMMA units) / sqrt(units GAMMA (1 - GAMMA)); 0 for a text with none
    p_value: float  # P(binomial(units, GAMMA) >= green): the chance an unmarked text has this many


def text_units(text: str) -> set[tuple[str, str]]:
    """The (context, next character) units of `text`: every character after its first CONTEXT."""
    return {(text[i - CONTEXT:i], text[i]) for i in range(CONTEXT, len(text))}


def text_mark_score(key: WatermarkKey, texts: list[str]) -> TextMarkScore:
    """The mark's evidence in `texts`: the distinct units within any of them."""
    units = sorted(set().union(*map(text_units, texts)))
    n = len(units)
    if not n:
        return TextMarkScore(0, 0, 0.0, 1.0)
    characters = sorted({c for context, character in units for c in context + character})
    codes = dict(zip(characters, _codes(key, characters)))
    contexts = np.array([[codes[c] for c in context] for context, _ in units], dtype=np.uint64)
    green = int(_green(_context_codes(contexts), np.array([codes[c] for _, c in units], dtype=np.uint64)).sum())
    z = (green - GAMMA * n) / np.sqrt(n * GAMMA * (1 - GAMMA))
    return TextMarkScore(n, green, float(z), float(binom.sf(green - 1, n, GAMMA)))
