"""BLEU in two protocols.

Continuation BLEU (sacrebleu): corpus BLEU of prompt continuations against the true
continuations, one reference each.

Texygen BLEU and Self-BLEU (Zhu et al., 2018): every generated sentence is scored by
nltk's `sentence_bleu` (uniform weights up to max_n, smoothing method1) against a whole
reference set, and the scores are averaged: the test sentences for BLEU (quality), all
other generated sentences for Self-BLEU (diversity, lower is more diverse). Computed
exactly as nltk does, but in O(total tokens): each reference n-gram's largest count over
the references (and, for Self-BLEU, the largest over all sentences but its owner) is
tabulated once instead of being recounted for every hypothesis.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sacrebleu.metrics import BLEU

TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]")
EPSILON = 0.1  # nltk SmoothingFunction's epsilon for method1


def tokenize(text: str) -> list[str]:
    """Lower-cased words (with inner apostrophes) and punctuation marks; needs no downloaded data."""
    return TOKEN.findall(text.lower())


@dataclass
class ContinuationBleu:
    score: float  # 0-100, sacrebleu's scale
    signature: str
    count: int


def continuation_bleu(hypotheses: list[str], references: list[str]) -> ContinuationBleu:
    """Corpus BLEU with one reference per hypothesis (sacrebleu defaults: 13a tokens, exp smoothing)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    if not hypotheses:
        raise ValueError("continuation BLEU needs at least one hypothesis")
    metric = BLEU()
    result = metric.corpus_score(hypotheses, [references])
    return ContinuationBleu(score=float(result.score), signature=str(metric.get_signature()), count=len(hypotheses))


class ContinuationBleuStatistics:
    """sacrebleu's per-continuation statistics (lengths, n-gram matches and totals), read once: the corpus
    BLEU of any resample of the continuations is the score of their summed statistics, as sacrebleu's own
    paired bootstrap computes it, without tokenizing and counting again for every resample."""

    def __init__(self, hypotheses: list[str], references: list[str]):
        if len(hypotheses) != len(references):
            raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
        self._metric = BLEU()
        self.per_continuation = np.asarray(self._metric._extract_corpus_statistics(hypotheses, [references]),
                                           dtype=np.int64)

    def score(self, indices) -> float:
        """continuation_bleu(...).score of the continuations at `indices` (repeats count again)."""
        return float(self._metric._compute_score_from_stats(self.per_continuation[indices].sum(axis=0)).score)


Tokens = Sequence[str]


def _ngram_counts(tokens: Tokens, n: int) -> Counter:
    return Counter(ngrams(tokens, n))


def ngrams(tokens: Tokens, n: int):
    """The n-grams of `tokens` as tuples, in order (zip of shifted slices: no slice per n-gram)."""
    return zip(*(tokens[i:] for i in range(n)))


def _sentence_score(matches: list[int], totals: list[int], length: int, ref_length: int, max_n: int) -> float:
    """nltk sentence_bleu from clipped matches and n-gram totals per order (1..max_n)."""
    if matches[0] == 0:
        return 0.0
    log_sum = math.fsum(math.log((m if m else EPSILON) / max(1, t)) / max_n
                        for m, t in zip(matches[:max_n], totals[:max_n]))
    penalty = 1.0 if length > ref_length else math.exp(1 - ref_length / length)
    return penalty * math.exp(log_sum)


def _closest(sorted_lengths: list[int], length: int) -> int:
    """The reference length nearest `length`, the shorter on a tie (nltk's closest_ref_length)."""
    at = bisect.bisect_left(sorted_lengths, length)
    candidates = sorted_lengths[max(0, at - 1) : at + 1]
    return min(candidates, key=lambda r: (abs(r - length), r))


def _check(max_n: int, sentences: Sequence[Tokens], what: str) -> None:
    if max_n < 1:
        raise ValueError(f"max_n must be at least 1, got {max_n}")
    if not sentences:
        raise ValueError(f"{what} is empty")


@lru_cache(maxsize=16)  # an evaluation scores many sample sets against one reference set
def _clipping_tables(references: tuple[tuple[str, ...], ...], max_n: int) -> tuple[list[dict], list[int]]:
    """Per order 1..max_n, each n-gram's largest count in any one reference; the distinct reference lengths."""
    best = [{} for _ in range(max_n)]
    for reference in references:
        for n in range(1, max_n + 1):
            table = best[n - 1]
            for gram, count in _ngram_counts(reference, n).items():
                if count > table.get(gram, 0):
                    table[gram] = count
    return best, sorted({len(r) for r in references})


def bleu_scores(hypotheses: Sequence[Tokens], references: Sequence[Tokens], max_n: int) -> np.ndarray:
    """Each hypothesis's nltk sentence_bleu against all references (weights 1/max_n, method1)."""
    _check(max_n, hypotheses, "the hypothesis list")
    _check(max_n, references, "the reference list")
    best, lengths = _clipping_tables(tuple(map(tuple, references)), max_n)
    scores = np.empty(len(hypotheses))
    for i, hypothesis in enumerate(hypotheses):
        matches, totals = [], []
        for n in range(1, max_n + 1):
            counts = _ngram_counts(hypothesis, n)
            matches.append(sum(min(c, best[n - 1].get(g, 0)) for g, c in counts.items()))
            totals.append(sum(counts.values()))
        scores[i] = _sentence_score(matches, totals, len(hypothesis), _closest(lengths, len(hypothesis)), max_n)
    return scores


def self_bleu_scores(sentences: Sequence[Tokens], max_n: int) -> np.ndarray:
    """Each sentence's nltk sentence_bleu against all the other sentences."""
    _check(max_n, sentences, "the sentence list")
    if len(sentences) < 2:
        raise ValueError("Self-BLEU needs at least 2 sentences: each is scored against the others")
    counts = [[_ngram_counts(s, n) for n in range(1, max_n + 1)] for s in sentences]
    # per n-gram: (largest count, the sentence holding it, largest count among the other sentences)
    top = [{} for _ in range(max_n)]
    for owner, per_order in enumerate(counts):
        for table, grams in zip(top, per_order):
            for gram, count in grams.items():
                first, holder, second = table.get(gram, (0, -1, 0))
                if count > first:
                    table[gram] = (count, owner, first)
                elif count > second:
                    table[gram] = (first, holder, count)
    length_counts = Counter(len(s) for s in sentences)
    lengths = sorted(length_counts)
    scores = np.empty(len(sentences))
    for i, per_order in enumerate(counts):
        matches = []
        for table, grams in zip(top, per_order):
            matched = 0
            for gram, count in grams.items():
                first, holder, second = table[gram]
                matched += min(count, second if holder == i else first)
            matches.append(matched)
        totals = [sum(grams.values()) for grams in per_order]
        length = len(sentences[i])
        others = lengths if length_counts[length] > 1 else [r for r in _neighbours(lengths, length) if r != length]
        scores[i] = _sentence_score(matches, totals, length, _closest(others, length), max_n)
    return scores


def _neighbours(sorted_lengths: list[int], length: int) -> list[int]:
    """The lengths around `length` in the sorted list, enough to find the nearest other one."""
    at = bisect.bisect_left(sorted_lengths, length)
    return sorted_lengths[max(0, at - 1) : at + 2]


def bleu_against_corpus(hypotheses: Sequence[Tokens], references: Sequence[Tokens], max_n: int) -> float:
    """Texygen BLEU-max_n: the mean sentence BLEU of the hypotheses against all references."""
    return float(bleu_scores(hypotheses, references, max_n).mean())


def self_bleu(sentences: Sequence[Tokens], max_n: int) -> float:
    """Texygen Self-BLEU-max_n: the mean sentence BLEU of each sentence against all the others."""
    return float(self_bleu_scores(sentences, max_n).mean())
