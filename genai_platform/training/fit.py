"""Fit, save and load a trainable model (a family's, or the feature classifier) with the one loop."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone

import torch
from safetensors.torch import load_model
from torch import nn

from genai_platform.errors import DamagedArtifact, UnloadableVersion
from genai_platform.files import ArtifactPath, local_copy, sha256_file, write_atomic
from genai_platform.models.base import TrainableModel
from genai_platform.training.batches import BatchSampler
from genai_platform.training.device import seed_everything
from genai_platform.training.distributed import is_writer
from genai_platform.training.loop import TrainingConfig, TrainingResult, export_weights, train

WEIGHTS_FILE = "model.safetensors"
MANIFEST_FILE = "manifest.json"


def fit(
    build: Callable[[], TrainableModel],
    batches: BatchSampler,
    config: TrainingConfig,
    device: torch.device,
    checkpoint_path: ArtifactPath,
    run_fingerprint: str,
    log: Callable[[str], None],
    data: torch.Tensor | None = None,
) -> tuple[TrainableModel, TrainingResult]:
    """Build the model from the seed and train it with the loop; then, given the training `data`, run the
    model's finish_training (in the writing process only, whose model is the one kept) and log its line."""
    seed_everything(config.seed)  # the model's initial weights come from the seed
    model = build()
    result = train(model, batches, config, device, checkpoint_path, run_fingerprint, log)
    if data is not None and is_writer():
        started = time.perf_counter()
        if (note := model.finish_training(data, config.seed)) is not None:
            log(f"{note} ({time.perf_counter() - started:.1f} s)")
    return model, result


def save_trained(model: nn.Module, out_dir: ArtifactPath, manifest: dict, result: TrainingResult) -> dict:
    """Weights then manifest, each renamed into place; the manifest is the commit point. Returns the manifest
    as read_manifest would read it back (configs as dicts)."""
    export_weights(model, out_dir / WEIGHTS_FILE)
    manifest = {
        **manifest,
        "files": {WEIGHTS_FILE: sha256_file(out_dir / WEIGHTS_FILE)},  # what damage() checks
        "trained_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "parameters": sum(p.numel() for p in model.parameters()),
        "training": {"steps": result.steps, "limited_by": result.limited_by, "passes": result.passes,
                     "seconds": result.seconds, "device": result.device,
                     "resumed_from_step": result.resumed_from_step, "final_losses": result.final_losses,
                     "loss_curves": result.loss_curves},
    }
    text = json.dumps(manifest, indent=2, default=jsonable)
    write_atomic(out_dir / MANIFEST_FILE, text)
    return json.loads(text)


def jsonable(value):
    """json.dumps's `default` for manifests: config dataclasses become dicts."""
    if is_dataclass(value):
        return asdict(value)
    raise TypeError(f"cannot store {type(value).__name__} in a manifest")


def read_manifest(out_dir: ArtifactPath) -> dict:
    path = out_dir / MANIFEST_FILE
    if not path.exists():
        raise FileNotFoundError(f"no trained model at {out_dir} (missing {MANIFEST_FILE}); train it first")
    return json.loads(path.read_text(encoding="utf-8"))


def damage(out_dir: ArtifactPath) -> str | None:
    """What is wrong with the kept model in out_dir: an unreadable manifest, or a file it lists that is gone or
    no longer has the SHA-256 recorded when it was written; None when intact (manifests written before
    checksums list no files, so only their readability is checked)."""
    if not (out_dir / MANIFEST_FILE).exists():
        return f"{out_dir / MANIFEST_FILE} is missing"
    try:
        manifest = read_manifest(out_dir)
    except (ValueError, UnicodeDecodeError) as error:
        return f"{out_dir / MANIFEST_FILE} is not a readable manifest ({error})"
    for name, expected in manifest.get("files", {}).items():
        path = out_dir / name
        if not path.exists():
            return f"{path} is missing"
        if (actual := sha256_file(path)) != expected:
            return f"{path} has SHA-256 {actual[:16]}..., not the {expected[:16]}... recorded when it was written"
    return None


def load_trained(build: Callable[[dict], nn.Module], out_dir: ArtifactPath, device: torch.device) -> tuple[nn.Module, dict]:
    """Rebuild the module from its manifest and load the safetensors weights, once their checksum holds."""
    if problem := damage(out_dir):
        raise DamagedArtifact(f"the model kept in {out_dir} is damaged: {problem}")
    manifest = read_manifest(out_dir)
    try:
        model = build(manifest)
        with local_copy(out_dir / WEIGHTS_FILE) as weights:
            load_model(model, str(weights), device="cpu")
    except (TypeError, ValueError, RuntimeError, KeyError) as error:  # another config, or other tensors
        raise UnloadableVersion(f"the model kept in {out_dir} cannot be built by this code (it was made by an "
                                f"older one?): {error}") from error
    return model.to(device).eval(), manifest
