"""Text scoring: character language models and their samples, BLEU and its companions.

Each text family is scored on the held-out test documents (bits per character), on its
samples (BLEU, Self-BLEU, distinct-2), for HELM gender bias against the training text's,
for sentiment gaps of paired prompts, and for memorization of the training split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from genai_platform.evaluation.results import Details
from genai_platform.evaluation.generation import (extraction_pairs, free_documents,
                                                  greedy_continuations, sampled_continuations, split_sentences)
from genai_platform.metrics.bias import (amplification, demographic_representation, gap_prompts, gender_word_lists,
                                         sentiment, stereotypical_association)
from genai_platform.metrics.bleu import (ContinuationBleuStatistics, bleu_scores, continuation_bleu, self_bleu_scores,
                                         tokenize)
from genai_platform.metrics.catalog import UNIGRAM
from genai_platform.metrics.comparisons import difference
from genai_platform.metrics.intervals import (Estimate, difference_estimate, mean_estimate, paired_ratio_difference,
                                             ratio_estimate)
from genai_platform.metrics.language import distinct_n, unigram_bits_per_character
from genai_platform.metrics.memorization import extraction_rate, training_ngram_excess, training_ngram_overlap
from genai_platform.models.vocab import CharVocabulary
from genai_platform.records import MetricRow

BLEU_ORDERS = (2, 3, 4, 5)
SWEEP_TEMPERATURES = (0.5, 0.75, 1.0, 1.25)
SWEEP_BLEU = 3
GAP_CHARS = 60
FREE_SAMPLE_CHARS = 300  # of each sample the command line writes
EXTRACTION_PREFIX, EXTRACTION_TARGET = 64, 32


@dataclass
class TextDetails(Details):
    """What the text evaluation keeps for the reports, per family: its BLEU signature (sacrebleu's), its
    sentiment prompts and their continuations, and BLEU against Self-BLEU across sampling temperatures."""
    bleu_signatures: dict[str, str] = field(default_factory=dict)
    sentiment_prompts: dict[str, dict] = field(default_factory=dict)
    quality_diversity: dict[str, list[dict]] = field(default_factory=dict)


def unigram_baseline_rows(vocab: CharVocabulary, train_documents: list[str], test_documents: list[str]) -> list[MetricRow]:
    test = vocab.encode_documents(test_documents).numpy()
    bpc = unigram_bits_per_character(vocab.encode_documents(train_documents).numpy(), test, len(vocab))
    return [MetricRow(UNIGRAM, "bits_per_character", bpc, test.size - 1)]


def document_nats(model, vocab: CharVocabulary, documents: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each document's negative log-likelihood (nats), scored from its own start, and its predicted characters."""
    nats, characters = [], []
    for document in documents:
        ids = vocab.encode_documents([document])
        nats.append(model.negative_log_likelihood(ids))
        characters.append(ids.numel() - 1)
    return np.asarray(nats, dtype=np.float64), np.asarray(characters, dtype=np.float64)


def document_bits_per_character(nats: np.ndarray, characters: np.ndarray, seed: int) -> Estimate:
    """Bits per character over the documents; interval over documents."""
    per_character = ratio_estimate(nats, characters)  # nats
    to_bits = lambda v: None if v is None else v / math.log(2)  # noqa: E731
    return Estimate(to_bits(per_character.value), per_character.count, to_bits(per_character.ci_low),
                    to_bits(per_character.ci_high))


def sentence_tokens(documents: list[str]) -> list[list[str]]:
    """Word tokens of every sentence of the documents (cut as the store cuts the test sentences), empty ones dropped."""
    tokens = (tokenize(sentence) for document in documents for sentence in split_sentences(document))
    return [t for t in tokens if t]


def quality_diversity(name: str, documents: list[str], references: list[list[str]], seed: int) -> list[MetricRow]:
    """Texygen BLEU-2..5 against the test sentences, Self-BLEU-2..5, distinct-2, of sampled documents."""
    sentences = sentence_tokens(documents)
    if not sentences:
        return []
    rows = [MetricRow.of(name, f"bleu_{n}", mean_estimate(bleu_scores(sentences, references, n)))
            for n in BLEU_ORDERS]
    if len(sentences) >= 2:
        rows += [MetricRow.of(name, f"self_bleu_{n}", mean_estimate(self_bleu_scores(sentences, n)))
                 for n in BLEU_ORDERS]
    distinct = distinct_n(sentences, 2)
    if distinct is not None:
        rows.append(MetricRow(name, "distinct_2", distinct, sum(max(0, len(s) - 1) for s in sentences)))
    return rows


def bias_rows(name: str, texts: list[str]) -> list[MetricRow]:
    """HELM representation and stereotypical association (profession, adjective) of the texts."""
    lists = gender_word_lists()
    bias = demographic_representation(texts, lists.groups)
    rows = [MetricRow(name, f"gender_mentions_{group}", count, len(texts)) for group, count in bias.counts.items()]
    if bias.tv_from_uniform is not None:
        rows.append(MetricRow(name, "gender_representation_tv", bias.tv_from_uniform, bias.mentions))
    for target, words in lists.targets.items():
        association = stereotypical_association(texts, lists.groups, words)
        if association.value is not None:
            rows.append(MetricRow(name, f"gender_{target}_association", association.value, association.targets_seen))
    return rows


AMPLIFIED = {"representation": "gender_representation_tv", "profession": "gender_profession_association",
             "adjective": "gender_adjective_association"}


def amplification_rows(name: str, samples: list[str], train_documents: list[str], seed: int) -> list[MetricRow]:
    """Each bias score of the samples divided by the training text's on snippets of the same lengths
    and number (about 1 for a model that reproduces its training text), with a 95% interval
    (metrics.bias.amplification)."""
    if len(samples) < 2 or not train_documents:
        return []
    estimates = amplification(samples, train_documents, gender_word_lists(), seed)
    return [MetricRow.of(name, f"{AMPLIFIED[score]}_amplification", estimate)
            for score, estimate in estimates.items()]


def sentiment_gaps(name: str, model, vocab: CharVocabulary, samples_per_prompt: int, seed: int) -> tuple[list[MetricRow], list[dict]]:
    """Per template kind: mean VADER compound of "The man ..." continuations minus "The woman ..."."""
    generator = torch.Generator().manual_seed(seed)
    scored: dict[str, dict[str, list[float]]] = {}
    examples = []
    for kind, subject, prompt in gap_prompts():
        texts = sampled_continuations(model, vocab, prompt, samples_per_prompt, GAP_CHARS, generator)
        scores = sentiment(texts)
        scored.setdefault(kind, {}).setdefault(subject, []).extend(scores.tolist())
        examples.append({"kind": kind, "prompt": prompt.strip(), "mean_sentiment": float(scores.mean()),
                         "examples": texts[:2]})
    rows = []
    for kind, by_subject in scored.items():
        male, female = by_subject["The man"], by_subject["The woman"]
        rows.append(MetricRow.of(name, f"sentiment_gap_{kind}", difference_estimate(male, female)))
    return rows, examples


def ngram_memorization_rows(name: str, units: list[list[str]], heldout_units: list[list[str]],
                            train_tokens: list[list[str]]) -> list[MetricRow]:
    """Verbatim training 8-grams of generated text, and its training 4-gram excess over held-out text (text
    stitched from training phrases); units (samples, documents) as word tokens."""
    rows = []
    overlap = training_ngram_overlap(units, train_tokens)
    if overlap is not None:
        rows.append(MetricRow.of(name, "training_8gram_overlap", overlap))
    excess = training_ngram_excess(units, heldout_units, train_tokens)
    if excess is not None:
        rows.append(MetricRow.of(name, "training_4gram_excess", excess))
    return rows


def memorization_rows(name: str, model, vocab: CharVocabulary, free_texts: list[str], train_documents: list[str],
                      test_documents: list[str], prefixes: int, seed: int) -> list[MetricRow]:
    rows = ngram_memorization_rows(name, [tokenize(t) for t in free_texts], [tokenize(d) for d in test_documents],
                                   [tokenize(d) for d in train_documents])
    pairs = extraction_pairs(train_documents, prefixes, EXTRACTION_PREFIX, EXTRACTION_TARGET, seed)
    if pairs:
        continuations = greedy_continuations(model, vocab, [p for p, _ in pairs], EXTRACTION_TARGET)
        rows.append(MetricRow.of(name, "extraction_rate", extraction_rate(continuations, [t for _, t in pairs])))
    return rows


def temperature_sweep(model, vocab: CharVocabulary, references: list[list[str]], samples: int, chars: int,
                      seed: int) -> list[dict]:
    """Quality (BLEU-3 against test) and diversity (Self-BLEU-3, distinct-2) of free samples per temperature."""
    generator = torch.Generator().manual_seed(seed)
    points = []
    for temperature in SWEEP_TEMPERATURES:
        sentences = sentence_tokens(free_documents(model, vocab, samples, chars, temperature, generator))
        points.append({"temperature": temperature, "sentences": len(sentences),
                       "bleu": float(bleu_scores(sentences, references, SWEEP_BLEU).mean()) if sentences else None,
                       "self_bleu": float(self_bleu_scores(sentences, SWEEP_BLEU).mean()) if len(sentences) > 1 else None,
                       "distinct_2": distinct_n(sentences, 2)})
    return points


@dataclass
class TextUnits:
    """A family's text as its paired comparisons need it (compare_text)."""
    continuations: list[str]  # one per prompt; every run draws them for the same prompts with the same seeds
    continuation_references: list[str]
    sentences: list[list[str]]  # word tokens of the free samples' sentences
    bleu_4: np.ndarray | None  # per sentence, against the test sentences; None without sentences
    self_bleu_4: np.ndarray | None  # per sentence, against the others; None with fewer than 2
    document_nats: np.ndarray | None = None  # per test document; None where no model was given
    document_characters: np.ndarray | None = None

    @classmethod
    def of(cls, samples: list[dict], references: list[list[str]], nats: np.ndarray | None = None,
           characters: np.ndarray | None = None) -> TextUnits:
        """Scored once per family, however many comparisons it is in."""
        continuations = [s for s in samples if s["kind"] == "continuation"]
        sentences = sentence_tokens([s["text"] for s in samples if s["kind"] == "free"])
        return cls([s["text"] for s in continuations], [s["reference"] for s in continuations], sentences,
                   bleu_scores(sentences, references, 4) if sentences else None,
                   self_bleu_scores(sentences, 4) if len(sentences) >= 2 else None, nats, characters)


def compare_text(first: TextUnits, second: TextUnits, paired: bool, seed: int) -> dict[str, Estimate]:
    """Differences (first minus second) of the text leaderboard metrics. Units both sides share are
    resampled together whatever `paired` says: test documents (bits per character, the delete-one jackknife over
    them: the basic bootstrap covered 89-92% at 10-30 documents, the jackknife 95-96%) and prompts (continuation
    BLEU); free-sample sentences are each side's own, resampled independently."""
    out = {}
    if first.document_nats is not None and second.document_nats is not None:
        characters = first.document_characters
        out["bits_per_character"] = paired_ratio_difference(first.document_nats / math.log(2), characters,
                                                            second.document_nats / math.log(2), characters)
    if first.continuation_references == second.continuation_references and len(first.continuations) >= 2:
        bleu = lambda side: ContinuationBleuStatistics(side.continuations, side.continuation_references).score  # noqa: E731
        n = len(first.continuations)
        out["continuation_bleu"] = difference("continuation_bleu", bleu(first), bleu(second), n, n, seed, paired=True)
    if first.bleu_4 is not None and second.bleu_4 is not None:
        out["bleu_4"] = difference_estimate(first.bleu_4, second.bleu_4)
    if first.self_bleu_4 is not None and second.self_bleu_4 is not None:
        out["self_bleu_4"] = difference_estimate(first.self_bleu_4, second.self_bleu_4)
        distinct = lambda side: lambda idx: distinct_n([side.sentences[i] for i in idx], 2) or 0.0  # noqa: E731
        out["distinct_2"] = difference("distinct_2", distinct(first), distinct(second), len(first.sentences),
                                       len(second.sentences), seed, paired=False)
    return out


def evaluate_text_family(family: str, model, vocab: CharVocabulary, test_documents: list[str],
                         train_documents: list[str], test_sentences: list[list[str]], samples: list[dict],
                         profile, seed: int) -> tuple[list[MetricRow], dict, TextUnits]:
    nats, characters = document_nats(model, vocab, test_documents)
    rows = [MetricRow.of(family, "bits_per_character", document_bits_per_character(nats, characters, seed))]
    continuations = [s for s in samples if s["kind"] == "continuation"]
    bleu = continuation_bleu([s["text"] for s in continuations], [s["reference"] for s in continuations])
    rows.append(MetricRow(family, "continuation_bleu", bleu.score, bleu.count))
    free = [s["text"] for s in samples if s["kind"] == "free"]
    rows += quality_diversity(family, free, test_sentences, seed)
    rows += bias_rows(family, free)
    rows += amplification_rows(family, free, train_documents, seed)
    gap_rows, gap_examples = sentiment_gaps(family, model, vocab, profile.gap_samples, seed)
    rows += gap_rows
    rows += memorization_rows(family, model, vocab, free, train_documents, test_documents, profile.extraction_prefixes,
                              seed)
    sweep = temperature_sweep(model, vocab, test_sentences, profile.sweep_samples, profile.free_sample_chars, seed)
    return (rows, {"bleu_signature": bleu.signature, "sentiment_prompts": gap_examples, "quality_diversity": sweep},
            TextUnits.of(samples, test_sentences, nats, characters))


