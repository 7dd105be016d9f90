"""The contract between a model and the platform: what training, sampling and evaluation call.

Every family's model subclasses ImageGenerator or TextGenerator. The abstract methods must be
written; the hooks have no-op defaults and are overridden only by the models that need them,
so nothing in the platform probes a model with `hasattr`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from genai_platform.models.sampling import next_token

SINGLE_PHASE = "loss"  # the phase name of a model trained by one optimizer


@dataclass(frozen=True)
class BatchShard:
    """This process's rows of a training batch split over `count` processes: the `index`-th of `count`
    equal, contiguous blocks. One process holds the whole batch (0 of 1)."""
    index: int = 0
    count: int = 1

    def rows(self, batch_rows: int) -> slice:
        size = batch_rows // self.count
        return slice(self.index * size, (self.index + 1) * size)

    def take(self, whole: torch.Tensor) -> torch.Tensor:
        return whole[self.rows(whole.shape[0])]


class TrainableModel(nn.Module, ABC):
    """A module the one training loop (training/loop.py) can train."""

    config: object  # the config dataclass the model was built from (a family that builds on it reads it)
    batch_shard: BatchShard = BatchShard()  # set by the training loop when batches are split over processes
    noise_generator: torch.Generator | None = None  # set by the training loop: seeded anew every step

    @abstractmethod
    def training_loss(self, batch, phase: str) -> torch.Tensor:
        """Scalar loss of one batch for `phase` (SINGLE_PHASE unless training_phases says otherwise)."""

    def training_phases(self) -> dict[str, list[nn.Parameter]]:
        """Parameter groups, each with its own optimizer, stepped in this order every training step
        (a GAN: discriminator, then generator). Default: one phase over every parameter."""
        return {SINGLE_PHASE: list(self.parameters())}

    def initialize(self, data: torch.Tensor) -> None:
        """Data-dependent start before the first step, after initialize_from (a GP-LVM's PCA latents, a latent
        diffusion's latent scale). Default: nothing."""

    def initialize_from(self, pretrained: nn.Module) -> None:
        """Start from the trained model of the family this one builds on (registry: Family.pretrained)."""

    def finish_training(self, data: torch.Tensor, seed: int) -> str | None:
        """Fits after the last gradient step that are not gradient steps, on the training data (a latent
        mixture: models/latent_mixture.py); a line for the training log. Default: nothing."""

    # A training loss's random draws per batch row go through these two: every process draws them for
    # the whole batch from the step's shared generator and keeps its own rows, so a batch split over
    # processes sees the draws one process would have made. (Dropout draws from torch's global generator,
    # which the loop seeds differently in every process.)
    def training_noise(self, like: torch.Tensor) -> torch.Tensor:
        """Standard normal noise shaped like this process's `like` rows."""
        whole = torch.randn((like.shape[0] * self.batch_shard.count, *like.shape[1:]), dtype=like.dtype,
                            device=like.device, generator=self.noise_generator)
        return self.batch_shard.take(whole)

    def training_randint(self, high: int, like: torch.Tensor) -> torch.Tensor:
        """One integer in [0, high) for each of this process's `like` rows."""
        return self.batch_shard.take(torch.randint(high, (like.shape[0] * self.batch_shard.count,),
                                                   device=like.device, generator=self.noise_generator))


class ImageGenerator(TrainableModel):
    @abstractmethod
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` images [n, C, H, W] on the CPU with pixels in [0, 1], drawn with `generator`."""

    def negative_log_likelihood_bound(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor | None:
        """Per-image upper bound [N] on -log p(image) in nats (on the CPU) under the family's own likelihood model,
        above the floor no model of its kind can beat (for Bernoulli pixels, the grey values' own entropy), its
        random draws made with `generator`; None (the default): the family has none."""
        return None


class LogitBias(Protocol):
    """Logits added to a text family's next-token logits, chosen by the tokens before (the watermark's green
    list, marking/text_mark.py)."""

    context: int  # how many previous tokens it reads

    def __call__(self, previous: torch.Tensor) -> torch.Tensor:
        """[B, context] token ids, -1 before the start of the prompt -> [B, vocab] logits to add."""


class TextGenerator(TrainableModel):
    """A family gives its next-token distribution (start_decoding, continue_decoding); the platform chooses the
    tokens (generate), so a change to how tokens are chosen, such as the watermark's logit bias, reaches every
    text family."""

    @abstractmethod
    def start_decoding(self, prompts: list[torch.Tensor]) -> tuple[torch.Tensor, object]:
        """The next-token logits [len(prompts), vocab] after each (non-empty) prompt, and the state that
        continue_decoding carries on from."""

    @abstractmethod
    def continue_decoding(self, state: object, tokens: torch.Tensor) -> tuple[torch.Tensor, object]:
        """The logits after `tokens` [len(prompts)] are appended to the decoded text, and the new state."""

    @torch.no_grad()
    def generate(self, prompts: list[torch.Tensor], max_new_tokens: int, temperature: float,
                 generator: torch.Generator | None, logit_bias: LogitBias | None = None) -> torch.Tensor:
        """[len(prompts), max_new_tokens] token ids continuing each prompt; temperature 0 is greedy. With
        `logit_bias`, each step adds what it gives for the last `logit_bias.context` tokens of each row."""
        logits, state = self.start_decoding(prompts)
        if logit_bias is not None:
            width = logit_bias.context
            recent = torch.full((len(prompts), width), -1, dtype=torch.long)
            for row, prompt in enumerate(prompts):
                tail = prompt[-width:].cpu()
                recent[row, width - len(tail):] = tail
        out = []
        for position in range(max_new_tokens):
            if logit_bias is not None:
                logits = logits.float() + logit_bias(recent).to(logits.device)
            chosen = next_token(logits, temperature, generator)
            out.append(chosen)
            if logit_bias is not None:
                recent = torch.cat([recent[:, 1:], chosen.cpu().view(-1, 1)], dim=1)
            if position + 1 < max_new_tokens:
                logits, state = self.continue_decoding(state, chosen)
        return torch.stack(out, dim=1).cpu()

    @abstractmethod
    def negative_log_likelihood(self, ids: torch.Tensor) -> float:
        """Total negative log-likelihood (nats) of ids[1:] given what precedes each token."""
