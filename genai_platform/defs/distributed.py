"""A training on several processes: torchrun started through Dagster Pipes (training config `processes`)."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import dagster as dg
from safetensors.torch import save_file

from genai_platform.evaluation.modality import TrainingData
from genai_platform.families.registry import Family
from genai_platform.models.base import BatchShard
from genai_platform.training.distributed import check_batch_split
from genai_platform.training.fit import read_manifest
from genai_platform.training.loop import TrainingConfig


def check_distributable(family: Family, model_config, training_config: TrainingConfig, data: TrainingData) -> None:
    """Refuse, before any process starts and with no retry, what several processes cannot train (a GAN's two
    phases)."""
    try:
        check_batch_split(family.build(model_config, data.description), training_config.batch_size,
                          BatchShard(0, training_config.processes))
    except ValueError as error:
        raise dg.Failure(f"train_{family.name} cannot run on {training_config.processes} processes: {error}",
                         allow_retries=False) from None


def write_spec(family: Family, model_config, training_config: TrainingConfig, data: TrainingData, *, device: str,
               threads: int, checkpoint: Path, run_fingerprint: str, out_dir: Path, manifest: dict,
               scratch: Path) -> Path:
    """The worker's spec (defs/train_worker.py) and the training data beside it, in `scratch`. The processes
    read the data from this safetensors file, not from DuckDB, which one writer may hold locked."""
    scratch.mkdir(parents=True, exist_ok=True)
    tensor_path = scratch / "data.safetensors"
    save_file({"data": data.tensor.contiguous()}, str(tensor_path))
    spec = {"family": family.name, "model_config": asdict(model_config), "training_config": asdict(training_config),
            "data": {"tensor": str(tensor_path), "description": data.description, "version": data.version},
            "device": device, "threads": max(1, threads // training_config.processes),
            "checkpoint": str(checkpoint), "fingerprint": run_fingerprint, "out_dir": str(out_dir),
            "manifest": json.loads(json.dumps(manifest, default=asdict))}
    spec_path = scratch / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return spec_path


def torchrun_command(processes: int, spec_path: Path) -> list[str]:
    """torchrun on this machine (its rendezvous on a free local port); a failed process fails them all."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
            "--max-restarts=0", "-m", "genai_platform.defs.train_worker", str(spec_path)]


def train_in_processes(context: dg.AssetExecutionContext, pipes_client: dg.PipesSubprocessClient, family: Family,
                       model_config, training_config: TrainingConfig, data: TrainingData, *, scratch: Path,
                       out_dir: Path, **spec) -> dict:
    """Train on `training_config.processes` local processes; returns the kept model's manifest. Rank 0 writes
    the checkpoints and the model version, so a retry of the step resumes as one process's would."""
    try:
        spec_path = write_spec(family, model_config, training_config, data, scratch=scratch, out_dir=out_dir, **spec)
        command = torchrun_command(training_config.processes, spec_path)
        context.log.info(f"starting {training_config.processes} training processes: {' '.join(command[1:])}")
        pipes_client.run(command=command, context=context, extras={"spec": str(spec_path)})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return read_manifest(out_dir)
