"""One explicit training loop for every family.

A family's model exposes `training_loss(batch) -> scalar tensor`; the loop owns the
optimizer, autocast, checkpoints, resume and the loss curve.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_model

from genai_platform.files import save_atomic
from genai_platform.training.batches import BatchSampler


@dataclass
class TrainingConfig:
    steps: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    checkpoint_every: int = 200
    log_every: int = 50
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainingResult:
    steps: int
    seconds: float
    device: str
    resumed_from_step: int | None
    loss_curve: list[float] = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        tail = self.loss_curve[-max(1, len(self.loss_curve) // 20):]
        return float(sum(tail) / len(tail))


def _rng_state(generator: torch.Generator) -> dict:
    state = {"cpu": torch.get_rng_state(), "batches": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(state["cpu"])
    generator.set_state(state["batches"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(path: Path, fingerprint: str) -> dict | None:
    """The checkpoint at `path` if it belongs to this exact run set-up, else None."""
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("fingerprint") != fingerprint:
        return None
    return state


def train(
    model: torch.nn.Module,
    batches: BatchSampler,
    config: TrainingConfig,
    device: torch.device,
    checkpoint_path: Path,
    fingerprint: str,
    log: Callable[[str], None] = print,
) -> TrainingResult:
    """Train `model` in place; resume from `checkpoint_path` when it matches `fingerprint`.

    The checkpoint (model, optimizer, step, RNG states, loss curve) is written atomically
    every `checkpoint_every` steps and removed once training completes.
    """
    model.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    generator = torch.Generator().manual_seed(config.seed)
    start_step, loss_curve, resumed_from = 0, [], None

    checkpoint = load_checkpoint(checkpoint_path, fingerprint)
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        _restore_rng(checkpoint["rng"], generator)
        start_step = resumed_from = int(checkpoint["step"])
        loss_curve = list(checkpoint["loss_curve"])
        log(f"resuming from checkpoint {checkpoint_path} at step {start_step}/{config.steps}")

    # bf16 autocast only on CUDA: CPU autocast slows these small models down.
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    )
    model.train()
    started = time.perf_counter()
    for step in range(start_step, config.steps):
        batch = batches(generator, config.batch_size)
        with autocast:
            loss = model.training_loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()

        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(f"training loss became {value} at step {step + 1}")
        loss_curve.append(value)
        done = step + 1
        if done % config.log_every == 0 or done == config.steps:
            rate = (done - start_step) / max(time.perf_counter() - started, 1e-9)
            log(f"step {done}/{config.steps} loss {value:.4f} ({rate:.1f} steps/s)")
        if done % config.checkpoint_every == 0 and done < config.steps:
            state = {
                "fingerprint": fingerprint,
                "step": done,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": _rng_state(generator),
                "loss_curve": loss_curve,
            }
            save_atomic(checkpoint_path, lambda tmp: torch.save(state, tmp))
    model.eval()
    checkpoint_path.unlink(missing_ok=True)
    return TrainingResult(
        steps=config.steps,
        seconds=time.perf_counter() - started,
        device=str(device),
        resumed_from_step=resumed_from,
        loss_curve=loss_curve,
    )


def export_weights(model: torch.nn.Module, path: Path) -> Path:
    """Final weights as safetensors, written atomically."""
    return save_atomic(path, lambda tmp: save_model(model, str(tmp)))
