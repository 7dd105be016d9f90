"""Token choice shared by the text models."""

from __future__ import annotations

import torch


def next_token(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> torch.Tensor:
    """One token per row of `logits`: argmax at temperature 0, else a draw from softmax(logits / T).

    Draws happen on the CPU from `generator` (the global generator when None), so a seed gives
    the same text on any device.
    """
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1).cpu()
    return torch.multinomial(probs, 1, generator=generator)[:, 0].to(logits.device)
