"""The vae's likelihood bound against the exact likelihood by quadrature over a one-dimensional latent: the
importance-weighted bound lies above -log p(x) on average and closes on it as the draws grow; the mixture
its samples come from does not change it."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genai_platform.errors import DamagedArtifact
from genai_platform.marking.key import WatermarkKey
from genai_platform.evaluation.profiles import evaluation_profile
from genai_platform.modalities.base import Contest, EvaluationContext
from genai_platform.modalities.image import likelihood_bounds
from genai_platform.models.shapes import ImageShape
from genai_platform.models.vae import ConvVAE, VAEConfig


def exact_nll(model: ConvVAE, images: torch.Tensor) -> np.ndarray:
    """-log p(x) = -log of the integral of p(x|z) p(z) over a fine grid of the one latent dimension, less the
    pixels' own Bernoulli entropy (as the bound reports it)."""
    grid = torch.linspace(-12, 12, 24001)
    with torch.no_grad():
        logits = model.decode_logits(grid[:, None]).float()  # [G, C, H, W]
        log_prior = torch.distributions.Normal(0.0, 1.0).log_prob(grid).double()
        nll = []
        for x in images:
            log_likelihood = -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none")
            integrand = torch.exp(log_likelihood.flatten(1).sum(1).double() + log_prior)
            entropy = -(torch.special.xlogy(x, x) + torch.special.xlogy(1 - x, 1 - x)).sum()
            nll.append(-float(torch.log(torch.trapezoid(integrand, grid.double()))) - float(entropy))
    return np.array(nll)


@pytest.fixture(params=[0, 3], ids=["no mixture", "with a fitted mixture"])
def model(request) -> ConvVAE:
    torch.manual_seed(0)
    vae = ConvVAE(VAEConfig(latent_dim=1, hidden_channels=4, mixture_components=request.param), ImageShape(1, 4, 4))
    with torch.no_grad():  # a decoder whose images depend strongly on the latent: the posterior matters
        for parameter in vae.decoder.parameters():
            parameter.mul_(3.0)
    if request.param:
        latents = np.concatenate([np.random.default_rng(0).normal(-2, 0.5, (150, 1)),
                                  np.random.default_rng(1).normal(1.5, 0.8, (150, 1))])
        vae.fit_mixture(latents, seed=0)
    return vae.eval()


def bounds(model: ConvVAE, images: torch.Tensor, draws: int, repeats: int) -> np.ndarray:
    """[repeats, images] bounds, each repeat with its own seeded draws."""
    return np.stack([model.negative_log_likelihood_bound(images, torch.Generator().manual_seed(r), draws=draws).numpy()
                     for r in range(repeats)])


def test_the_bound_lies_above_the_exact_nll_on_average_and_closes_on_it(model):
    images = torch.rand(6, 1, 4, 4, generator=torch.Generator().manual_seed(1))
    exact = exact_nll(model, images)
    gaps = []
    for draws, repeats in ((1, 300), (4, 300), (64, 100)):
        found = bounds(model, images, draws, repeats)
        # a bound in expectation (one realization may fall below): the mean over repeats is not below the truth
        assert (found.mean(0) + 3 * found.std(0) / np.sqrt(repeats) > exact).all()
        gaps.append((found.mean(0) - exact).mean())
    assert gaps[0] > gaps[1] > gaps[2] and gaps[0] > 0.1  # it tightens as the draws grow
    assert np.abs(bounds(model, images, 8192, 1)[0] - exact).max() < 0.05  # close with many (nats per image)


def test_an_earlier_version_that_cannot_be_loaded_is_not_compared_and_the_challenger_still_scored():
    torch.manual_seed(0)
    vae = ConvVAE(VAEConfig(latent_dim=2, hidden_channels=4), ImageShape(1, 4, 4)).eval()
    manifest = {"data": {"shape": {"channels": 1, "height": 4, "width": 4}}}

    def load_model(family, version):
        if version == "v1":
            raise DamagedArtifact("the model kept in models/vae/versions/v1 is damaged: checksum")
        return vae, manifest

    logged = []
    context = EvaluationContext(["vae"], {"vae": Contest("v2", "v1")}, load_model, lambda name: None,
                                evaluation_profile("smoke"), 0, torch.device("cpu"), "classifier", logged.append,
                                WatermarkKey(b"the likelihood test's key"))
    rows, comparisons = likelihood_bounds(np.random.default_rng(0).random((20, 1, 4, 4), dtype=np.float32), context)
    assert [(r.subject, r.metric, r.sample_count) for r in rows] == [("vae", "nll_bound", 20)] and comparisons == []
    assert any("vae version v1 cannot be loaded" in line and "checksum" in line for line in logged)
