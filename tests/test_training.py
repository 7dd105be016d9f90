"""The one training loop: learning, atomic checkpoints, resume, safetensors export."""

import dataclasses
import math
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import resume_worker
from helpers import Crash, crashing_at
import torch
from safetensors.torch import load_file

from genai_platform.models.lstm import CharLSTM, LSTMConfig
from genai_platform.models.shapes import ImageShape
from genai_platform.models.vae import ConvVAE, VAEConfig
from genai_platform.models.vocab import CharVocabulary
from genai_platform.errors import DamagedArtifact
from genai_platform.training import TrainingConfig, select_device
from genai_platform.training.batches import image_batches, token_windows
from genai_platform.training.fit import fit
from genai_platform.modalities.base import TrainingData
from genai_platform.families.registry import FAMILIES, build_model
from genai_platform.training import loop
from genai_platform.training.loop import CALIBRATION, WeightAverage, export_weights, make_optimizer, read_checkpoint

TEXT = "the quick brown fox jumps over the lazy dog. " * 40


def _lstm_setup():
    vocab = CharVocabulary(sorted(set(TEXT)))
    tokens = vocab.encode_documents([TEXT])
    config = LSTMConfig(embedding_dim=8, hidden_size=16, num_layers=1, context_length=16)
    return (lambda: CharLSTM(config, len(vocab))), token_windows(tokens, 16)


def test_training_reduces_loss(tmp_path):
    build, batches = _lstm_setup()
    config = TrainingConfig(steps=60, batch_size=16, learning_rate=1e-2, log_every=1000, checkpoint_every=1000)
    _, result = fit(build, batches, config, torch.device("cpu"), tmp_path / "t.pt", "fp", lambda m: None)
    curve = result.loss_curves["loss"]
    assert len(curve) == 60
    assert sum(curve[-10:]) / 10 < 0.6 * sum(curve[:5]) / 5


def _crashed_after_a_checkpoint(tmp_path):
    """An uninterrupted training's model, and the set-up of one that crashed at step 25 (checkpoint at 20)."""
    build, batches = _lstm_setup()
    config = TrainingConfig(steps=30, batch_size=8, learning_rate=1e-2, log_every=1000, checkpoint_every=10)
    reference, _ = fit(build, batches, config, torch.device("cpu"), tmp_path / "a.pt", "fp", lambda m: None)
    checkpoint = tmp_path / "b.pt"
    with pytest.raises(Crash):
        fit(build, crashing_at(batches, 25), config, torch.device("cpu"), checkpoint, "fp", lambda m: None)
    return reference, build, batches, config, checkpoint


def test_resume_after_a_crash_matches_an_uninterrupted_run(tmp_path):
    reference, build, batches, config, checkpoint = _crashed_after_a_checkpoint(tmp_path)
    assert checkpoint.exists() and read_checkpoint(checkpoint)["step"] == 20
    logs = []
    resumed, result = fit(build, batches, config, torch.device("cpu"), checkpoint, "fp", logs.append)
    assert result.resumed_from_step == 20 and "resuming" in logs[0]
    assert not checkpoint.exists()
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_a_checkpoint_damaged_mid_file_is_not_resumed_from(tmp_path):
    """torch reads a checkpoint overwritten mid-file without a word, so its SHA-256 is written before it: a
    damaged one is logged and training starts over, to the uninterrupted run's weights."""
    reference, build, batches, config, checkpoint = _crashed_after_a_checkpoint(tmp_path)
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(DamagedArtifact, match=f"checkpoint {checkpoint} is damaged"):
        read_checkpoint(checkpoint)
    logs = []
    restarted, result = fit(build, batches, config, torch.device("cpu"), checkpoint, "fp", logs.append)
    assert result.resumed_from_step is None and any("is damaged" in line and "training from the start" in line
                                                    for line in logs)
    for (name, a), b in zip(reference.state_dict().items(), restarted.state_dict().values()):
        assert torch.equal(a, b), name


def test_an_epoch_budget_stops_after_that_many_passes_over_the_tokens(tmp_path):
    build, batches = _lstm_setup()
    config = TrainingConfig(steps=1000, batch_size=8, learning_rate=1e-2, epochs=2.0, log_every=1000)
    _, result = fit(build, batches, config, torch.device("cpu"), tmp_path / "e.pt", "fp", lambda m: None)
    tokens = batches.examples  # one pass: every token once, 16-token windows, 8 windows a step
    assert result.steps == math.ceil(2 * tokens / (8 * 16)) and result.limited_by == "epochs"
    assert 2.0 <= result.passes < 2.0 + 8 * 16 / tokens
    _, capped = fit(build, batches, dataclasses.replace(config, steps=10), torch.device("cpu"), tmp_path / "f.pt",
                    "fp2", lambda m: None)
    assert (capped.steps, capped.limited_by) == (10, "steps")


class StepClock:
    """The loop's clock, advanced by every batch drawn: `seconds` (1/32 s, exact in binary), then `then`
    from the draw after the `after`-th on: a step rate the test knows."""

    def __init__(self):
        self.seconds = 0.0

    def perf_counter(self) -> float:
        return self.seconds

    def slowed(self, batches, seconds: float = 1 / 32, after: int | None = None, then: float = 0.0):
        draws = {"n": 0}

        def sample(generator, batch_size, shard):
            draws["n"] += 1
            self.seconds += then if after is not None and draws["n"] > after else seconds
            return batches(generator, batch_size, shard)
        return dataclasses.replace(batches, draw=sample)


@pytest.mark.parametrize("later, steps", [(1 / 16, 52), (1 / 64, 88)])
def test_a_time_budget_is_planned_again_when_the_rate_changes(tmp_path, monkeypatch, later, steps):
    clock = StepClock()
    monkeypatch.setattr(loop, "time", clock)
    build, batches = _lstm_setup()
    config = TrainingConfig(steps=100000, batch_size=8, learning_rate=1e-2, max_seconds=2.0, log_every=1000,
                            checkpoint_every=1000)
    logs = []
    _, result = fit(build, clock.slowed(batches), config, torch.device("cpu"), tmp_path / "t.pt", "fp", logs.append)
    # 32 steps/s measured over steps 4..23; at step 23, 23/32 s are gone, and 2 s - 23/32 s hold 41 more steps
    assert (result.steps, result.limited_by, clock.seconds) == (CALIBRATION[1] + 41, "seconds", 2.0)
    assert "time budget: 32.00 steps/s, so 64 steps" in "\n".join(logs)
    # the rate halves (doubles) after step 40: planned once, training would end at 2.75 s (1.625 s); planned
    # again at every progress line, it ends at 2 s, on fewer (more) steps
    clock.seconds, logs = 0.0, []
    _, result = fit(build, clock.slowed(batches, after=40, then=later), config, torch.device("cpu"),
                    tmp_path / "c.pt", "fp", logs.append)
    assert (result.steps, result.limited_by, clock.seconds) == (steps, "seconds", 2.0)
    assert any(line.startswith("time budget: ") and " steps/s over steps " in line for line in logs)


def test_every_plan_takes_the_total_the_processes_agree_on(tmp_path, monkeypatch):
    clock = StepClock()
    monkeypatch.setattr(loop, "time", clock)
    monkeypatch.setattr(loop, "least_over_processes", lambda total, device: total - 1)  # a slower rank's plan
    build, batches = _lstm_setup()
    config = TrainingConfig(steps=100000, batch_size=8, learning_rate=1e-2, max_seconds=2.0, log_every=1000)
    _, result = fit(build, clock.slowed(batches), config, torch.device("cpu"), tmp_path / "a.pt", "fp", lambda m: None)
    assert (result.steps, result.limited_by) == (CALIBRATION[1] + 40, "seconds")  # this process alone: 41 more


def test_a_resumed_training_spends_what_the_interrupted_one_left_of_the_time_budget(tmp_path, monkeypatch):
    clock = StepClock()
    monkeypatch.setattr(loop, "time", clock)
    build, batches = _lstm_setup()
    config = TrainingConfig(steps=100000, batch_size=8, learning_rate=1e-2, max_seconds=4.0, log_every=1000,
                            checkpoint_every=5)
    # at 32 steps/s, 4 s hold 128 steps; killed at the 30th, it leaves a checkpoint at step 25 after 25/32 s
    checkpoint = tmp_path / "k.pt"
    with pytest.raises(Crash):
        fit(build, crashing_at(clock.slowed(batches), 30), config, torch.device("cpu"), checkpoint, "fp",
            lambda m: None)
    saved = read_checkpoint(checkpoint)
    assert (saved["step"], saved["planned_steps"], saved["limited_by"], saved["seconds"]) == (25, 128, "seconds",
                                                                                              25 / 32)
    # resumed on a machine half as fast: at step 48, 25/32 + 23/16 s are gone; the other 57/32 s hold 28 steps;
    # killed again at step 55, it leaves a checkpoint at step 50 after 25/32 + 25/16 s
    logs = []
    with pytest.raises(Crash):
        fit(build, crashing_at(clock.slowed(batches, 1 / 16), 30), config, torch.device("cpu"), checkpoint, "fp",
            logs.append)
    assert "within 4 s, 1 s of it spent before the checkpoint" in "\n".join(logs)
    assert "time budget: 16.00 steps/s, so 76 steps" in "\n".join(logs)
    saved = read_checkpoint(checkpoint)
    assert (saved["step"], saved["planned_steps"], saved["seconds"]) == (50, 76, 25 / 32 + 25 / 16)
    # at step 73, 75/32 + 23/16 s are gone; the other 7/32 s hold 3 steps; 127/32 s of training in all
    _, resumed = fit(build, clock.slowed(batches, 1 / 16), config, torch.device("cpu"), checkpoint, "fp",
                     lambda m: None)
    assert (resumed.steps, resumed.limited_by, resumed.resumed_from_step, resumed.seconds) == (76, "seconds", 50,
                                                                                               127 / 32)
    # killed before the first plan: the resumed training at the same rate ends where an uninterrupted one does
    early = tmp_path / "early.pt"
    with pytest.raises(Crash):
        fit(build, crashing_at(clock.slowed(batches), 8), config, torch.device("cpu"), early, "fp", lambda m: None)
    saved = read_checkpoint(early)
    assert saved["seconds"] == 5 / 32
    # a checkpoint written when the budget was already spent ends training where it is
    spent = tmp_path / "spent.pt"
    torch.save({**saved, "seconds": 4.0}, spent)
    _, ended = fit(build, clock.slowed(batches), config, torch.device("cpu"), spent, "fp", lambda m: None)
    assert (ended.resumed_from_step, ended.steps, ended.limited_by) == (5, 5, "seconds")
    _, late = fit(build, clock.slowed(batches), config, torch.device("cpu"), early, "fp", lambda m: None)
    assert (late.resumed_from_step, late.steps, late.limited_by) == (5, 128, "seconds")


def test_a_budget_that_leaves_the_steps_as_they_were_does_not_claim_them(tmp_path, monkeypatch):
    clock = StepClock()
    monkeypatch.setattr(loop, "time", clock)
    build, batches = _lstm_setup()
    both = TrainingConfig(steps=1000, batch_size=8, learning_rate=1e-2, epochs=2.0, max_seconds=100.0, log_every=1000)
    _, result = fit(build, clock.slowed(batches), both, torch.device("cpu"), tmp_path / "b.pt", "fp", lambda m: None)
    assert (result.steps, result.limited_by) == (batches.steps_for(2.0, 8), "epochs")  # 100 s would hold 3,200
    # a budget spent by the time the rate is known ends training there
    spent = dataclasses.replace(both, epochs=0.0, max_seconds=0.5)
    _, result = fit(build, clock.slowed(batches), spent, torch.device("cpu"), tmp_path / "s.pt", "fp2", lambda m: None)
    assert (result.steps, result.limited_by) == (CALIBRATION[1], "seconds")


def test_a_cut_short_training_warms_up_over_a_tenth_of_its_steps():
    config = TrainingConfig(steps=3000, batch_size=1, learning_rate=1.0, lr_schedule="cosine", warmup_steps=100)
    assert config.lr_factor(99, 3000) == pytest.approx(1.0) and config.lr_factor(49, 3000) == pytest.approx(0.5)
    assert config.lr_factor(33, 345) == pytest.approx(1.0) and config.lr_factor(16, 345) == pytest.approx(0.5)
    assert config.lr_factor(344, 345) == pytest.approx(0.1, abs=1e-4)


def _worker(tmp_path, name):
    return subprocess.Popen([sys.executable, str(Path(__file__).with_name("resume_worker.py")),
                             str(tmp_path / f"{name}.pt"), str(tmp_path / f"{name}.safetensors")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_a_killed_training_process_resumes_to_the_same_weights(tmp_path):
    """SIGKILL after a checkpoint, start again: the weights equal an uninterrupted run's, bit for bit."""
    worker = _worker(tmp_path, "killed")
    for line in worker.stdout:
        if line.startswith("checkpoint written at step"):
            worker.kill()
            break
    worker.wait(timeout=60)
    assert worker.returncode == -signal.SIGKILL
    killed_at = read_checkpoint(tmp_path / "killed.pt")["step"]
    assert 0 < killed_at < resume_worker.STEPS

    resumed = _worker(tmp_path, "killed")
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out
    assert f"resuming from checkpoint {tmp_path / 'killed.pt'} at step {killed_at}/" in out
    assert f"finished resumed_from={killed_at}" in out
    reference = _worker(tmp_path, "reference")
    out, _ = reference.communicate(timeout=300)
    assert reference.returncode == 0 and "finished resumed_from=None" in out, out

    a, b = load_file(tmp_path / "killed.safetensors"), load_file(tmp_path / "reference.safetensors")
    assert set(a) == set(b)
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert not (tmp_path / "killed.pt").exists()


def test_checkpoint_of_another_setup_is_not_resumed(tmp_path):
    build, batches = _lstm_setup()
    config = TrainingConfig(steps=12, batch_size=4, learning_rate=1e-2, log_every=1000, checkpoint_every=5)
    with pytest.raises(Crash):
        fit(build, crashing_at(batches, 8), config, torch.device("cpu"), tmp_path / "c.pt", "old", lambda m: None)
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


def test_learning_rate_warms_up_linearly_then_follows_the_cosine():
    config = TrainingConfig(steps=110, batch_size=1, learning_rate=1.0, lr_schedule="cosine", warmup_steps=10,
                            min_lr_ratio=0.1)
    assert [config.lr_factor(s, 110) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert config.lr_factor(10, 110) == pytest.approx(1.0)
    assert config.lr_factor(60, 110) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert config.lr_factor(110, 110) == pytest.approx(0.1)
    # a budget that cuts the training short ends the cosine at the planned step
    assert config.lr_factor(60, 60) == pytest.approx(0.1)
    assert TrainingConfig(steps=5, batch_size=1, learning_rate=1.0).lr_factor(3, 5) == 1.0
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainingConfig(steps=5, batch_size=1, learning_rate=1.0, lr_schedule="linear")


def test_weight_decay_reaches_matrices_only():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    config = TrainingConfig(steps=1, batch_size=1, learning_rate=1e-3, weight_decay=0.1)
    groups = make_optimizer(list(model.parameters()), config, torch.device("cpu")).param_groups
    decayed = {id(p) for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    assert decayed == {id(model[0].weight)}


def test_weight_average_is_the_exponential_moving_average():
    model = torch.nn.Linear(2, 1, bias=False)
    average = WeightAverage(model, decay=0.5)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(2.0)
    average.update()
    with torch.no_grad():
        model.weight.add_(2.0)
    average.update()  # 0.5 * (0.5 * w0 + 0.5 * (w0 + 2)) + 0.5 * (w0 + 4)
    average.copy_to_model()
    assert torch.allclose(model.weight, start + 2.5)


def test_gan_resume_restores_both_optimizers(tmp_path):
    """Two phases, two optimizers: a crash and resume still gives the uninterrupted weights."""
    family = FAMILIES["gan"]
    model_config, training = family.settings("smoke")
    training = dataclasses.replace(training, steps=12, checkpoint_every=5, log_every=1000)
    images = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    data = TrainingData({"shape": {"channels": 1, "height": 8, "width": 8}, "count": 32}, images, "v")
    build = lambda: build_model(family, model_config, data)  # noqa: E731
    cpu, quiet = torch.device("cpu"), lambda m: None
    reference, _ = fit(build, image_batches(images), training, cpu, tmp_path / "a.pt", "fp", quiet)
    with pytest.raises(Crash):
        fit(build, crashing_at(image_batches(images), 8), training, cpu, tmp_path / "b.pt", "fp", quiet)
    assert set(read_checkpoint(tmp_path / "b.pt")["optimizers"]) == {"discriminator", "generator"}
    resumed, result = fit(build, image_batches(images), training, cpu, tmp_path / "b.pt", "fp", quiet)
    assert result.resumed_from_step == 5 and len(result.loss_curves["generator"]) == 12
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
