"""BLEU of prompt continuations against the true continuations, by sacrebleu."""

from __future__ import annotations

from dataclasses import dataclass

from sacrebleu.metrics import BLEU


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
