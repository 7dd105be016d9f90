"""Adversarial text generation, SeqGAN-style (Yu et al., 2017): experimental.

The generator is the character LSTM, started from the maximum-likelihood model's weights.
It is trained by policy gradient (REINFORCE) against a recurrent discriminator. Instead of
SeqGAN's Monte Carlo roll-outs, the discriminator scores every prefix, so each character
gets a dense reward (as in ScratchGAN, de Masson d'Autume et al., 2019). The return is the
discounted sum of later rewards, minus the batch mean at that position as a baseline.
A weighted maximum-likelihood term on real text keeps the generator from drifting into
degenerate text (set mle_weight to 0 for pure adversarial training).

Each adversarial step starts from a real window: the first `prompt_length` characters are
kept, the rest is generated, and the discriminator is asked which continuation is real.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_platform.models.base import TextGenerator
from genai_platform.models.lstm import CharLSTM, LSTMConfig


@dataclass
class TextGANConfig:
    generator: LSTMConfig | None = None  # set from the maximum-likelihood LSTM it starts from
    discriminator_embedding: int = 32
    discriminator_hidden: int = 128
    context_length: int = 64  # characters per adversarial window: the real prompt, then generated text
    prompt_length: int = 16
    discount: float = 0.95
    mle_weight: float = 0.5
    temperature: float = 1.0

    def __post_init__(self):
        if isinstance(self.generator, dict):  # read back from a manifest
            self.generator = LSTMConfig(**self.generator)
        if self.context_length <= self.prompt_length:
            raise ValueError(f"context_length {self.context_length} leaves nothing to generate after "
                             f"a {self.prompt_length}-character prompt")


class PrefixDiscriminator(nn.Module):
    """A GRU reading characters; the logit at position t says whether text[: t + 1] is real."""

    def __init__(self, vocab_size: int, embedding: int, hidden: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding)
        self.rnn = nn.GRU(embedding, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embedding(ids))
        return self.head(out)[..., 0]


class TextGAN(TextGenerator):
    def __init__(self, config: TextGANConfig, vocab_size: int):
        super().__init__()
        if config.generator is None:
            raise ValueError("TextGANConfig.generator is unset: it comes from the trained LSTM the GAN starts from")
        self.config, self.vocab_size = config, vocab_size
        self.generator = CharLSTM(config.generator, vocab_size)
        self.discriminator = PrefixDiscriminator(vocab_size, config.discriminator_embedding,
                                                 config.discriminator_hidden)

    def initialize_from(self, pretrained: CharLSTM) -> None:
        """Start the generator from the maximum-likelihood LSTM's weights."""
        self.generator.load_state_dict(pretrained.state_dict())

    def training_phases(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()),
                "generator": list(self.generator.parameters())}

    def _fake(self, real: torch.Tensor) -> torch.Tensor:
        """Real windows with everything after the prompt replaced by the generator's sample."""
        keep = self.config.prompt_length
        with torch.no_grad():
            continuation = self.generator.generate(list(real[:, :keep]), real.shape[1] - keep,
                                                   self.config.temperature, None)
        return torch.cat([real[:, :keep], continuation.to(real.device)], dim=1)

    def training_loss(self, windows: torch.Tensor, phase: str) -> torch.Tensor:
        keep = self.config.prompt_length
        fake = self._fake(windows)
        if phase == "discriminator":
            real_logits = self.discriminator(windows)[:, keep:].float()
            fake_logits = self.discriminator(fake)[:, keep:].float()
            return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                    + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        if phase == "generator":
            with torch.no_grad():
                rewards = torch.sigmoid(self.discriminator(fake)[:, keep:].float())
                returns = torch.zeros_like(rewards)
                running = torch.zeros_like(rewards[:, 0])
                for t in reversed(range(rewards.shape[1])):
                    running = rewards[:, t] + self.config.discount * running
                    returns[:, t] = running
                advantages = returns - returns.mean(dim=0, keepdim=True)
            logits, _ = self.generator(fake[:, :-1])
            log_probs = torch.log_softmax(logits.float() / self.config.temperature, dim=-1)
            chosen = log_probs.gather(2, fake[:, 1:, None])[..., 0][:, keep - 1:]  # the generated characters
            policy_loss = -(chosen * advantages).mean()
            return policy_loss + self.config.mle_weight * self.generator.training_loss(windows)
        raise ValueError(f"unknown text GAN training phase {phase!r}")

    def negative_log_likelihood(self, ids: torch.Tensor) -> float:
        return self.generator.negative_log_likelihood(ids)

    def start_decoding(self, prompts: list[torch.Tensor]) -> tuple[torch.Tensor, object]:
        return self.generator.start_decoding(prompts)

    def continue_decoding(self, state: object, tokens: torch.Tensor) -> tuple[torch.Tensor, object]:
        return self.generator.continue_decoding(state, tokens)
