"""Batch samplers over tensors already on the training device (no DataLoader).

Indices are drawn on the CPU from the loop's seeded generator, so a resumed run
draws exactly the batches an uninterrupted one would have. Processes that split a batch
draw the same whole batch with the same generator and each keeps its own rows. A sampler
also knows how much data one pass over it is, so a budget can be set in passes (epochs)
over the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from genai_platform.models.base import BatchShard


@dataclass(frozen=True)
class BatchSampler:
    """`sampler(generator, batch_size, shard)` draws a batch of `batch_size` rows and returns the shard's
    rows of it; a pass over the data is `examples` `unit`s, and each batch row holds `units_per_row` of
    them (1 image, or a window of tokens)."""
    draw: Callable[[torch.Generator, int, BatchShard], object]
    examples: int
    unit: str
    units_per_row: int = 1

    def __call__(self, generator: torch.Generator, batch_size: int, shard: BatchShard = BatchShard()):
        return self.draw(generator, batch_size, shard)

    def passes(self, steps: int, batch_size: int) -> float:
        """Passes over the data that `steps` batches make."""
        return steps * batch_size * self.units_per_row / self.examples

    def steps_for(self, passes: float, batch_size: int) -> int:
        """Batches that make `passes` passes over the data (at least one)."""
        return max(1, math.ceil(passes * self.examples / (batch_size * self.units_per_row)))


def image_batches(images: torch.Tensor, labels: torch.Tensor | None = None) -> BatchSampler:
    """Random rows of `images` (and the matching `labels`, when given)."""

    def sample(generator: torch.Generator, batch_size: int, shard: BatchShard):
        index = shard.take(torch.randint(images.shape[0], (batch_size,), generator=generator)).to(images.device)
        if labels is None:
            return images[index]
        return images[index], labels[index]

    return BatchSampler(sample, examples=images.shape[0], unit="images")


def token_windows(tokens: torch.Tensor, window: int) -> BatchSampler:
    """Random windows of `window + 1` consecutive tokens: inputs plus next-token targets."""
    if tokens.numel() <= window + 1:
        raise ValueError(f"the token stream has {tokens.numel()} tokens; need more than {window + 1}")
    offsets = torch.arange(window + 1, device=tokens.device)

    def sample(generator: torch.Generator, batch_size: int, shard: BatchShard):
        starts = shard.take(torch.randint(tokens.numel() - window - 1, (batch_size,), generator=generator))
        return tokens[starts.to(tokens.device)[:, None] + offsets]

    return BatchSampler(sample, examples=tokens.numel(), unit="tokens", units_per_row=window)
