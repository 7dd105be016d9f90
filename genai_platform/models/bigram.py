"""Character bigram frequencies of real text as a text generator: a model whose distribution is known, not a
family. The metric self-test samples it with and without the watermark (evaluation/marks.py)."""

from __future__ import annotations

import torch

from genai_platform.models.base import TextGenerator


class CharacterBigrams(TextGenerator):
    """P(next | previous) from the bigram counts within `documents` plus one, over `characters` (every character
    of theirs)."""

    def __init__(self, documents: list[str], characters: list[str]):
        super().__init__()
        index = {c: i for i, c in enumerate(characters)}
        counts = torch.ones(len(characters), len(characters))
        for document in documents:
            ids = torch.tensor([index[c] for c in document], dtype=torch.long)
            counts.index_put_((ids[:-1], ids[1:]), torch.ones(max(len(ids) - 1, 0)), accumulate=True)
        self.register_buffer("log_probs", (counts / counts.sum(1, keepdim=True)).log())

    def training_loss(self, batch, phase):
        raise NotImplementedError("counted, not trained")

    def negative_log_likelihood(self, ids: torch.Tensor) -> float:
        return -float(self.log_probs[ids[:-1], ids[1:]].sum())

    def start_decoding(self, prompts: list[torch.Tensor]) -> tuple[torch.Tensor, None]:
        return self.log_probs[torch.stack([p[-1] for p in prompts])], None

    def continue_decoding(self, state: None, tokens: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.log_probs[tokens], None
