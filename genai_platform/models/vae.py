"""Convolutional variational autoencoder for small images (Kingma & Welling, 2014).

Pixels are in [0, 1] and modelled as Bernoulli probabilities; images of any size are
padded to a multiple of 4 for the two stride-2 stages and cropped back on decode.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_platform.models.base import SINGLE_PHASE, ImageGenerator
from genai_platform.models.shapes import ImageShape, padded_size


@dataclass
class VAEConfig:
    latent_dim: int = 16
    hidden_channels: int = 32
    beta: float = 1.0


class ConvVAE(ImageGenerator):
    def __init__(self, config: VAEConfig, shape: ImageShape):
        super().__init__()
        self.config, self.shape = config, shape
        h = config.hidden_channels
        self.padded_h, self.padded_w = padded_size(shape.height, 4), padded_size(shape.width, 4)
        grid = (2 * h, self.padded_h // 4, self.padded_w // 4)
        flat = grid[0] * grid[1] * grid[2]
        self.encoder = nn.Sequential(
            nn.Conv2d(shape.channels, h, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(h, 2 * h, 3, stride=2, padding=1), nn.GELU(),
            nn.Flatten(), nn.Linear(flat, 2 * config.latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(config.latent_dim, flat), nn.GELU(), nn.Unflatten(1, grid),
            nn.ConvTranspose2d(2 * h, h, 4, stride=2, padding=1), nn.GELU(),
            nn.ConvTranspose2d(h, shape.channels, 4, stride=2, padding=1),
        )

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, self.padded_w - self.shape.width, 0, self.padded_h - self.shape.height))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.encoder(self._pad(x)).chunk(2, dim=1)
        return mean, log_var.clamp(-12, 12)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)[:, :, : self.shape.height, : self.shape.width]

    def training_loss(self, x: torch.Tensor, phase: str = SINGLE_PHASE) -> torch.Tensor:
        """Negative ELBO per image (nats): Bernoulli reconstruction + beta * KL."""
        mean, log_var = self.encode(x)
        z = mean + self.training_noise(mean) * torch.exp(0.5 * log_var)
        logits = self.decode_logits(z).float()
        reconstruction = F.binary_cross_entropy_with_logits(logits, x.float(), reduction="sum")
        kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())
        return (reconstruction + self.config.beta * kl.float()) / x.shape[0]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` images in [0, 1]: decoder means of latents drawn from the prior."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(device)
        return torch.sigmoid(self.decode_logits(z).float()).cpu()
