"""Batch samplers over tensors already on the training device (no DataLoader).

Indices are drawn on the CPU from the loop's seeded generator, so a resumed run
draws exactly the batches an uninterrupted one would have.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

BatchSampler = Callable[[torch.Generator, int], object]


def image_batches(images: torch.Tensor, labels: torch.Tensor | None = None) -> BatchSampler:
    """Random rows of `images` (and the matching `labels`, when given)."""

    def sample(generator: torch.Generator, batch_size: int):
        index = torch.randint(images.shape[0], (batch_size,), generator=generator).to(images.device)
        if labels is None:
            return images[index]
        return images[index], labels[index]

    return sample


def token_windows(tokens: torch.Tensor, window: int) -> BatchSampler:
    """Random windows of `window + 1` consecutive tokens: inputs plus next-token targets."""
    if tokens.numel() <= window + 1:
        raise ValueError(f"the token stream has {tokens.numel()} tokens; need more than {window + 1}")
    offsets = torch.arange(window + 1, device=tokens.device)

    def sample(generator: torch.Generator, batch_size: int):
        starts = torch.randint(tokens.numel() - window - 1, (batch_size,), generator=generator)
        return tokens[starts.to(tokens.device)[:, None] + offsets]

    return sample
