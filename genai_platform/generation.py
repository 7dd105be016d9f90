"""Sampling from trained models: image batches, text continuations and free text."""

from __future__ import annotations

import re

import numpy as np
import torch

from genai_platform.models.vocab import DOCUMENT_BREAK, CharVocabulary

SENTENCE_END = re.compile(r"[.!?]")
PROMPT_WORDS = 4
MIN_PROMPT_SENTENCE_WORDS = 8


def image_samples(model, n: int, seed: int, batch_size: int = 1000) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    chunks = [model.sample(min(batch_size, n - i), generator) for i in range(0, n, batch_size)]
    return torch.cat(chunks).clamp(0, 1).numpy().astype(np.float32)


def continuation_prompts(sentences: list[str], limit: int) -> list[tuple[str, str]]:
    """(prompt, true continuation): the first words of held-out sentences and the rest."""
    pairs = []
    for sentence in sentences:
        words = sentence.split(" ")
        if len(words) >= MIN_PROMPT_SENTENCE_WORDS:
            pairs.append((" ".join(words[:PROMPT_WORDS]) + " ", " ".join(words[PROMPT_WORDS:])))
        if len(pairs) == limit:
            break
    return pairs


def _first_sentence(text: str) -> str:
    text = text.split(DOCUMENT_BREAK, 1)[0]
    match = SENTENCE_END.search(text)
    return (text[: match.end()] if match else text).strip()


def text_samples(model, vocab: CharVocabulary, prompts: list[tuple[str, str]], free_samples: int,
                 free_chars: int, seed: int) -> list[dict]:
    """Greedy continuations of `prompts` (cut at the sentence end) and sampled free documents."""
    generator = torch.Generator().manual_seed(seed)
    rows = []
    if prompts:
        longest = max(len(reference) for _, reference in prompts) + 20
        ids = model.generate([vocab.encode(DOCUMENT_BREAK + p) for p, _ in prompts], longest, 0.0, generator)
        for (prompt, reference), out in zip(prompts, ids):
            rows.append({"kind": "continuation", "prompt": prompt, "reference": reference,
                         "text": _first_sentence(vocab.decode(out))})
    if free_samples:
        starts = [vocab.encode(DOCUMENT_BREAK)] * free_samples
        for out in model.generate(starts, free_chars, 1.0, generator):
            rows.append({"kind": "free", "prompt": None, "reference": None,
                         "text": vocab.decode(out).split(DOCUMENT_BREAK, 1)[0].strip()})
    return rows
