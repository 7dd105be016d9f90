"""DDP through torchrun: two CPU processes on gloo train the weights one process trains on the whole batch,
a killed process's training resumes from rank 0's checkpoint, and two-phase families refuse."""

import os
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest
from helpers import materialize
import torch
from safetensors.torch import load_file

from genai_platform.defs.torchrun import LOOPBACK_SOCKETS, check_distributable, torchrun_command, write_spec
from genai_platform.modalities.base import TrainingData
from genai_platform.families.registry import FAMILIES, train_family
from genai_platform.training.fit import WEIGHTS_FILE, read_manifest
from genai_platform.training.loop import TrainingConfig

ENV = {**os.environ, "OMP_NUM_THREADS": "1", **LOOPBACK_SOCKETS}
CPU = torch.device("cpu")


def small_images() -> TrainingData:
    images = torch.rand(96, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    return TrainingData({"shape": {"channels": 1, "height": 8, "width": 8}, "count": 96}, images, "test-images")


def small_text() -> TrainingData:
    tokens = torch.randint(20, (4000,), generator=torch.Generator().manual_seed(2))
    return TrainingData({"vocabulary": [chr(97 + i) for i in range(20)]}, tokens, "test-text")


SETUPS = {
    "vae": (small_images, TrainingConfig(steps=30, batch_size=32, learning_rate=2e-3, checkpoint_every=10)),
    "lstm": (small_text, TrainingConfig(steps=30, batch_size=16, learning_rate=3e-3, checkpoint_every=10)),
}


def one_process(name: str, tmp_path: Path, **config) -> dict[str, torch.Tensor]:
    data, config = SETUPS[name][0](), replace(SETUPS[name][1], **config)
    family = FAMILIES[name]
    model_config = family.settings("smoke")[0]
    torch.set_num_threads(1)
    model, _ = train_family(family, model_config, config, data, torch.device("cpu"), tmp_path / "one.pt", "fp",
                            lambda _message: None)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def spec_for(name: str, work: Path, processes: int, **config) -> Path:
    data, training = SETUPS[name][0](), replace(SETUPS[name][1], processes=processes, **config)
    family = FAMILIES[name]
    model_config = family.settings("smoke")[0]
    return write_spec(family, model_config, training, data, device="cpu", threads=processes,
                      checkpoint=work / "checkpoint.pt", run_fingerprint=f"{name}-{processes}", out_dir=work / "model",
                      manifest={"model_config": model_config, "training_config": training, "data": data.description},
                      scratch=work / "scratch")


def torchrun(spec: Path, processes: int) -> subprocess.Popen:
    return subprocess.Popen(torchrun_command(processes, spec), env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def finished(process: subprocess.Popen, timeout: float = 180) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # torchrun and its ranks, not left to the rest of the session
        raise
    assert process.returncode == 0, output[-3000:]
    return output


MIXTURE = ("mixture_weights", "mixture_means", "mixture_scales")  # models/latent_mixture.py


def largest_difference(weights: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> float:
    """Of the trained weights. The latent mixture fitted after training is checked apart: its EM stops at a
    tolerance, so weights 1e-7 apart give mixtures some 1e-5 apart; it must have as many components."""
    assert weights.keys() == reference.keys()
    if "mixture_weights" in reference:
        assert (weights["mixture_weights"] > 0).sum() == (reference["mixture_weights"] > 0).sum()
        assert max((weights[k] - reference[k]).abs().max().item() for k in MIXTURE) < 1e-3
    return max((weights[k] - reference[k]).abs().max().item() for k in reference if k not in MIXTURE)


@pytest.mark.parametrize("name", ["vae", "lstm"])
def test_two_processes_train_the_weights_of_one_on_the_whole_batch(name, tmp_path):
    ranks = torchrun(spec_for(name, tmp_path / "ddp", 2), 2)
    reference = one_process(name, tmp_path)
    finished(ranks)
    difference = largest_difference(load_file(str(tmp_path / "ddp" / "model" / WEIGHTS_FILE)), reference)
    print(f"{name}: max |weight difference| between 2 ranks and 1 process after 30 steps: {difference:.3g}")
    assert difference < 5e-6
    manifest = read_manifest(tmp_path / "ddp" / "model")
    assert manifest["training"]["steps"] == 30
    assert manifest["training_config"]["processes"] == 2
    assert not (tmp_path / "ddp" / "checkpoint.pt").exists()  # removed once training completed


def test_two_processes_agree_on_every_plan_of_a_time_budget(tmp_path):
    # the ranks plan again at every progress line, each from its own clock: they must end on one step, or
    # the one still training waits for the other's gradients until torchrun gives up
    spec = spec_for("lstm", tmp_path / "timed", 2, steps=100000, max_seconds=4.0, log_every=10)
    output = finished(torchrun(spec, 2))
    training = read_manifest(tmp_path / "timed" / "model")["training"]
    assert training["limited_by"] == "seconds" and training["steps"] > 30, training
    assert "time budget: " in output


def rank_process(parent: int, rank: int) -> int:
    """The pid of the worker with RANK=`rank` among the processes below `parent`."""
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            variables = environ.read_bytes().split(b"\0")
            stat = (environ.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if f"RANK={rank}".encode() in variables and int(stat[1]) == parent:
            return int(environ.parent.name)
    raise LookupError(f"no rank {rank} below {parent}")


def test_a_killed_rank_resumes_from_the_checkpoint_to_the_weights_of_one_process(tmp_path):
    steps = dict(steps=300, checkpoint_every=25)
    spec = spec_for("vae", tmp_path / "killed", 2, **steps)
    first = torchrun(spec, 2)
    checkpoint = tmp_path / "killed" / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists():
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()[0][-3000:]
        time.sleep(0.01)
    os.kill(rank_process(first.pid, 1), signal.SIGKILL)
    output, _ = first.communicate(timeout=120)
    assert first.returncode != 0, "torchrun should fail when a rank is killed"
    assert not (tmp_path / "killed" / "model" / WEIGHTS_FILE).exists()

    retry = torchrun(spec_for("vae", tmp_path / "killed", 2, **steps), 2)  # the step's retry
    reference = one_process("vae", tmp_path, **steps)
    finished(retry)
    manifest = read_manifest(tmp_path / "killed" / "model")
    assert manifest["training"]["resumed_from_step"] >= 25
    difference = largest_difference(load_file(str(tmp_path / "killed" / "model" / WEIGHTS_FILE)), reference)
    print(f"vae: resumed from step {manifest['training']['resumed_from_step']} of 300; max |weight difference| "
          f"from 1 process: {difference:.3g}")
    assert difference < 5e-6


@pytest.mark.parametrize("name, reason", [
    ("gan", "GAN trains in 2 phases \\(discriminator, generator\\).*processes: 1"),
    ("textgan", "starts from a trained lstm model, which the processes do not load; train it with processes: 1")])
def test_two_phase_and_pretrained_families_refuse_several_processes(name, reason):
    family = FAMILIES[name]
    model_config, training = family.settings("smoke")
    data = small_images() if family.modality.name == "image" else small_text()
    with pytest.raises(dg.Failure, match=rf"train_{name} cannot run on 2 processes: .*{reason}"):
        check_distributable(family, model_config, replace(training, processes=2), data, CPU)


@pytest.mark.parametrize("processes, batch_size, device, reason", [
    (4, 30, CPU, "batch_size 30 does not split evenly over 4 processes"),
    (2, 32, torch.device("mps"), "DDP runs on CUDA \\(NCCL\\) or on the CPU \\(gloo\\), not on mps"),
    (torch.cuda.device_count() + 1, 32, torch.device("cuda"), "one process a GPU, and this machine has")])
def test_a_split_the_processes_cannot_make_is_refused(processes, batch_size, device, reason):
    family = FAMILIES["vae"]
    config = TrainingConfig(steps=1, batch_size=batch_size, learning_rate=1e-3, processes=processes)
    with pytest.raises(dg.Failure, match=reason):
        check_distributable(family, family.settings("smoke")[0], config, small_images(), device)


def test_the_training_asset_trains_on_two_processes_through_pipes_and_gan_refuses(smoke_resources):
    config = {"ops": {"train_vae": {"config": {"processes": 2}}, "train_gan": {"config": {"processes": 2}}}}
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(smoke_resources, selection=["raw_images", "images", "train_vae", "train_gan"],
                         run_config=config, raise_on_error=False, instance=instance)
    vae = result.asset_materializations_for_node("train_vae")[-1].metadata
    assert vae["processes"].value == 2 and vae["steps"].value == FAMILIES["vae"].settings("smoke")[1].steps
    assert Path(vae["path"].value, WEIGHTS_FILE).exists()
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert "rank 0 of 2 processes on cpu" in logs  # the worker's rank 0 reports through Pipes
    failure = next(e for e in result.all_events if e.is_step_failure and e.step_key == "train_gan")
    assert "train_gan cannot run on 2 processes" in failure.step_failure_data.error.message
