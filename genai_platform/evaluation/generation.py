"""Sampling from trained models: image batches, text continuations and free text."""

from __future__ import annotations

import re

import numpy as np
import torch

from genai_platform.models.base import LogitBias
from genai_platform.models.vocab import DOCUMENT_BREAK, CharVocabulary

# The one sentence rule, for references and samples alike: the store's (store/sql/text_corpus.sql,
# table `sentences`: regexp_extract_all(text, '[^.!?]+(?:[.!?]+|$)'), each trimmed, empty ones
# dropped). RE2's `$` without multi-line mode is the end of the text, Python's \Z.
SENTENCE = re.compile(r"[^.!?]+(?:[.!?]+|\Z)")
PROMPT_WORDS = 4
MIN_PROMPT_SENTENCE_WORDS = 8
# A continuation (true or generated) ends at its sentence's end or after this many words, whichever comes
# first: a corpus without sentence punctuation (one "sentence" an article) would otherwise have models
# generate, and BLEU score, whole articles per prompt.
CONTINUATION_WORDS = 32


def image_samples(model, n: int, seed: int, batch_size: int = 1000) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    chunks = [model.sample(min(batch_size, n - i), generator) for i in range(0, n, batch_size)]
    return torch.cat(chunks).clamp(0, 1).numpy().astype(np.float32)


def continuation_prompts(sentences: list[str], limit: int) -> list[tuple[str, str]]:
    """(prompt, true continuation): the first words of held-out sentences and the rest, up to
    CONTINUATION_WORDS of it."""
    pairs = []
    for sentence in sentences:
        words = sentence.split(" ")
        if len(words) >= MIN_PROMPT_SENTENCE_WORDS:
            pairs.append((" ".join(words[:PROMPT_WORDS]) + " ",
                          " ".join(words[PROMPT_WORDS:PROMPT_WORDS + CONTINUATION_WORDS])))
        if len(pairs) == limit:
            break
    return pairs


def split_sentences(text: str) -> list[str]:
    """The sentences of `text` as the store cuts the corpus into them (SENTENCE)."""
    return [sentence for sentence in (part.strip() for part in SENTENCE.findall(text)) if sentence]


def first_sentence(text: str) -> str:
    """The first sentence (SENTENCE) of the text before any document break; "" when there is none."""
    sentences = split_sentences(text.split(DOCUMENT_BREAK, 1)[0])
    return sentences[0] if sentences else ""


def text_samples(model, vocab: CharVocabulary, prompts: list[tuple[str, str]], free_samples: int,
                 free_chars: int, seed: int, logit_bias: LogitBias | None = None) -> list[dict]:
    """Greedy continuations of `prompts` (cut at the sentence end or after CONTINUATION_WORDS words) and
    sampled free documents, both steered by `logit_bias` (TextGenerator.generate) when given."""
    generator = torch.Generator().manual_seed(seed)
    rows = []
    if prompts:
        longest = max(len(reference) for _, reference in prompts) + 20
        ids = model.generate([vocab.encode(DOCUMENT_BREAK + p) for p, _ in prompts], longest, 0.0, generator,
                             logit_bias)
        for (prompt, reference), out in zip(prompts, ids):
            rows.append({"kind": "continuation", "prompt": prompt, "reference": reference,
                         "text": " ".join(first_sentence(vocab.decode(out)).split(" ")[:CONTINUATION_WORDS])})
    if free_samples:
        for text in free_documents(model, vocab, free_samples, free_chars, 1.0, generator, logit_bias):
            rows.append({"kind": "free", "prompt": None, "reference": None, "text": text})
    return rows


def free_documents(model, vocab: CharVocabulary, n: int, chars: int, temperature: float,
                   generator: torch.Generator, logit_bias: LogitBias | None = None) -> list[str]:
    """n documents sampled from a document start, cut at the first document break."""
    outs = model.generate([vocab.encode(DOCUMENT_BREAK)] * n, chars, temperature, generator, logit_bias)
    return [vocab.decode(out).split(DOCUMENT_BREAK, 1)[0].strip() for out in outs]


def sampled_continuations(model, vocab: CharVocabulary, prompt: str, n: int, chars: int,
                          generator: torch.Generator) -> list[str]:
    """n continuations of one prompt at temperature 1, each cut at its first sentence end."""
    outs = model.generate([vocab.encode(DOCUMENT_BREAK + prompt)] * n, chars, 1.0, generator)
    return [first_sentence(vocab.decode(out)) for out in outs]


def extraction_pairs(documents: list[str], n: int, prefix_chars: int, target_chars: int,
                     seed: int) -> list[tuple[str, str]]:
    """(prefix, true next characters) at seeded random offsets of documents long enough to hold both."""
    long_enough = [d for d in documents if len(d) >= prefix_chars + target_chars]
    if not long_enough:
        return []
    rng = np.random.default_rng(seed)
    pairs = []
    for doc in rng.choice(len(long_enough), size=n, replace=True):
        text = long_enough[doc]
        start = int(rng.integers(0, len(text) - prefix_chars - target_chars + 1))
        pairs.append((text[start : start + prefix_chars], text[start + prefix_chars : start + prefix_chars + target_chars]))
    return pairs


def greedy_continuations(model, vocab: CharVocabulary, prefixes: list[str], chars: int) -> list[str]:
    """Greedy continuation of each prefix, `chars` characters long (prefixes of one length batch together)."""
    outs = model.generate([vocab.encode(p) for p in prefixes], chars, 0.0, None)
    return [vocab.decode(out) for out in outs]
