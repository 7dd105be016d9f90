"""Denoising diffusion (DDPM, Ho et al. 2020) in the latent space of the trained vae (latent diffusion,
Rombach et al. 2022), sampled with DDIM (Song et al. 2021).

Why latents (models/latent_space.py): in pixels, at 28 px a U-Net step costs about 10x an 8-px one, so on 2
CPU cores the default budget ended training after ~350 steps (FID 37-106x the floor) and drawing the gate's
8,000 samples did not finish in 30 minutes (bench/RESULTS.md). Here a small residual MLP denoises the vae's
standardised posterior means, and a sample is the vae's decoder applied to a denoised latent.

The network predicts the added noise (the "simple" loss); the beta schedule is linear (Ho et al.) or cosine
(Nichol & Dhariwal 2021). Train with `ema_decay` > 0 in the loop: samples come from the averaged weights it
exports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_platform.models.base import SINGLE_PHASE, ImageGenerator
from genai_platform.models.latent_space import VAELatentSpace
from genai_platform.models.shapes import ImageShape
from genai_platform.models.vae import VAEConfig

BETA_SCHEDULES = ("linear", "cosine")


@dataclass
class DiffusionConfig:
    autoencoder: VAEConfig | None = None  # set from the trained vae whose latent space the diffusion works in
    timesteps: int = 1000
    beta_schedule: str = "cosine"
    beta_start: float = 1e-4  # linear schedule only
    beta_end: float = 0.02  # linear schedule only
    width: int = 256  # the denoiser's hidden width
    blocks: int = 3  # its residual blocks
    sampling_steps: int = 50  # DDIM steps when sampling; equal to timesteps: ancestral DDPM
    ddim_eta: float = 0.0  # 0: deterministic DDIM; 1: DDPM-like noise at each step

    def __post_init__(self):
        if isinstance(self.autoencoder, dict):  # read back from a manifest
            self.autoencoder = VAEConfig(**self.autoencoder)
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
    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.inner = nn.Linear(width, width)
        self.time = nn.Linear(width, width)
        self.outer = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        return h + self.outer(F.silu(self.inner(F.silu(self.norm(h))) + self.time(time)))


class Denoiser(nn.Module):
    """The noise in a noised latent vector: a time embedding, residual MLP blocks, a linear head."""

    def __init__(self, latent_dim: int, width: int, blocks: int):
        super().__init__()
        self.width = width
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.stem = nn.Linear(latent_dim, width)
        self.blocks = nn.ModuleList(ResidualBlock(width) for _ in range(blocks))
        self.head = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, latent_dim))

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        time = self.time_mlp(timestep_embedding(t, self.width))
        h = self.stem(z)
        for block in self.blocks:
            h = block(h, time)
        return self.head(h)


class LatentDDPM(VAELatentSpace, ImageGenerator):
    def __init__(self, config: DiffusionConfig, shape: ImageShape):
        super().__init__()
        self.config, self.shape = config, shape
        latent_dim = self.register_autoencoder(config.autoencoder, shape)
        self.network = Denoiser(latent_dim, config.width, config.blocks)
        # persistent=False: derived from the config, so not part of the exported weights
        self.register_buffer("alpha_bar", torch.cumprod(1 - beta_schedule(config), dim=0).float(), persistent=False)

    def initialize(self, data: torch.Tensor) -> None:
        """Standardise the latent space on the training images (after initialize_from)."""
        self.fit_latent_space(data)

    def training_loss(self, batch: tuple[torch.Tensor, torch.Tensor], phase: str = SINGLE_PHASE) -> torch.Tensor:
        z0 = self.observed_latents(batch)
        t = self.training_randint(self.config.timesteps, z0)
        noise = self.training_noise(z0)
        a = self.alpha_bar[t][:, None]
        predicted = self.network(a.sqrt() * z0 + (1 - a).sqrt() * noise, t)
        return F.mse_loss(predicted.float(), noise)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, steps: int | None = None) -> torch.Tensor:
        """`n` images in [0, 1]: latents by DDIM over `steps` evenly spaced timesteps (default: the config's),
        decoded by the vae. With eta = 1 and steps = T the sampler is DDPM's ancestral one. The predicted clean
        latent is clipped to the training latents' range at each step, as pixels are to theirs: at the first
        steps alpha_bar is near 0 and dividing by its root would blow the network's error up."""
        device = next(self.parameters()).device
        steps = steps or self.config.sampling_steps
        shape = (n, self.latent_mean.shape[0])
        z = torch.randn(shape, generator=generator).to(device)
        times = torch.linspace(self.config.timesteps - 1, 0, steps).round().long().tolist()
        for i, t in enumerate(times):
            a = self.alpha_bar[t]
            a_prev = self.alpha_bar[times[i + 1]] if i + 1 < len(times) else torch.ones_like(a)
            eps = self.network(z, torch.full((n,), t, device=device)).float()
            z0 = self.clip_latents((z - (1 - a).sqrt() * eps) / a.sqrt())
            eps = (z - a.sqrt() * z0) / (1 - a).sqrt()  # the noise consistent with the clipped z0
            sigma = self.config.ddim_eta * ((1 - a_prev) / (1 - a) * (1 - a / a_prev)).clamp(min=0).sqrt()
            z = a_prev.sqrt() * z0 + (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
            if self.config.ddim_eta > 0 and i + 1 < len(times):
                z = z + sigma * torch.randn(shape, generator=generator).to(device)
        return self.decode_latents(z)
