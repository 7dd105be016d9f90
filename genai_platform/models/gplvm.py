"""Gaussian-process latent variable model (Lawrence, 2005) with a sparse variational GP.

Every training image y_i (flattened, centred) has a learned latent x_i with a N(0, I)
prior (MAP estimate, initialised by PCA). Each pixel is a GP over the latent space with a
shared RBF kernel with one length-scale per latent dimension (ARD, so unused dimensions
can switch off). The GP is sparse: M inducing points Z with a whitened Gaussian posterior
q(v) = N(m, S S^T) shared across pixels (Hensman et al., 2013), so the bound is an
unbiased sum over minibatches and the cost is O(B M^2) per step instead of O(N^3).

Sampling fits a Gaussian mixture to the learned latents (models/latent_mixture.py), draws
latents from it and pushes them through the GP's predictive distribution (mean plus its
marginal standard deviation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from genai_platform.models.base import SINGLE_PHASE, ImageGenerator
from genai_platform.models.latent_mixture import LatentMixture
from genai_platform.models.shapes import ImageShape

JITTER = 1e-5


@dataclass
class GPLVMConfig:
    latent_dim: int = 4
    inducing_points: int = 64
    mixture_components: int = 10  # at most; the count is chosen on held-out latents

    def __post_init__(self):
        if self.mixture_components < 1:
            raise ValueError(f"mixture_components must be >= 1, got {self.mixture_components}")


class GPLVM(ImageGenerator, LatentMixture):
    def __init__(self, config: GPLVMConfig, shape: ImageShape, count: int):
        super().__init__()
        if count < 2:
            raise ValueError(f"a GP-LVM needs at least 2 training images, got {count}")
        self.config, self.shape, self.count = config, shape, count
        q, m = config.latent_dim, min(config.inducing_points, count)
        pixels = shape.channels * shape.height * shape.width
        self.latents = nn.Parameter(torch.randn(count, q) * 0.1)
        self.inducing = nn.Parameter(torch.randn(m, q))
        self.log_lengthscales = nn.Parameter(torch.zeros(q))
        self.log_signal_variance = nn.Parameter(torch.zeros(()))
        self.log_noise_variance = nn.Parameter(torch.tensor(math.log(0.05)))
        self.posterior_mean = nn.Parameter(torch.zeros(m, pixels))
        self.posterior_scale_lower = nn.Parameter(torch.zeros(m, m))  # strictly lower part of S
        self.posterior_log_diagonal = nn.Parameter(torch.zeros(m))
        self.register_buffer("pixel_mean", torch.zeros(pixels))
        self.register_mixture(config.mixture_components, q)

    @torch.no_grad()
    def initialize(self, images: torch.Tensor) -> None:
        """PCA latents (unit variance per dimension), inducing points on a random subset of them."""
        y = images.reshape(images.shape[0], -1).double()
        if y.shape[0] != self.count:
            raise ValueError(f"the model was built for {self.count} images, got {y.shape[0]}")
        self.pixel_mean.copy_(y.mean(dim=0).float())
        centred = y - y.mean(dim=0)
        u, s, _ = torch.linalg.svd(centred, full_matrices=False)
        pcs = u[:, : self.config.latent_dim] * s[: self.config.latent_dim]
        pcs = pcs / pcs.std(dim=0).clamp(min=1e-8)
        latents = torch.zeros(self.count, self.config.latent_dim, dtype=torch.float64)
        latents[:, : pcs.shape[1]] = pcs
        self.latents.copy_(latents.float())
        chosen = torch.randperm(self.count)[: self.inducing.shape[0]]
        self.inducing.copy_(self.latents[chosen])
        self.log_noise_variance.fill_(math.log(max(centred.var().item() * 0.1, 1e-4)))

    def _kernel(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        lengthscales = self.log_lengthscales.double().exp()
        a, b = a.double() / lengthscales, b.double() / lengthscales
        squared = (a.pow(2).sum(1)[:, None] + b.pow(2).sum(1)[None] - 2 * a @ b.T).clamp(min=0)
        return self.log_signal_variance.double().exp() * torch.exp(-0.5 * squared)

    def _posterior_scale(self) -> torch.Tensor:
        return torch.tril(self.posterior_scale_lower.double(), -1) + torch.diag(self.posterior_log_diagonal.double().exp())

    def predictive(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean (n, pixels, centred) and marginal variance (n,) of the latent function at `x`."""
        m = self.inducing.shape[0]
        k_mm = self._kernel(self.inducing, self.inducing) + JITTER * torch.eye(m, dtype=torch.float64, device=x.device)
        chol = torch.linalg.cholesky(k_mm)
        a = torch.linalg.solve_triangular(chol, self._kernel(self.inducing, x), upper=False)  # L^-1 K_mn
        mean = a.T @ self.posterior_mean.double()
        scale_a = self._posterior_scale().T @ a
        variance = self.log_signal_variance.double().exp() - a.pow(2).sum(0) + scale_a.pow(2).sum(0)
        return mean, variance.clamp(min=1e-10)

    def kl_divergence(self) -> torch.Tensor:
        """KL(q(v) || N(0, I)) summed over pixels (shared S, one mean column per pixel)."""
        scale, mean = self._posterior_scale(), self.posterior_mean.double()
        m, pixels = mean.shape
        log_det = 2 * torch.log(torch.diagonal(scale)).sum()
        return 0.5 * (pixels * scale.pow(2).sum() + mean.pow(2).sum() - pixels * m - pixels * log_det)

    def training_loss(self, batch: tuple[torch.Tensor, torch.Tensor], phase: str = SINGLE_PHASE) -> torch.Tensor:
        """Negative evidence lower bound (plus the latents' prior) per training pixel, in nats."""
        images, index = batch
        y = images.reshape(images.shape[0], -1).double() - self.pixel_mean.double()
        x = self.latents[index]
        mean, variance = self.predictive(x)
        noise = self.log_noise_variance.double().exp()
        pixels, b = y.shape[1], y.shape[0]
        expected_log_likelihood = (-0.5 * pixels * torch.log(2 * math.pi * noise)
                                   - 0.5 * ((y - mean).pow(2).sum(1) + pixels * variance) / noise)
        log_prior = -0.5 * x.double().pow(2).sum(1)
        bound = self.count / b * (expected_log_likelihood + log_prior).sum() - self.kl_divergence()
        return (-bound / (self.count * pixels)).float()

    def finish_training(self, data: torch.Tensor, seed: int) -> str:
        """Fit the sampling mixture to the learned latents (the images are in them already)."""
        return self.fit_mixture(self.latents.detach().cpu().double().numpy(), seed)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` images in [0, 1]: mixture latents through the GP predictive (mean + sd * noise)."""
        device = self.latents.device
        mean, variance = self.predictive(self.mixture_latents(n, generator).to(device))
        pixels = mean.shape[1]
        noise = torch.randn(n, pixels, generator=generator, dtype=torch.float64).to(device)
        y = mean + variance.sqrt()[:, None] * noise + self.pixel_mean.double()
        return y.float().reshape(n, self.shape.channels, self.shape.height, self.shape.width).clamp(0, 1).cpu()

