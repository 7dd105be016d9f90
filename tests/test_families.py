"""Every registered family: trains through the one loop, samples, round-trips through
safetensors; and each model's mathematics against an independent reference."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from genai_platform.errors import DamagedArtifact, UnloadableVersion
from genai_platform.evaluation.generation import image_samples
from genai_platform.modalities.base import TrainingData
from genai_platform.models.diffusion import DiffusionConfig, LatentDDPM, beta_schedule
from genai_platform.models.gan import DCGAN, GANConfig
from genai_platform.models.gplvm import GPLVM, GPLVMConfig
from genai_platform.models.latent_mixture import candidate_counts, select_mixture
from genai_platform.models.lstm import CharLSTM, LSTMConfig
from genai_platform.families.registry import FAMILIES, build_model, load_family, pretrained_config, train_family
from genai_platform.models.shapes import ImageShape
from genai_platform.models.textgan import TextGAN, TextGANConfig
from genai_platform.models.transformer import CharTransformer, TransformerConfig
from genai_platform.models.vae import ConvVAE, VAEConfig
from genai_platform.models.vocab import CharVocabulary
from genai_platform.training.fit import save_trained

CPU = torch.device("cpu")
TEXT = "a cat sat on the mat. the dog ran to the cat. " * 30
VOCAB = CharVocabulary(sorted(set(TEXT)))


def _quiet(_message):
    pass


def _family_data(family) -> TrainingData:
    """A small data set in the shape the family's asset hands it."""
    if family.modality.name == "image":
        images = torch.rand(48, 1, 8, 8, generator=torch.Generator().manual_seed(1))
        return TrainingData({"shape": {"channels": 1, "height": 8, "width": 8}, "count": 48}, images, "v")
    return TrainingData({"vocabulary": VOCAB.characters}, VOCAB.encode_documents([TEXT]), "v")


def _fit_family(name, tmp_path, steps=6, log=_quiet):
    family = FAMILIES[name]
    model_config, training = family.settings("smoke")
    training = dataclasses.replace(training, steps=steps, checkpoint_every=1000, log_every=1000)
    data = _family_data(family)
    pretrained = None
    if family.pretrained:
        base = FAMILIES[family.pretrained.family]
        pretrained = build_model(base, base.settings("smoke")[0], data)
    model_config = pretrained_config(family, model_config, pretrained)
    model, result = train_family(family, model_config, training, data, CPU, tmp_path / "c.pt", "fp", log, pretrained)
    return family, model, result, model_config, data.description


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_trains_samples_and_round_trips_through_safetensors(name, tmp_path):
    family, model, result, model_config, data = _fit_family(name, tmp_path)
    assert set(result.loss_curves) and all(len(c) == 6 and all(map(math.isfinite, c))
                                            for c in result.loss_curves.values())
    save_trained(model, tmp_path / name, {"model_config": model_config, "data": data}, result)
    loaded, manifest = load_family(family, tmp_path / name, CPU)
    assert manifest["training"]["steps"] == 6
    if family.modality.name == "image":
        a, b = image_samples(model, 7, seed=3), image_samples(loaded, 7, seed=3)
        assert a.shape == (7, 1, 8, 8) and a.min() >= 0 and a.max() <= 1
    else:
        prompts = [VOCAB.encode("\nthe c"), VOCAB.encode("\na")]
        a = model.generate(prompts, 5, 1.0, torch.Generator().manual_seed(3))
        b = loaded.generate(prompts, 5, 1.0, torch.Generator().manual_seed(3))
        assert a.shape == (2, 5) and a.min() >= 0 and a.max() < len(VOCAB)
        assert loaded.negative_log_likelihood(VOCAB.encode(TEXT[:200])) > 0
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", ["gan", "textgan"])
def test_each_adversarial_phase_moves_only_its_own_network(name, tmp_path):
    family, model, *_ = _fit_family(name, tmp_path, steps=1)
    batch = family.batch_sampler(_family_data(family).tensor, model.config)(torch.Generator().manual_seed(0), 4)
    model.train()
    for phase, params in model.training_phases().items():
        model.zero_grad(set_to_none=True)
        model.training_loss(batch, phase).backward()
        own = {id(p) for p in params}
        assert all(p.grad is not None for p in params), phase
        other = [p for p in model.parameters() if id(p) not in own]
        if phase == "discriminator":  # the generator's sample is detached from its loss
            assert all(p.grad is None for p in other)


def test_dcgan_weights_start_from_n_0_002():
    model = DCGAN(GANConfig(latent_dim=16, generator_channels=32, discriminator_channels=32), ImageShape(1, 8, 8))
    conv = model.discriminator[2].weight
    assert abs(conv.mean().item()) < 2e-3 and abs(conv.std().item() - 0.02) < 2e-3


def test_cosine_and_linear_beta_schedules_match_their_definitions():
    linear = beta_schedule(DiffusionConfig(timesteps=10, beta_schedule="linear", beta_start=0.1, beta_end=0.2,
                                             sampling_steps=5))
    np.testing.assert_allclose(linear.numpy(), np.linspace(0.1, 0.2, 10))
    t = 50
    cosine = beta_schedule(DiffusionConfig(timesteps=t, beta_schedule="cosine", sampling_steps=10))
    f = np.cos((np.arange(t + 1) / t + 0.008) / 1.008 * np.pi / 2) ** 2
    np.testing.assert_allclose(np.cumprod(1 - cosine.numpy())[:-1], (f / f[0])[1:-1], rtol=1e-9)
    assert cosine[-1].item() == 0.999  # clipped, as Nichol & Dhariwal do, so the last step is not singular


def test_ddim_with_eta_one_over_all_steps_is_ddpm_ancestral_sampling():
    """One reverse step with eta = 1 must have DDPM's posterior mean and variance (Ho et al. eq. 7)."""
    config = DiffusionConfig(VAEConfig(latent_dim=3, hidden_channels=4), timesteps=20, beta_schedule="linear",
                             beta_start=0.01, beta_end=0.2, width=8, blocks=1, sampling_steps=20, ddim_eta=1.0)
    betas = beta_schedule(config).numpy()
    alpha_bar = np.cumprod(1 - betas)
    t = 10
    a, a_prev = alpha_bar[t], alpha_bar[t - 1]
    x_t, x0 = 0.3, -0.4
    eps = (x_t - math.sqrt(a) * x0) / math.sqrt(1 - a)
    sigma = math.sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))
    ddim_mean = math.sqrt(a_prev) * x0 + math.sqrt(1 - a_prev - sigma**2) * eps
    beta = betas[t]
    ddpm_mean = (math.sqrt(a_prev) * beta / (1 - a) * x0 + math.sqrt(1 - beta) * (1 - a_prev) / (1 - a) * x_t)
    assert ddim_mean == pytest.approx(ddpm_mean, rel=1e-9)
    assert sigma**2 == pytest.approx((1 - a_prev) / (1 - a) * beta, rel=1e-9)
    model = LatentDDPM(config, ImageShape(1, 4, 4))
    out = model.sample(3, torch.Generator().manual_seed(0))
    assert out.shape == (3, 1, 4, 4) and torch.isfinite(out).all()


def _tiny_gplvm(count=6, outputs=3, inducing=6):
    """A GP-LVM of a 3-d vae latent space of 8x8 images, at set parameters."""
    model = GPLVM(GPLVMConfig(autoencoder=VAEConfig(latent_dim=outputs, hidden_channels=2), latent_dim=2,
                              inducing_points=inducing, mixture_components=2), ImageShape(1, 8, 8), count)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        model.latents.copy_(torch.randn(count, 2, generator=generator))
        model.inducing.copy_(model.latents[:inducing] if inducing <= count else torch.randn(inducing, 2))
        model.log_lengthscales.copy_(torch.tensor([0.2, -0.3]))
        model.log_signal_variance.fill_(0.4)
        model.log_noise_variance.fill_(math.log(0.3))
        model.posterior_mean.copy_(torch.randn(inducing, outputs, generator=generator))
        model.posterior_scale_lower.copy_(torch.randn(inducing, inducing, generator=generator) * 0.3)
        model.posterior_log_diagonal.copy_(torch.randn(inducing, generator=generator) * 0.2)
    return model


def _rbf(a, b, lengthscales, variance):
    d = (a[:, None, :] - b[None, :, :]) / lengthscales
    return variance * np.exp(-0.5 * (d**2).sum(-1))


def test_gplvm_predictive_and_kl_match_the_textbook_formulas():
    model = _tiny_gplvm()
    x = np.random.default_rng(0).normal(size=(4, 2))
    z = model.inducing.detach().double().numpy()
    ls, var = np.exp([0.2, -0.3]), math.exp(0.4)
    k_mm = _rbf(z, z, ls, var) + 1e-5 * np.eye(len(z))
    k_xm = _rbf(x, z, ls, var)
    chol = np.linalg.cholesky(k_mm)
    s = model._posterior_scale().detach().numpy()
    u_mean = chol @ model.posterior_mean.detach().double().numpy()  # unwhitened q(u)
    u_cov = chol @ s @ s.T @ chol.T
    solve = np.linalg.solve(k_mm, k_xm.T)
    mean = solve.T @ u_mean
    variance = var - np.einsum("ij,ji->i", k_xm, solve) + np.einsum("ij,jk,ki->i", solve.T, u_cov, solve)
    got_mean, got_var = model.predictive(torch.from_numpy(x))
    np.testing.assert_allclose(got_mean.detach().numpy(), mean, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got_var.detach().numpy(), variance, rtol=1e-6)
    m, pixels = u_mean.shape
    cov = s @ s.T
    kl_reference = sum(0.5 * (np.trace(cov) + w @ w - m - np.linalg.slogdet(cov)[1])
                       for w in model.posterior_mean.detach().double().numpy().T)
    assert model.kl_divergence().item() == pytest.approx(kl_reference, rel=1e-9)


def test_gplvm_bound_equals_the_exact_marginal_likelihood_at_the_optimal_posterior():
    """With inducing points on the latents and q(v) at its optimum the bound is tight (Titsias, 2009)."""
    model = _tiny_gplvm()
    y = torch.randn(6, 3, generator=torch.Generator().manual_seed(5))
    model.observed = y.float()  # the observations initialize() takes from the vae
    images = torch.full((6, 1, 8, 8), math.nan)  # not read: the observations stand for them
    x = model.latents.detach().double().numpy()
    ls, var, noise = np.exp([0.2, -0.3]), math.exp(0.4), 0.3
    k = _rbf(x, x, ls, var)
    chol = np.linalg.cholesky(k + 1e-5 * np.eye(6))
    covariance = np.linalg.inv(np.eye(6) + chol.T @ chol / noise)  # q(v) optimum
    centred = y.double().numpy()  # standardised latents: mean 0
    with torch.no_grad():
        model.posterior_mean.copy_(torch.from_numpy(covariance @ chol.T @ centred / noise))
        s = np.linalg.cholesky(covariance)
        model.posterior_scale_lower.copy_(torch.from_numpy(np.tril(s, -1)))
        model.posterior_log_diagonal.copy_(torch.from_numpy(np.log(np.diag(s))))
    loss = model.training_loss((images, torch.arange(6))).item()
    exact = sum(multivariate_normal(np.zeros(6), k + 1e-5 * np.eye(6) + noise * np.eye(6)).logpdf(centred[:, d])
                for d in range(3))
    log_prior = -0.5 * (x**2).sum()
    assert -loss * 6 * 3 == pytest.approx(exact + log_prior, rel=1e-4)
    with torch.no_grad():  # any other posterior gives a lower bound
        model.posterior_mean.add_(0.1)
    assert -model.training_loss((images, torch.arange(6))).item() * 18 < exact + log_prior


def test_gplvm_samples_come_from_the_fitted_latent_mixture_through_the_gp_and_the_vaes_decoder():
    model = _tiny_gplvm(count=40, inducing=8)
    model.finish_training(torch.rand(40, 1, 8, 8), seed=0)
    assert model.mixture_weights.sum().item() == pytest.approx(1.0, rel=1e-5)
    # at an EM fixed point the weighted component means average to the data mean (40 latents: too few to hold
    # some out, so all are fitted)
    weighted = (model.mixture_weights[:, None] * model.mixture_means).sum(0)
    np.testing.assert_allclose(weighted.numpy(), model.latents.detach().mean(0).numpy(), atol=1e-4)
    samples = model.sample(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    generator = torch.Generator().manual_seed(0)
    mean, variance = model.predictive(model.mixture_latents(5, generator))
    spread = (variance + 0.3).sqrt()  # the GP's and the observation noise's
    drawn = mean + spread[:, None] * torch.randn(mean.shape, generator=generator, dtype=torch.float64)
    clipped = drawn.float().clamp(-5, 5)  # the range until the latent space is fitted
    decoded = torch.sigmoid(model.autoencoder.decode_logits(clipped * model.latent_scale + model.latent_mean))
    torch.testing.assert_close(samples, decoded)


def test_latent_mixture_size_is_chosen_on_held_out_latents_and_samples_the_truth():
    """Known truth: 4 well-separated, correlated 2-d Gaussians of different shapes, weights .1 .2 .3 .4."""
    assert candidate_counts(1) == [1] and candidate_counts(10) == [1, 2, 4, 8, 10]
    rng = np.random.default_rng(0)
    centres, weights = np.array([[0, 0], [12, 0], [0, 12], [12, 12]]), np.array([0.1, 0.2, 0.3, 0.4])
    covariances = np.array([[[2.0, 1.2], [1.2, 1.0]], [[1.0, -0.6], [-0.6, 0.5]], [[0.3, 0.0], [0.0, 2.0]],
                            [[1.5, 0.9], [0.9, 1.5]]])
    labels = rng.choice(4, 4000, p=weights)
    latents = np.stack([rng.multivariate_normal(centres[c], covariances[c]) for c in labels])
    mixture, scores = select_mixture(latents, 16, seed=0)
    chosen = mixture.n_components
    assert list(scores) == [1, 2, 4, 8, 16] and scores[chosen] == max(scores.values())
    # fewer components than the truth lose at least 0.4 nats a held-out latent; more gain almost nothing
    assert chosen in (4, 8) and scores[4] > scores[2] + 0.4 > scores[1] + 0.8
    assert abs(scores[8] - scores[4]) < 0.03
    model = GPLVM(GPLVMConfig(autoencoder=VAEConfig(latent_dim=3, hidden_channels=2), latent_dim=2, inducing_points=8,
                              mixture_components=16), ImageShape(1, 8, 8), 4000)
    with torch.no_grad():
        model.latents.copy_(torch.from_numpy(latents))
    note = model.finish_training(torch.empty(0), seed=0)
    assert note.startswith(f"latent mixture: {chosen} of at most 16 components, fitted on 3,600 of 4,000 latents, "
                           "chosen by the others' log-likelihood")
    drawn = model.mixture_latents(40000, torch.Generator().manual_seed(1)).numpy()
    nearest = np.argmin(((drawn[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose(np.bincount(nearest, minlength=4) / len(drawn), weights, atol=0.02)
    for c in range(4):  # each cluster's shape: a covariance stored for its Cholesky factor, or a factor
        mine = drawn[nearest == c]  # transposed, would be far off
        np.testing.assert_allclose(mine.mean(0), centres[c], atol=0.1)
        np.testing.assert_allclose(np.cov(mine.T), covariances[c], atol=0.15)


def test_fitting_a_family_fits_its_latent_mixture_after_the_last_step_and_logs_it(tmp_path):
    for name in ("vae", "gplvm"):
        lines = []
        _, model, *_ = _fit_family(name, tmp_path / name, log=lines.append)
        assert model.mixture_means.abs().sum() > 0  # no longer the unfitted N(0, I)
        notes = [line for line in lines if line.startswith("latent mixture: ")]
        assert len(notes) == 1 and notes[0].endswith(" s)") and "on 48 latents" in notes[0], lines


def test_vae_samples_decode_the_mixture_fitted_to_its_posterior_means():
    torch.manual_seed(0)
    images = torch.rand(300, 1, 6, 6)
    plain = ConvVAE(VAEConfig(latent_dim=3, hidden_channels=4), ImageShape(1, 6, 6))
    assert plain.finish_training(images, seed=0) is None and "mixture_weights" not in plain.state_dict()
    model = ConvVAE(VAEConfig(latent_dim=3, hidden_channels=4, mixture_components=4), ImageShape(1, 6, 6))
    note = model.finish_training(images, seed=0)
    assert "fitted on 270 of 300 latents, chosen by the others' log-likelihood" in note
    assert model.mixture_weights.sum().item() == pytest.approx(1.0, rel=1e-5)
    with torch.no_grad():
        means = model.encode(images)[0]
    # at an EM fixed point the weighted component means average to the fitted latents' mean
    fitted = means[np.random.default_rng(0).permutation(300)[30:]]
    weighted = (model.mixture_weights[:, None] * model.mixture_means).sum(0)
    np.testing.assert_allclose(weighted.numpy(), fitted.mean(0).numpy(), atol=1e-4)
    z = model.mixture_latents(4, torch.Generator().manual_seed(3))
    expected = torch.sigmoid(model.decode_logits(z))
    torch.testing.assert_close(model.sample(4, torch.Generator().manual_seed(3)), expected)


def _transformer():
    torch.manual_seed(0)
    return CharTransformer(TransformerConfig(context_length=16, embedding_dim=16, num_layers=2, num_heads=2),
                           len(VOCAB)).eval()


def test_transformer_attention_is_causal_and_embeddings_are_tied():
    model = _transformer()
    ids = VOCAB.encode(TEXT[:16])[None]
    changed = ids.clone()
    changed[0, 10] = (changed[0, 10] + 1) % len(VOCAB)
    with torch.no_grad():
        np.testing.assert_allclose(model(ids)[0, :10], model(changed)[0, :10], atol=1e-6)
        assert not torch.allclose(model(ids)[0, 10:], model(changed)[0, 10:])
    assert model.head.weight.data_ptr() == model.token_embedding.weight.data_ptr()


def test_left_padded_generation_matches_each_prompt_alone():
    model = _transformer()
    short, long = VOCAB.encode("\nthe"), VOCAB.encode("\na cat sat on the m")
    together = model.generate([short, long], 8, 0.0, None)
    assert torch.equal(together[0], model.generate([short], 8, 0.0, None)[0])
    assert torch.equal(together[1], model.generate([long], 8, 0.0, None)[0])


def test_transformer_sliding_likelihood_equals_plain_cross_entropy_within_one_context():
    model = _transformer()
    ids = VOCAB.encode(TEXT[:17])
    with torch.no_grad():
        logits = model(ids[:-1][None])[0]
    expected = torch.nn.functional.cross_entropy(logits, ids[1:], reduction="sum").item()
    assert model.negative_log_likelihood(ids) == pytest.approx(expected, rel=1e-6)
    longer = VOCAB.encode(TEXT[:100])  # windows overlap: every one of the 99 targets is scored once
    assert model.negative_log_likelihood(longer) / 99 == pytest.approx(
        model.negative_log_likelihood(longer[:60]) / 59, rel=0.2)


def test_lstm_batched_and_one_by_one_generation_agree():
    torch.manual_seed(0)
    model = CharLSTM(LSTMConfig(embedding_dim=8, hidden_size=16, num_layers=1), len(VOCAB)).eval()
    a, b = VOCAB.encode("\nthe "), VOCAB.encode("\ncat ")
    together = model.generate([a, b], 6, 0.0, None)
    assert torch.equal(together[1], model.generate([b, VOCAB.encode("\nx")], 6, 0.0, None)[0])


def test_textgan_starts_from_the_maximum_likelihood_weights():
    lstm = CharLSTM(LSTMConfig(embedding_dim=8, hidden_size=16, num_layers=1, context_length=16), len(VOCAB))
    gan = TextGAN(TextGANConfig(generator=lstm.config, context_length=16, prompt_length=4), len(VOCAB))
    gan.initialize_from(lstm)
    ids = VOCAB.encode(TEXT[:50])
    assert gan.negative_log_likelihood(ids) == pytest.approx(lstm.negative_log_likelihood(ids), rel=1e-7)
    with pytest.raises(ValueError, match="generator is unset"):
        TextGAN(TextGANConfig(), len(VOCAB))


def _latent_family(name, tmp_path):
    """A family of the vae's latent space trained 3 steps from an untrained vae; the model, the vae, the data."""
    family = FAMILIES[name]
    data = _family_data(family)
    vae = build_model(FAMILIES["vae"], FAMILIES["vae"].settings("smoke")[0], data)
    model_config, training = family.settings("smoke")
    model, _ = train_family(family, pretrained_config(family, model_config, vae), dataclasses.replace(training, steps=3),
                            data, CPU, tmp_path / "c.pt", "fp", _quiet, vae)
    return model, vae, data


@pytest.mark.parametrize("name", ["diffusion", "gplvm"])
def test_a_latent_family_starts_from_the_vaes_weights_and_trains_only_its_own(name, tmp_path):
    """Its autoencoder is the trained vae, unchanged by training; its latents are standardised on the training
    images' posterior means."""
    model, vae, data = _latent_family(name, tmp_path)
    for weight_name, weight in vae.state_dict().items():
        torch.testing.assert_close(model.autoencoder.state_dict()[weight_name], weight, msg=weight_name)
    means = vae.encode(data.tensor)[0]
    torch.testing.assert_close(model.latent_mean, means.mean(0))
    torch.testing.assert_close(model.latent_scale, means.std(0))
    standardised = (means - model.latent_mean) / model.latent_scale
    torch.testing.assert_close(model.latent_low, standardised.min(0).values)
    torch.testing.assert_close(model.latent_high, standardised.max(0).values)
    trained = {id(p) for params in model.training_phases().values() for p in params}
    assert not trained & {id(p) for p in model.autoencoder.parameters()} and trained


def test_latent_diffusion_samples_decode_its_denoised_latents(tmp_path):
    """Its samples are the vae's decoder applied to DDIM latents, clipped to the training latents' range."""
    model, vae, _ = _latent_family("diffusion", tmp_path)
    assert {id(p) for p in model.training_phases()["loss"]} == {id(p) for p in model.network.parameters()}
    # a latent of 0 everywhere decodes to the vae's image of the training latents' mean
    model.eval()
    model.network.head[-1].weight.data.zero_()
    model.network.head[-1].bias.data.zero_()  # predicts no noise: DDIM returns its start, scaled to the end
    model.latent_low.fill_(-math.inf)
    model.latent_high.fill_(math.inf)  # and nothing is clipped
    generator = torch.Generator().manual_seed(0)
    start = torch.randn(2, model.latent_mean.shape[0], generator=torch.Generator().manual_seed(0))
    shrink = model.alpha_bar[-1].sqrt() ** -1  # x0 = z_T / sqrt(alpha_bar_T) when eps is 0
    expected = torch.sigmoid(vae.decode_logits(start * shrink * model.latent_scale + model.latent_mean))
    torch.testing.assert_close(model.sample(2, generator), expected)
    # clipped to the training latents' range, the same start decodes to the image of the range's corner it points to
    model.latent_low.fill_(-1.0)
    model.latent_high.fill_(1.0)
    corner = torch.sigmoid(vae.decode_logits(start.sign() * model.latent_scale + model.latent_mean))
    torch.testing.assert_close(model.sample(2, torch.Generator().manual_seed(0)), corner)
    with pytest.raises(ValueError, match="config has no autoencoder"):
        LatentDDPM(DiffusionConfig(), ImageShape(1, 8, 8))


def test_a_version_this_code_cannot_build_is_unloadable_and_counts_as_damaged(tmp_path):
    """A diffusion version kept by the pixel-space code (its config has `channels`, no autoencoder) is refused with
    an UnloadableVersion, a DamagedArtifact, which the sampling and evaluation steps skip and the CLI reports."""
    family, model, result, model_config, data = _fit_family("diffusion", tmp_path, steps=1)
    save_trained(model, tmp_path / "old", {"model_config": model_config, "data": data}, result)
    manifest_path = tmp_path / "old" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["model_config"] = {"timesteps": 100, "channels": 8, "sampling_steps": 10}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(UnloadableVersion, match=r"old.* cannot be built by this code .*channels") as error:
        load_family(family, tmp_path / "old", CPU)
    assert isinstance(error.value, DamagedArtifact)
