"""A small GPT over characters (after nanoGPT): pre-norm blocks, causal scaled-dot-product
attention, learned positions, output head tied to the token embedding."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_platform.models.base import SINGLE_PHASE, TextGenerator

PAD = 0  # the vocabulary's unknown-character id; padded positions are masked out of attention


@dataclass
class TransformerConfig:
    context_length: int = 128
    embedding_dim: int = 128
    num_layers: int = 4
    num_heads: int = 4
    dropout: float = 0.0

    def __post_init__(self):
        if self.embedding_dim % self.num_heads:
            raise ValueError(f"embedding_dim {self.embedding_dim} is not divisible by num_heads {self.num_heads}")


class CausalSelfAttention(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.heads, self.dropout = config.num_heads, config.dropout
        self.qkv = nn.Linear(config.embedding_dim, 3 * config.embedding_dim)
        self.out = nn.Linear(config.embedding_dim, config.embedding_dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in self.qkv(x).split(d, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        d = config.embedding_dim
        self.attention_norm, self.attention = nn.LayerNorm(d), CausalSelfAttention(config)
        self.mlp_norm = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d), nn.Dropout(config.dropout))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x), mask)
        return x + self.mlp(self.mlp_norm(x))


class CharTransformer(TextGenerator):
    def __init__(self, config: TransformerConfig, vocab_size: int):
        super().__init__()
        self.config, self.vocab_size = config, vocab_size
        self.token_embedding = nn.Embedding(vocab_size, config.embedding_dim)
        self.position_embedding = nn.Embedding(config.context_length, config.embedding_dim)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.final_norm = nn.LayerNorm(config.embedding_dim)
        self.head = nn.Linear(config.embedding_dim, vocab_size, bias=False)
        self.head.weight = self.token_embedding.weight  # tied: one matrix reads and writes characters
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: residual projections scaled down by depth
            for projection in (block.attention.out, block.mlp[2]):
                nn.init.normal_(projection.weight, std=0.02 / math.sqrt(2 * config.num_layers))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, ids: torch.Tensor, positions: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        if ids.shape[1] > self.config.context_length:
            raise ValueError(f"{ids.shape[1]} tokens exceed the context length {self.config.context_length}")
        if positions is None:
            positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.token_embedding(ids) + self.position_embedding(positions)
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.final_norm(x))

    def training_loss(self, windows: torch.Tensor, phase: str = SINGLE_PHASE) -> torch.Tensor:
        logits = self(windows[:, :-1])
        return F.cross_entropy(logits.float().reshape(-1, self.vocab_size), windows[:, 1:].reshape(-1))

    @torch.no_grad()
    def negative_log_likelihood(self, ids: torch.Tensor) -> float:
        """Total nats of predicting ids[1:]: sliding windows, each token scored with at least
        half a context of history (the first half-context with what precedes it)."""
        device = next(self.parameters()).device
        ids = ids.to(device)
        context, stride = self.config.context_length, max(1, self.config.context_length // 2)
        total, target = 0.0, 1  # ids[target] is the next token to score
        while target < ids.numel():
            end = min(ids.numel(), context + 1 if target == 1 else target + stride)
            start = max(0, end - 1 - context)
            logits = self(ids[start : end - 1][None])[0]  # logits[j] predicts ids[start + j + 1]
            total += F.cross_entropy(logits[target - start - 1 :].float(), ids[target:end], reduction="sum").item()
            target = end
        return total

    def start_decoding(self, prompts: list[torch.Tensor]) -> tuple[torch.Tensor, tuple]:
        """Prompts are left-padded to one length; padding is masked out of attention and positions count real
        tokens only, so a padded prompt sees what it would alone."""
        device = next(self.parameters()).device
        longest = max(p.numel() for p in prompts)
        ids = torch.full((len(prompts), longest), PAD, dtype=torch.long)
        real = torch.zeros((len(prompts), longest), dtype=torch.bool)
        for row, prompt in enumerate(prompts):
            ids[row, longest - prompt.numel():] = prompt
            real[row, longest - prompt.numel():] = True
        return self._next_logits(ids.to(device), real.to(device))

    def continue_decoding(self, state: tuple, tokens: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        ids, real = state
        return self._next_logits(torch.cat([ids, tokens[:, None]], dim=1),
                                 torch.cat([real, torch.ones_like(tokens[:, None], dtype=torch.bool)], dim=1))

    def _next_logits(self, ids: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        window, window_real = ids[:, -self.config.context_length:], real[:, -self.config.context_length:]
        t = window.shape[1]
        positions = (window_real.long().cumsum(dim=1) - 1).clamp(min=0)
        causal = torch.ones(t, t, dtype=torch.bool, device=ids.device).tril()
        # a padded query attends to itself only, so no row of the mask is empty
        mask = (causal & window_real[:, None, :]) | torch.eye(t, dtype=torch.bool, device=ids.device)
        return self(window, positions, mask[:, None])[:, -1], (ids, real)
