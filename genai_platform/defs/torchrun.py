"""A training on several processes: torchrun started through Dagster Pipes (training config `processes`)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import dagster as dg
import torch
from safetensors.torch import save_file

from genai_platform.modalities.base import TrainingData
from genai_platform.families.registry import Family
from genai_platform.files import ArtifactPath
from genai_platform.models.base import BatchShard
from genai_platform.training.distributed import check_batch_split
from genai_platform.training.fit import jsonable, read_manifest
from genai_platform.training.loop import TrainingConfig


def check_distributable(family: Family, model_config, training_config: TrainingConfig, data: TrainingData,
                        device: torch.device) -> None:
    """Refuse, before any process starts and with no retry, what several processes cannot train (a GAN's two
    phases) or where (more processes than GPUs)."""
    processes = training_config.processes
    try:
        if family.pretrained:
            raise ValueError(f"it starts from a trained {family.pretrained.family} model, which the processes do "
                             "not load; train it with processes: 1")
        if device.type == "cuda" and processes > torch.cuda.device_count():
            raise ValueError(f"one process a GPU, and this machine has {torch.cuda.device_count()}")
        if device.type not in ("cuda", "cpu"):
            raise ValueError(f"DDP runs on CUDA (NCCL) or on the CPU (gloo), not on {device.type}; set GENAI_DEVICE")
        check_batch_split(family.build(model_config, data.description), training_config.batch_size,
                          BatchShard(0, processes))
    except ValueError as error:
        raise dg.Failure(f"train_{family.name} cannot run on {processes} processes: {error}",
                         allow_retries=False) from None


def write_spec(family: Family, model_config, training_config: TrainingConfig, data: TrainingData, *, device: str,
               threads: int, checkpoint: ArtifactPath, run_fingerprint: str, out_dir: ArtifactPath, manifest: dict,
               scratch: Path) -> Path:
    """The worker's spec (defs/train_worker.py) and the training data beside it, in the local folder `scratch`.
    The processes read the data from this safetensors file, not from DuckDB, which one writer may hold locked."""
    scratch.mkdir(parents=True, exist_ok=True)
    tensor_path = scratch / "data.safetensors"
    save_file({"data": data.tensor.contiguous()}, str(tensor_path))
    spec = {"family": family.name, "model_config": asdict(model_config), "training_config": asdict(training_config),
            "data": {"tensor": str(tensor_path), "description": data.description, "version": data.version},
            "device": device, "threads": max(1, threads // training_config.processes),
            "checkpoint": str(checkpoint), "fingerprint": run_fingerprint, "out_dir": str(out_dir),
            "manifest": json.loads(json.dumps(manifest, default=jsonable))}
    spec_path = scratch / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return spec_path


# the processes' gloo and NCCL connections on the loopback interface, unless the environment names another
# (torchrun's own rendezvous store listens on every interface: torch offers no setting for it)
LOOPBACK_SOCKETS = {variable: os.environ.get(variable, "lo") for variable in ("GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME")}


def torchrun_command(processes: int, spec_path: Path) -> list[str]:
    """torchrun on this machine (its rendezvous on a free local port); a failed process fails them all."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
            "--max-restarts=0", "-m", "genai_platform.defs.train_worker", str(spec_path)]


def train_in_processes(context: dg.AssetExecutionContext, pipes_client: dg.PipesSubprocessClient, family: Family,
                       model_config, training_config: TrainingConfig, data: TrainingData, *, out_dir: ArtifactPath,
                       **spec) -> dict:
    """Train on `training_config.processes` local processes; returns the kept model's manifest. Rank 0 writes
    the checkpoints and the model version, so a retry of the step resumes as one process's would."""
    scratch = Path(tempfile.mkdtemp(prefix=f"genai-{family.name}-"))
    try:
        spec_path = write_spec(family, model_config, training_config, data, scratch=scratch, out_dir=out_dir, **spec)
        command = torchrun_command(training_config.processes, spec_path)
        context.log.info(f"starting {training_config.processes} training processes ({' '.join(command[1:])}); "
                         "rank 0 reports here, and a failing process's traceback goes to this step's stderr")
        pipes_client.run(command=command, context=context, env=LOOPBACK_SOCKETS)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return read_manifest(out_dir)
