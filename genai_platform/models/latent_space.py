"""The frozen latent space of a trained vae, for the families that model the distribution of its latents instead of
pixels (the latent diffusion, the GP-LVM), as latent diffusion does (Rombach et al. 2022).

Why: at 28 px and more, models of pixels do not learn in a nightly CPU budget (bench/RESULTS.md): the pixel-space
DDPM ended at 37-106x the FID floor of then, the pixel-space GP-LVM at 57x unseen real data's (seed 0, 10,000
images). The vae's encoder maps an image to its
posterior mean, a few numbers; the family learns the distribution of those (standardised per dimension over the
training images) and a sample is the vae's decoder applied to a latent the family drew. The vae's weights are
frozen and kept with the family's own, so a version does not depend on the vae's files.
"""

from __future__ import annotations

import torch
from torch import nn

from genai_platform.models.base import SINGLE_PHASE
from genai_platform.models.shapes import ImageShape
from genai_platform.models.vae import ENCODE_BATCH, ConvVAE, VAEConfig

LATENT_RANGE = 5.0  # the range of standardised latents until fit_latent_space measures the training ones


class VAELatentSpace:
    """Mixin for an nn.Module that models a frozen vae's standardised latents: the vae, the standardisation's
    buffers (saved with the weights), and the maps between images and standardised latents."""

    def register_autoencoder(self: nn.Module, config: VAEConfig | None, shape: ImageShape) -> int:
        """The frozen vae and the buffers; the latent dimension."""
        if config is None:
            raise ValueError(f"{type(self).__name__}'s config has no autoencoder: it comes from the trained vae "
                             "whose latent space the model works in")
        self.autoencoder = ConvVAE(config, shape).requires_grad_(False)
        d = config.latent_dim
        # the training latents' mean and spread per dimension, and their range once standardised
        self.register_buffer("latent_mean", torch.zeros(d))
        self.register_buffer("latent_scale", torch.ones(d))
        self.register_buffer("latent_low", torch.full((d,), -LATENT_RANGE))
        self.register_buffer("latent_high", torch.full((d,), LATENT_RANGE))
        # the training images' standardised latents, by row, set by fit_latent_space for training: derived from
        # the images, so not saved; batches index them (batches of (images, rows)), and no step runs the encoder
        self.register_buffer("observed", torch.zeros(0, d), persistent=False)
        return d

    def training_phases(self: nn.Module) -> dict[str, list[nn.Parameter]]:
        """One phase over the model's own parameters: all but the frozen vae's."""
        frozen = {id(p) for p in self.autoencoder.parameters()}
        return {SINGLE_PHASE: [p for p in self.parameters() if id(p) not in frozen]}

    def initialize_from(self, pretrained: ConvVAE) -> None:
        """The trained vae's weights, frozen."""
        self.autoencoder.load_state_dict(pretrained.state_dict())

    @torch.no_grad()
    def fit_latent_space(self, images: torch.Tensor) -> None:
        """Standardise the latent space on the training images' posterior means (after initialize_from) and keep
        them, standardised, as `observed`."""
        means = torch.cat([self.autoencoder.encode(chunk.float())[0] for chunk in images.split(ENCODE_BATCH)])
        self.latent_mean.copy_(means.mean(0))
        self.latent_scale.copy_(means.std(0).clamp(min=1e-4))
        self.observed = (means - self.latent_mean) / self.latent_scale
        self.latent_low.copy_(self.observed.min(0).values)
        self.latent_high.copy_(self.observed.max(0).values)

    def observed_latents(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """The standardised latents of a batch of (images, rows): looked up by row, the images not read."""
        _, rows = batch
        return self.observed[rows]

    def clip_latents(self, z: torch.Tensor) -> torch.Tensor:
        """`z` clipped to the training latents' range per dimension, as pixels are clipped to theirs."""
        return torch.maximum(torch.minimum(z, self.latent_high), self.latent_low)

    @torch.no_grad()
    def decode_latents(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] on the CPU: the vae's decoder means of standardised latents `z`."""
        return torch.sigmoid(self.autoencoder.decode_logits(z * self.latent_scale + self.latent_mean).float()).cpu()
