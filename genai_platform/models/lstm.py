"""Character-level LSTM language model (Karpathy's char-rnn, in plain torch)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_platform.models.base import SINGLE_PHASE, TextGenerator


@dataclass
class LSTMConfig:
    embedding_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.1
    context_length: int = 128


class CharLSTM(TextGenerator):
    def __init__(self, config: LSTMConfig, vocab_size: int):
        super().__init__()
        self.config, self.vocab_size = config, vocab_size
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim)
        self.lstm = nn.LSTM(
            config.embedding_dim, config.hidden_size, config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0, batch_first=True,
        )
        self.head = nn.Linear(config.hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        out, state = self.lstm(self.embedding(ids), state)
        return self.head(out), state

    def training_loss(self, windows: torch.Tensor, phase: str = SINGLE_PHASE) -> torch.Tensor:
        logits, _ = self(windows[:, :-1])
        return F.cross_entropy(logits.float().reshape(-1, self.vocab_size), windows[:, 1:].reshape(-1))

    @torch.no_grad()
    def negative_log_likelihood(self, ids: torch.Tensor, chunk: int = 4096) -> float:
        """Total nats of predicting ids[1:] from everything before, carrying state across chunks."""
        device = next(self.parameters()).device
        ids = ids.to(device)
        total, state = 0.0, None
        for start in range(0, ids.numel() - 1, chunk):
            inputs = ids[start : start + chunk][None]
            targets = ids[start + 1 : start + chunk + 1][None]
            logits, state = self(inputs[:, : targets.shape[1]], state)
            total += F.cross_entropy(logits.float()[0], targets[0], reduction="sum").item()
        return total

    def start_decoding(self, prompts: list[torch.Tensor]) -> tuple[torch.Tensor, tuple]:
        device = next(self.parameters()).device
        if len({p.numel() for p in prompts}) == 1:
            logits, state = self(torch.stack(prompts).to(device))
            return logits[:, -1], state
        # prompts differ in length: warm each state up alone
        states, last = [], []
        for prompt in prompts:
            prompt_logits, state = self(prompt.to(device)[None])
            states.append(state)
            last.append(prompt_logits[:, -1])
        return torch.cat(last), (torch.cat([s[0] for s in states], dim=1), torch.cat([s[1] for s in states], dim=1))

    def continue_decoding(self, state: tuple, tokens: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        logits, state = self(tokens[:, None], state)
        return logits[:, -1], state
