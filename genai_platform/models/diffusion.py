"""Denoising diffusion (DDPM, Ho et al. 2020) with a small U-Net, and a DDIM sampler
(Song et al. 2021) that takes a fraction of the steps.

Pixels are mapped to [-1, 1]; the network predicts the added noise (the "simple" loss).
The beta schedule is linear (Ho et al.) or cosine (Nichol & Dhariwal 2021). Train with
`ema_decay` > 0 in the loop: samples come from the averaged weights it exports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_platform.models.base import SINGLE_PHASE, ImageGenerator
from genai_platform.models.shapes import ImageShape, padded_size

BETA_SCHEDULES = ("linear", "cosine")


@dataclass
class DiffusionConfig:
    timesteps: int = 1000
    beta_schedule: str = "cosine"
    beta_start: float = 1e-4  # linear schedule only
    beta_end: float = 0.02  # linear schedule only
    channels: int = 64
    sampling_steps: int = 50  # DDIM steps when sampling; equal to timesteps: ancestral DDPM
    ddim_eta: float = 0.0  # 0: deterministic DDIM; 1: DDPM-like noise at each step

    def __post_init__(self):
        if self.beta_schedule not in BETA_SCHEDULES:
            raise ValueError(f"beta_schedule must be one of {', '.join(BETA_SCHEDULES)}, got {self.beta_schedule!r}")
        if not 1 <= self.sampling_steps <= self.timesteps:
            raise ValueError(f"sampling_steps must be in 1..timesteps ({self.timesteps}), got {self.sampling_steps}")


def beta_schedule(config: DiffusionConfig) -> torch.Tensor:
    """The T noise variances beta_1..beta_T, float64."""
    if config.beta_schedule == "linear":
        return torch.linspace(config.beta_start, config.beta_end, config.timesteps, dtype=torch.float64)
    s = 0.008
    t = torch.arange(config.timesteps + 1, dtype=torch.float64) / config.timesteps
    alpha_bar = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ResidualBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, time_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(min(8, in_channels), in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time = nn.Linear(time_dim, out_channels)
        self.norm2 = nn.GroupNorm(min(8, out_channels), out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.time(time)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """Two resolutions (full and half) with a bottleneck at a quarter, skip connections between."""

    def __init__(self, image_channels: int, channels: int):
        super().__init__()
        c, time_dim = channels, 4 * channels
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(c, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.stem = nn.Conv2d(image_channels, c, 3, padding=1)
        self.down1 = ResidualBlock(c, c, time_dim)
        self.downsample1 = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.down2 = ResidualBlock(c, 2 * c, time_dim)
        self.downsample2 = nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)
        self.middle = ResidualBlock(2 * c, 2 * c, time_dim)
        self.upsample2 = nn.ConvTranspose2d(2 * c, 2 * c, 4, stride=2, padding=1)
        self.up2 = ResidualBlock(4 * c, 2 * c, time_dim)
        self.upsample1 = nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1)
        self.up1 = ResidualBlock(2 * c, c, time_dim)
        self.head = nn.Sequential(nn.GroupNorm(min(8, c), c), nn.SiLU(), nn.Conv2d(c, image_channels, 3, padding=1))
        self.embedding_dim = c

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        time = self.time_mlp(timestep_embedding(t, self.embedding_dim))
        h1 = self.down1(self.stem(x), time)
        h2 = self.down2(self.downsample1(h1), time)
        h = self.middle(self.downsample2(h2), time)
        h = self.up2(torch.cat([self.upsample2(h), h2], dim=1), time)
        h = self.up1(torch.cat([self.upsample1(h), h1], dim=1), time)
        return self.head(h)


class DDPM(ImageGenerator):
    def __init__(self, config: DiffusionConfig, shape: ImageShape):
        super().__init__()
        self.config, self.shape = config, shape
        self.padded_h, self.padded_w = padded_size(shape.height, 4), padded_size(shape.width, 4)
        self.network = UNet(shape.channels, config.channels)
        betas = beta_schedule(config)
        # persistent=False: derived from the config, so not part of the exported weights
        self.register_buffer("alpha_bar", torch.cumprod(1 - betas, dim=0).float(), persistent=False)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, self.padded_w - self.shape.width, 0, self.padded_h - self.shape.height))

    def training_loss(self, x: torch.Tensor, phase: str = SINGLE_PHASE) -> torch.Tensor:
        x0 = self._pad(x) * 2 - 1
        t = self.training_randint(self.config.timesteps, x0)
        noise = self.training_noise(x0)
        a = self.alpha_bar[t][:, None, None, None]
        predicted = self.network(a.sqrt() * x0 + (1 - a).sqrt() * noise, t)
        return F.mse_loss(predicted.float(), noise.float())

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, steps: int | None = None) -> torch.Tensor:
        """`n` images in [0, 1] by DDIM over `steps` evenly spaced timesteps (default: the config's).

        With eta = 1 and steps = T this is DDPM's ancestral sampler. The predicted clean
        image is clipped to [-1, 1] at each step.
        """
        device = next(self.parameters()).device
        steps = steps or self.config.sampling_steps
        shape = (n, self.shape.channels, self.padded_h, self.padded_w)
        x = torch.randn(shape, generator=generator).to(device)
        times = torch.linspace(self.config.timesteps - 1, 0, steps).round().long().tolist()
        for i, t in enumerate(times):
            a = self.alpha_bar[t]
            a_prev = self.alpha_bar[times[i + 1]] if i + 1 < len(times) else torch.ones_like(a)
            eps = self.network(x, torch.full((n,), t, device=device)).float()
            x0 = ((x - (1 - a).sqrt() * eps) / a.sqrt()).clamp(-1, 1)
            eps = (x - a.sqrt() * x0) / (1 - a).sqrt()  # the noise consistent with the clipped x0
            sigma = self.config.ddim_eta * ((1 - a_prev) / (1 - a) * (1 - a / a_prev)).clamp(min=0).sqrt()
            x = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
            if self.config.ddim_eta > 0 and i + 1 < len(times):
                x = x + sigma * torch.randn(shape, generator=generator).to(device)
        return ((x[:, :, : self.shape.height, : self.shape.width] + 1) / 2).clamp(0, 1).cpu()
