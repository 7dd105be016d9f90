"""The one training loop: learning, atomic checkpoints, resume, safetensors export."""

import pytest
import torch
from safetensors.torch import load_file

from genai_platform.models.lstm import CharLSTM, LSTMConfig
from genai_platform.models.shapes import ImageShape
from genai_platform.models.vae import ConvVAE, VAEConfig
from genai_platform.models.vocab import CharVocabulary
from genai_platform.training import TrainingConfig, select_device
from genai_platform.training.batches import image_batches, token_windows
from genai_platform.training.families import fit
from genai_platform.training.loop import export_weights

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def _lstm_setup():
    vocab = CharVocabulary(sorted(set(TEXT)))
    tokens = vocab.encode_documents([TEXT])
    config = LSTMConfig(embedding_dim=8, hidden_size=16, num_layers=1, context_length=16)
    return (lambda: CharLSTM(config, len(vocab))), token_windows(tokens, 16)


class Crash(RuntimeError):
    pass


def _crashing_at(batches, call: int):
    """The same batches, but the `call`-th draw raises, as if the process died there."""
    calls = {"n": 0}

    def sample(generator, batch_size):
        calls["n"] += 1
        if calls["n"] == call:
            raise Crash("killed")
        return batches(generator, batch_size)

    return sample


def test_training_reduces_loss(tmp_path):
    build, batches = _lstm_setup()
    config = TrainingConfig(steps=60, batch_size=16, learning_rate=1e-2, log_every=1000, checkpoint_every=1000)
    _, result = fit(build, batches, config, torch.device("cpu"), tmp_path / "t.pt", "fp", lambda m: None)
    assert len(result.loss_curve) == 60
    assert sum(result.loss_curve[-10:]) / 10 < 0.6 * sum(result.loss_curve[:5]) / 5


def test_resume_after_a_crash_matches_an_uninterrupted_run(tmp_path):
    build, batches = _lstm_setup()
    config = TrainingConfig(steps=30, batch_size=8, learning_rate=1e-2, log_every=1000, checkpoint_every=10)
    reference, _ = fit(build, batches, config, torch.device("cpu"), tmp_path / "a.pt", "fp", lambda m: None)

    checkpoint = tmp_path / "b.pt"
    with pytest.raises(Crash):
        fit(build, _crashing_at(batches, 25), config, torch.device("cpu"), checkpoint, "fp", lambda m: None)
    assert checkpoint.exists() and torch.load(checkpoint, weights_only=True)["step"] == 20
    logs = []
    resumed, result = fit(build, batches, config, torch.device("cpu"), checkpoint, "fp", logs.append)
    assert result.resumed_from_step == 20 and "resuming" in logs[0]
    assert not checkpoint.exists()
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_checkpoint_of_another_setup_is_not_resumed(tmp_path):
    build, batches = _lstm_setup()
    config = TrainingConfig(steps=12, batch_size=4, learning_rate=1e-2, log_every=1000, checkpoint_every=5)
    with pytest.raises(Crash):
        fit(build, _crashing_at(batches, 8), config, torch.device("cpu"), tmp_path / "c.pt", "old", lambda m: None)
    _, result = fit(build, batches, config, torch.device("cpu"), tmp_path / "c.pt", "new", lambda m: None)
    assert result.resumed_from_step is None


def test_vae_trains_samples_and_exports_safetensors(tmp_path):
    images = torch.rand(64, 1, 8, 8).round()
    config = TrainingConfig(steps=5, batch_size=16, learning_rate=1e-3, log_every=1000, checkpoint_every=1000)
    model, _ = fit(lambda: ConvVAE(VAEConfig(latent_dim=2, hidden_channels=4), ImageShape(1, 8, 8)),
                   image_batches(images), config, torch.device("cpu"), tmp_path / "v.pt", "fp", lambda m: None)
    samples = model.sample(5, torch.Generator().manual_seed(0))
    assert samples.shape == (5, 1, 8, 8) and 0 <= samples.min() and samples.max() <= 1
    path = export_weights(model, tmp_path / "vae.safetensors")
    assert set(load_file(path)) == set(model.state_dict())


def test_odd_image_sizes_round_trip_through_the_vae():
    model = ConvVAE(VAEConfig(latent_dim=2, hidden_channels=4), ImageShape(3, 7, 5))
    assert model.training_loss(torch.rand(2, 3, 7, 5)).ndim == 0
    assert model.sample(2, torch.Generator().manual_seed(0)).shape == (2, 3, 7, 5)


def test_nan_loss_fails_loudly(tmp_path):
    images = torch.full((8, 1, 4, 4), float("nan"))
    config = TrainingConfig(steps=3, batch_size=4, learning_rate=1e-3, log_every=1000, checkpoint_every=1000)
    with pytest.raises(FloatingPointError, match="at step 1"):
        fit(lambda: ConvVAE(VAEConfig(latent_dim=2, hidden_channels=4), ImageShape(1, 4, 4)),
            image_batches(images), config, torch.device("cpu"), tmp_path / "n.pt", "fp", lambda m: None)


def test_device_selection():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in {"cpu", "cuda", "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            select_device("cuda")
