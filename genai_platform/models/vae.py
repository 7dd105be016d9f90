"""Convolutional variational autoencoder for small images (Kingma & Welling, 2014).

Pixels are in [0, 1] and modelled as Bernoulli probabilities; images of any size are
padded to a multiple of 4 for the two stride-2 stages and cropped back on decode.

Samples decode latents drawn from the prior N(0, I), or, with `mixture_components` > 0, from a
Gaussian mixture fitted after training to the training images' posterior means (ex-post density
estimation, Ghosh et al. 2020; models/latent_mixture.py): the aggregate posterior the decoder
learned from is not the prior, and decoding the prior's mass where no training image encodes
gives images between digits.

`negative_log_likelihood_bound` is the importance-weighted bound (Burda, Grosse & Salakhutdinov, 2016) on
-log p(x) of the model as trained (decoder and standard normal prior), per image, less the pixels' own
Bernoulli entropy: grey pixel values are not Bernoulli outcomes, so the cross-entropy has a floor no decoder
beats (0.31 bits per value on the bundled digits), and only the excess over it says how good the model is.
The promotion gate compares a challenger with its champion on it, image by image. It is not taken under the fitted mixture: with
importance draws from the encoder, that bound is too loose to compare (bench/RESULTS.md: 16.6-26.1 bits per
pixel value against 0.54, varying 57% between retrains); the mixture's samples are judged in feature space.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genai_platform.models.base import SINGLE_PHASE, ImageGenerator
from genai_platform.models.latent_mixture import LatentMixture
from genai_platform.models.shapes import ImageShape, padded_size


@dataclass
class VAEConfig:
    latent_dim: int = 16
    hidden_channels: int = 32
    beta: float = 1.0  # weight of the KL term; below 1 the latents keep more of each image, and the
                       # mixture, not the prior, is what samples come from
    mixture_components: int = 0  # 0: sample the prior; else at most this many, chosen on held-out latents

    def __post_init__(self):
        if self.mixture_components < 0:
            raise ValueError(f"mixture_components must be >= 0, got {self.mixture_components}")


ENCODE_BATCH = 1024  # images encoded at once when fitting the latent mixture
BOUND_DRAWS = 16  # latents per image in the likelihood bound: the bound tightens as log(draws) grows
BOUND_BATCH = 128  # images bounded at once (each decoded BOUND_DRAWS times)


class ConvVAE(ImageGenerator, LatentMixture):
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
        if config.mixture_components:
            self.register_mixture(config.mixture_components, config.latent_dim)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, self.padded_w - self.shape.width, 0, self.padded_h - self.shape.height))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.encoder(self._pad(x)).chunk(2, dim=1)
        return mean, log_var.clamp(-12, 12)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)[:, :, : self.shape.height, : self.shape.width]

    def training_loss(self, x: torch.Tensor, phase: str = SINGLE_PHASE) -> torch.Tensor:
        """Bernoulli reconstruction + beta * KL per image (nats): the negative ELBO when beta is 1."""
        mean, log_var = self.encode(x)
        z = mean + self.training_noise(mean) * torch.exp(0.5 * log_var)
        logits = self.decode_logits(z).float()
        reconstruction = F.binary_cross_entropy_with_logits(logits, x.float(), reduction="sum")
        kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())
        return (reconstruction + self.config.beta * kl.float()) / x.shape[0]

    @torch.no_grad()
    def finish_training(self, data: torch.Tensor, seed: int) -> str | None:
        """Fit the latent mixture to the posterior means of the training images (with mixture_components)."""
        if not self.config.mixture_components:
            return None
        means = torch.cat([self.encode(chunk.float())[0] for chunk in data.split(ENCODE_BATCH)])
        return self.fit_mixture(means.cpu().double().numpy(), seed)  # to the CPU first: MPS has no float64

    @torch.no_grad()
    def negative_log_likelihood_bound(self, images: torch.Tensor, generator: torch.Generator,
                                      draws: int = BOUND_DRAWS,
                                      log_prior: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """Per image, -log of the mean of p(x|z) p(z) / q(z|x) over `draws` latents from the encoder, less the
        pixels' own Bernoulli entropy (nats; 0 for an image the model could not fit better). `log_prior`: log p(z)
        of latents [..., latent_dim]; default the standard normal the model was trained with."""
        device, bounds = next(self.parameters()).device, []
        for chunk in images.split(BOUND_BATCH):
            x = chunk.to(device).float()
            mean, log_var = self.encode(x)
            std = torch.exp(0.5 * log_var)
            z = mean + torch.randn((draws, *mean.shape), generator=generator).to(device) * std  # [draws, N, d]
            logits = self.decode_logits(z.flatten(0, 1)).float()
            log_likelihood = -F.binary_cross_entropy_with_logits(
                logits, x.repeat(draws, 1, 1, 1), reduction="none").flatten(1).sum(1).view(draws, -1)
            log_posterior = torch.distributions.Normal(mean, std).log_prob(z).sum(-1)
            log_z = (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(-1) if log_prior is None else log_prior(z)
            log_weights = log_likelihood + log_z - log_posterior
            entropy = -(torch.special.xlogy(x, x) + torch.special.xlogy(1 - x, 1 - x)).flatten(1).sum(1)
            bounds.append(math.log(draws) - torch.logsumexp(log_weights, dim=0) - entropy)
        return torch.cat(bounds).cpu()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` images in [0, 1]: decoder means of latents drawn from the latent mixture, or the prior."""
        device = next(self.parameters()).device
        if self.config.mixture_components:
            z = self.mixture_latents(n, generator)
        else:
            z = torch.randn(n, self.config.latent_dim, generator=generator)
        return torch.sigmoid(self.decode_logits(z.to(device)).float()).cpu()
