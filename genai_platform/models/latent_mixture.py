"""A Gaussian mixture over a model's latent space, fitted after training and sampled from.

A latent-variable model whose latents do not follow its prior (a VAE's aggregate posterior
has holes where N(0, I) has mass; a GP-LVM's latents are point estimates) samples better from
a density fitted to the training latents: ex-post density estimation (Ghosh et al., 2020). The
number of components is chosen by held-out log-likelihood: a tenth of the latents is held out,
each candidate count is fitted on the rest and scored there, and the best of those fits is the
mixture (so its held-out score is an honest one, and no fit is repeated). Fewer components blur
classes together; more memorize the training latents, and the held-out likelihood falls.

The mixture lives in three buffers of the owning module (saved with its weights): weights,
means and Cholesky factors of `max_components` components, the unused ones with weight 0.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from torch import nn

HELD_OUT_SHARE = 0.1
MIN_TO_SELECT = 50  # fewer latents are fitted with the most components: 5 held out would choose by chance
REG_COVAR = 1e-4  # added to every covariance's diagonal: keeps a component on a few latents invertible


def candidate_counts(max_components: int) -> list[int]:
    """1, 2, 4, ... up to and including `max_components`."""
    counts = [1 << i for i in range(max_components.bit_length()) if 1 << i < max_components]
    return counts + [max_components]


def _gaussian_mixture(components: int, seed: int) -> GaussianMixture:
    return GaussianMixture(components, covariance_type="full", reg_covar=REG_COVAR, random_state=seed % (2**32))


def select_mixture(latents: np.ndarray, max_components: int, seed: int) -> tuple[GaussianMixture, dict[int, float]]:
    """Of the candidate mixtures fitted on 90% of `latents`, the one that gives the other 10% the highest
    mean log-likelihood; and every candidate's held-out score (nats a latent), by component count."""
    order = np.random.default_rng(seed).permutation(len(latents))
    held_out = max(1, int(len(latents) * HELD_OUT_SHARE))
    fit_rows, score_rows = latents[order[held_out:]], latents[order[:held_out]]
    fitted = {k: _gaussian_mixture(k, seed).fit(fit_rows) for k in candidate_counts(min(max_components, len(fit_rows)))}
    scores = {k: float(mixture.score(score_rows)) for k, mixture in fitted.items()}
    return fitted[max(scores, key=scores.get)], scores


class LatentMixture:
    """Mixin for an nn.Module with a latent space: the mixture's buffers, its fit and its samples."""

    def register_mixture(self: nn.Module, max_components: int, latent_dim: int) -> None:
        """Buffers for the mixture; until fitted it is N(0, I) (every component the standard normal)."""
        k = max_components
        self.register_buffer("mixture_weights", torch.full((k,), 1.0 / k))
        self.register_buffer("mixture_means", torch.zeros(k, latent_dim))
        self.register_buffer("mixture_scales", torch.eye(latent_dim).repeat(k, 1, 1))  # Cholesky factors

    @torch.no_grad()
    def fit_mixture(self, latents: np.ndarray, seed: int) -> str:
        """Fit the mixture to `latents` [N, latent_dim], its component count chosen on held-out latents
        when there are at least MIN_TO_SELECT; a line for the training log."""
        k_max = self.mixture_weights.shape[0]
        if len(latents) >= MIN_TO_SELECT and k_max > 1:
            mixture, scores = select_mixture(latents, k_max, seed)
            chosen = (f"fitted on {len(latents) - int(len(latents) * HELD_OUT_SHARE):,} of {len(latents):,} latents, "
                      f"chosen by the others' log-likelihood ({', '.join(f'{k}: {s:.2f}' for k, s in scores.items())} "
                      "nats a latent)")
        else:
            mixture = _gaussian_mixture(min(k_max, len(latents)), seed).fit(latents)
            chosen = f"fitted on {len(latents):,} latents (too few to hold some out)"
        components = mixture.n_components
        weights, means = np.zeros(k_max), np.zeros((k_max, latents.shape[1]))
        scales = np.tile(np.eye(latents.shape[1]), (k_max, 1, 1))
        weights[:components], means[:components] = mixture.weights_, mixture.means_
        scales[:components] = np.linalg.cholesky(mixture.covariances_)
        for buffer, value in ((self.mixture_weights, weights), (self.mixture_means, means),
                              (self.mixture_scales, scales)):
            buffer.copy_(torch.from_numpy(value).float())
        return f"latent mixture: {components} of at most {k_max} components, {chosen}"

    def mixture_latents(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` latents [n, latent_dim] drawn from the mixture with `generator`, on the CPU."""
        component = torch.multinomial(self.mixture_weights.cpu(), n, replacement=True, generator=generator)
        eps = torch.randn(n, self.mixture_means.shape[1], 1, generator=generator)
        return self.mixture_means.cpu()[component] + (self.mixture_scales.cpu()[component] @ eps)[:, :, 0]
