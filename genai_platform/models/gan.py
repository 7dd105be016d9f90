"""DCGAN for small images (Radford et al., 2016), sized for 8 to 32 pixel images.

Weights start from N(0, 0.02) (batch-norm gains from N(1, 0.02)); the discriminator and
the generator take alternating Adam steps on binary cross-entropy with logits, the
generator with the non-saturating loss. Pixels are mapped from [0, 1] to [-1, 1] for a
tanh output and back when sampling; images are padded to a multiple of 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_platform.models.base import ImageGenerator
from genai_platform.models.shapes import ImageShape, padded_size


@dataclass
class GANConfig:
    latent_dim: int = 32
    generator_channels: int = 64
    discriminator_channels: int = 32


class DCGAN(ImageGenerator):
    def __init__(self, config: GANConfig, shape: ImageShape):
        super().__init__()
        self.config, self.shape = config, shape
        self.padded_h, self.padded_w = padded_size(shape.height, 4), padded_size(shape.width, 4)
        g, d = config.generator_channels, config.discriminator_channels
        grid = (2 * g, self.padded_h // 4, self.padded_w // 4)
        self.generator = nn.Sequential(
            nn.Linear(config.latent_dim, grid[0] * grid[1] * grid[2], bias=False), nn.Unflatten(1, grid),
            nn.BatchNorm2d(2 * g), nn.ReLU(),
            nn.ConvTranspose2d(2 * g, g, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(g), nn.ReLU(),
            nn.ConvTranspose2d(g, shape.channels, 4, stride=2, padding=1), nn.Tanh(),
        )
        self.discriminator = nn.Sequential(
            nn.Conv2d(shape.channels, d, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(d, 2 * d, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * d), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * d * grid[1] * grid[2], 1),
        )
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)

    def training_phases(self) -> dict[str, list[nn.Parameter]]:
        return {"discriminator": list(self.discriminator.parameters()),
                "generator": list(self.generator.parameters())}

    def generate_scaled(self, n: int, device, generator: torch.Generator | None = None) -> torch.Tensor:
        """`n` generated images in [-1, 1] at the padded size (what the discriminator sees)."""
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(device)
        fake = self.generator(z)
        # the padding of real images is 0 in [0, 1], that is -1 here
        keep = torch.zeros_like(fake, dtype=torch.bool)
        keep[:, :, : self.shape.height, : self.shape.width] = True
        return torch.where(keep, fake, torch.full_like(fake, -1.0))

    def _scaled_real(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, self.padded_w - self.shape.width, 0, self.padded_h - self.shape.height))
        return x * 2 - 1

    def training_loss(self, x: torch.Tensor, phase: str) -> torch.Tensor:
        fake = self.generate_scaled(x.shape[0], x.device)
        if phase == "discriminator":
            real_logits = self.discriminator(self._scaled_real(x)).float()
            fake_logits = self.discriminator(fake.detach()).float()
            return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                    + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        if phase == "generator":  # non-saturating: maximise log D(G(z))
            fake_logits = self.discriminator(fake).float()
            return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
        raise ValueError(f"unknown GAN training phase {phase!r}")

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` images in [0, 1] from latents drawn with `generator`."""
        device = next(self.parameters()).device
        fake = self.generate_scaled(n, device, generator)[:, :, : self.shape.height, : self.shape.width]
        return ((fake.float() + 1) / 2).cpu()
