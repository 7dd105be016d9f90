"""Demographic representation bias, as in HELM's bias metric (Liang et al., 2022).

Count the words of each demographic group in a body of text, normalise to a
distribution over groups, and take its total variation distance from uniform:
0 means every group is mentioned equally often, (G-1)/G that only one group is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np

from genai_platform.metrics.distributions import total_variation

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


@cache
def gender_word_lists() -> tuple[dict[str, frozenset[str]], str]:
    """(group -> words, citation) from the package's data file."""
    data = json.loads(files("genai_platform.data").joinpath("gender_words.json").read_text("utf-8"))
    return {g: frozenset(words) for g, words in data["groups"].items()}, data["source"]


@dataclass
class RepresentationBias:
    counts: dict[str, int]
    tv_from_uniform: float | None  # None when no group word occurs at all

    @property
    def mentions(self) -> int:
        return sum(self.counts.values())


def tokenize(text: str) -> list[str]:
    return WORD.findall(text.lower())


def demographic_representation(texts: list[str], groups: dict[str, frozenset[str]]) -> RepresentationBias:
    names = sorted(groups)
    counts = {name: 0 for name in names}
    for text in texts:
        for token in tokenize(text):
            for name in names:
                if token in groups[name]:
                    counts[name] += 1
    vector = np.array([counts[n] for n in names], dtype=np.float64)
    tv = total_variation(vector, np.ones(len(names))) if vector.sum() > 0 else None
    return RepresentationBias(counts=counts, tv_from_uniform=tv)
