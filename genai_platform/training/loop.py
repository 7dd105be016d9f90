"""One explicit training loop for every family.

It trains any models.base.TrainableModel: `training_phases()` gives the parameter groups
(one, or a GAN's discriminator then generator), each gets its own optimizer, and every
training step steps each phase once, in order, on `training_loss(batch, phase)`.

The loop owns the optimizers (AdamW, weight decay on matrices only), the learning-rate
schedule, gradient clipping, an optional exponential moving average of the weights,
autocast, atomic checkpoints, exact resume (without a time budget; with one, a resumed training
re-plans its end from its own rate) and the loss curves. Started by torchrun, it
trains with DDP: each process takes its block of every batch (training/distributed.py).
"""

from __future__ import annotations

import hashlib
import io
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field

import torch
from safetensors.torch import save_model

from genai_platform.errors import DamagedArtifact
from genai_platform.files import ArtifactPath, save_atomic, write_atomic
from genai_platform.models.base import SINGLE_PHASE, BatchShard, TrainableModel
from genai_platform.training.batches import BatchSampler
from genai_platform.training.distributed import (batch_shard, check_batch_split, data_parallel_loss, is_writer,
                                                 least_over_processes, mean_over_processes)

LR_SCHEDULES = ("constant", "cosine")
# the time budget is first planned from the rate of a process's steps CALIBRATION[0] + 1..CALIBRATION[1]
# (counted from where it started or resumed), after the first steps' one-off costs (allocation,
# compilation); so a training with a time budget takes at least CALIBRATION[1] steps. It is planned
# again at every progress line from the rate since the last plan, so a rate that changes (other work
# starting or ending beside it) moves the end rather than overrunning or wasting the budget.
CALIBRATION = (3, 23)


@dataclass
class TrainingConfig:
    """`steps` is the most a training takes; `epochs` and `max_seconds`, when set, stop it sooner."""
    steps: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 0.0  # decoupled (AdamW), on weight matrices and kernels only
    beta1: float = 0.9
    beta2: float = 0.999
    grad_clip: float = 1.0  # max global gradient norm per phase; 0 turns clipping off
    lr_schedule: str = "constant"  # "constant" or "cosine" (down to min_lr_ratio)
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1
    ema_decay: float = 0.0  # > 0 keeps an exponential moving average; the exported weights are the average
    compile: bool = False  # torch.compile the loss on CUDA; ignored on CPU, where it costs more than it saves
    epochs: float = 0.0  # > 0: at most this many passes over the training data (images, or tokens for text)
    max_seconds: float = 0.0  # > 0: as many steps as fit in this many seconds of training, re-planned as it
                              # goes (at least CALIBRATION[1] steps)
    processes: int = 1  # > 1: DDP over this many processes (torchrun), each on batch_size / processes rows
    checkpoint_every: int = 200
    log_every: int = 50
    seed: int = 0

    def __post_init__(self):
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.steps < 0 or min(self.batch_size, self.processes, self.checkpoint_every, self.log_every) < 1:
            raise ValueError("steps must be >= 0; batch_size, processes, checkpoint_every and log_every >= 1")
        if self.epochs < 0 or self.max_seconds < 0:
            raise ValueError(f"epochs and max_seconds must be >= 0 (0: no such limit), got {self.epochs} and "
                             f"{self.max_seconds}")

    def as_dict(self) -> dict:
        return asdict(self)

    def lr_factor(self, step: int, total_steps: int) -> float:
        """Multiplier of learning_rate at 0-based `step` of `total_steps`: linear warm-up (at most a tenth of
        the steps, when a budget cut them short), then the schedule."""
        warmup = min(self.warmup_steps, total_steps // 10) if total_steps < self.steps else self.warmup_steps
        if step < warmup:
            return (step + 1) / warmup
        if self.lr_schedule == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total_steps - warmup)
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


@dataclass
class TrainingResult:
    steps: int
    seconds: float  # of training: this attempt's and earlier ones' up to the checkpoint it resumed from
    device: str
    resumed_from_step: int | None
    limited_by: str = "steps"  # which budget ended training: steps, epochs or seconds
    passes: float = 0.0  # passes over the training data the steps made
    loss_curves: dict[str, list[float]] = field(default_factory=dict)

    @property
    def final_losses(self) -> dict[str, float]:
        """Mean of the last 5% of each curve."""
        out = {}
        for phase, curve in self.loss_curves.items():
            tail = curve[-max(1, len(curve) // 20):] or [float("nan")]
            out[phase] = float(sum(tail) / len(tail))
        return out


def make_optimizer(params: list[torch.nn.Parameter], config: TrainingConfig, device: torch.device):
    """AdamW with decay on tensors of 2+ dimensions only: biases, norms and gains stay undecayed."""
    params = [p for p in params if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=config.learning_rate,
                             betas=(config.beta1, config.beta2), fused=device.type == "cuda")


class WeightAverage:
    """Exponential moving average of a model's floating-point parameters and buffers."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.tensors = [t for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()]
        self.average = [t.detach().clone() for t in self.tensors]

    @torch.no_grad()
    def update(self) -> None:
        torch._foreach_lerp_(self.average, [t.detach() for t in self.tensors], 1 - self.decay)

    @torch.no_grad()
    def copy_to_model(self) -> None:
        for tensor, average in zip(self.tensors, self.average):
            tensor.copy_(average)

    def state_dict(self) -> list[torch.Tensor]:
        return self.average

    def load_state_dict(self, state: list[torch.Tensor]) -> None:
        for average, saved in zip(self.average, state):
            average.copy_(saved)


def step_seed(seed: int, step: int, stream: str) -> int:
    """The seed of one stream of a step's random draws: the same wherever and whenever the step runs, so a
    resumed training needs no generator state but the batches', and every process can derive it."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{step}/{stream}".encode()).digest()[:8], "little") >> 1


def seed_step(noise: torch.Generator, seed: int, step: int, shard: BatchShard) -> None:
    """Seed a step's draws: the batch rows' (models.base.training_noise) alike in every process, torch's
    global generator (dropout) different in each."""
    noise.manual_seed(step_seed(seed, step, "batch rows"))
    torch.manual_seed(step_seed(seed, step, f"process {shard.index}"))


CHECKPOINT_MAGIC = b"genai-checkpoint-sha256\n"  # then the SHA-256 of the rest, then torch.save's bytes


def read_checkpoint(path: ArtifactPath) -> dict:
    """The checkpoint at `path`, its SHA-256 checked first (torch reads a zip overwritten mid-file without a
    word); DamagedArtifact when it does not match or torch cannot read it. Checkpoints written before
    checksums have no header and are read as they are."""
    with path.open("rb") as file:
        data = file.read()
    if data.startswith(CHECKPOINT_MAGIC):
        start = len(CHECKPOINT_MAGIC) + 32
        if hashlib.sha256(data[start:]).digest() != data[len(CHECKPOINT_MAGIC):start]:
            raise DamagedArtifact(f"checkpoint {path} is damaged: its SHA-256 does not match the one written with it")
        data = data[start:]
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, ValueError) as error:
        raise DamagedArtifact(f"checkpoint {path} cannot be read ({error})") from error


def load_checkpoint(path: ArtifactPath, fingerprint: str, log: Callable[[str], None] = print) -> dict | None:
    """The checkpoint at `path` if it belongs to this exact run set-up, else None; a damaged one is logged and
    left unused, so training starts over rather than from corrupt weights."""
    if not path.exists():
        return None
    try:
        state = read_checkpoint(path)
    except DamagedArtifact as error:
        log(f"{error}; training from the start")
        return None
    return state if state.get("fingerprint") == fingerprint else None


def _loss_function(model: TrainableModel, config: TrainingConfig, device: torch.device, log):
    loss = data_parallel_loss(model, device) if config.processes > 1 else model.training_loss
    if config.compile and device.type == "cuda":
        log("compiling the training loss with torch.compile")
        return torch.compile(loss)
    if config.compile:
        log(f"torch.compile is off on {device.type}: it is only used on CUDA")
    return loss


class _CurveRecorder:
    """Keeps step losses on the device and reads them back only at log points (no per-step sync); with
    several processes, each step's loss is their mean, the loss of the whole batch."""

    def __init__(self, curves: dict[str, list[float]]):
        self.curves, self.pending = curves, {phase: [] for phase in curves}

    def add(self, phase: str, loss: torch.Tensor) -> None:
        self.pending[phase].append(loss.detach().float())

    def flush(self, last_step: int) -> None:
        for phase, losses in self.pending.items():
            if not losses:
                continue
            values = mean_over_processes(torch.stack(losses)).tolist()
            first = last_step - len(values) + 1
            for offset, value in enumerate(values):
                if not math.isfinite(value):
                    where = f" ({phase})" if phase != SINGLE_PHASE else ""
                    raise FloatingPointError(f"training loss{where} became {value} at step {first + offset}")
            self.curves[phase].extend(values)
            losses.clear()


@dataclass
class StepPlan:
    """How many steps this training takes and which budget set that: the steps, the epochs, or (once
    a rate is measured) the seconds."""
    total: int
    limited_by: str
    log_every: int
    checkpoint_every: int

    @classmethod
    def of(cls, config: TrainingConfig, batches: BatchSampler, total: int | None = None,
           limited_by: str | None = None) -> StepPlan:
        if total is None:
            total, limited_by = config.steps, "steps"
            if config.epochs > 0 and (by_epochs := batches.steps_for(config.epochs, config.batch_size)) < total:
                total, limited_by = by_epochs, "epochs"
        if limited_by == "steps":
            return cls(total, limited_by, config.log_every, config.checkpoint_every)
        # still ~10 progress lines and ~4 checkpoints when another budget cut the steps short
        return cls(total, limited_by, max(1, min(config.log_every, total // 10)),
                   max(1, min(config.checkpoint_every, total // 4)))

    @classmethod
    def fit_time(cls, config: TrainingConfig, batches: BatchSampler, done: int, rate: float,
                 elapsed: float) -> StepPlan:
        """The steps and epochs budgets' plan, cut to the steps that fit in what is left of
        `config.max_seconds` after `elapsed` seconds at `rate` steps/s (`done` steps are taken)."""
        untimed = cls.of(config, batches)
        fitting = done + int(rate * max(0.0, config.max_seconds - elapsed))
        return untimed if fitting >= untimed.total else cls.of(config, batches, fitting, "seconds")

    def describe(self, config: TrainingConfig, batches: BatchSampler) -> str:
        passes = batches.passes(self.total, config.batch_size)
        return (f"{self.total} steps of batch {config.batch_size} ({passes:.2f} passes over "
                f"{batches.examples:,} {batches.unit}; set by the {self.limited_by} budget)")


@dataclass
class TrainingState:
    """Everything a checkpoint holds besides the model: optimizers, weight average, batch RNG, progress."""
    optimizers: dict[str, torch.optim.Optimizer]
    average: WeightAverage | None
    generator: torch.Generator
    curves: dict[str, list[float]]
    plan: StepPlan
    step: int = 0
    resumed_from: int | None = None
    seconds_before: float = 0.0  # training seconds of earlier attempts, up to the checkpoint resumed from


def start_state(model: TrainableModel, phase_params: dict[str, list[torch.nn.Parameter]], config: TrainingConfig,
                device: torch.device, batches: BatchSampler) -> TrainingState:
    return TrainingState(
        optimizers={name: make_optimizer(params, config, device) for name, params in phase_params.items()},
        average=WeightAverage(model, config.ema_decay) if config.ema_decay > 0 else None,
        generator=torch.Generator().manual_seed(config.seed),
        curves={name: [] for name in phase_params},
        plan=StepPlan.of(config, batches))


def resume(model: TrainableModel, state: TrainingState, checkpoint: dict, config: TrainingConfig,
           batches: BatchSampler) -> None:
    """Put the model and `state` where the checkpoint left them, the step plan included."""
    model.load_state_dict(checkpoint["model"])
    for name, optimizer in state.optimizers.items():
        optimizer.load_state_dict(checkpoint["optimizers"][name])
    if state.average is not None:
        state.average.load_state_dict(checkpoint["average"])
    state.generator.set_state(checkpoint["batches_rng"])
    state.step = state.resumed_from = int(checkpoint["step"])
    state.curves = {name: list(curve) for name, curve in checkpoint["loss_curves"].items()}
    state.plan = StepPlan.of(config, batches, int(checkpoint["planned_steps"]), checkpoint["limited_by"])
    state.seconds_before = float(checkpoint["seconds"])
    if 0 < config.max_seconds <= state.seconds_before:  # the interrupted attempt spent the whole budget
        state.plan = StepPlan.of(config, batches, state.step, "seconds")


def write_checkpoint(path: ArtifactPath, model: TrainableModel, state: TrainingState, fingerprint: str,
                     seconds: float) -> None:
    checkpoint = {
        "fingerprint": fingerprint,
        "step": state.step,
        "model": model.state_dict(),
        "optimizers": {name: optimizer.state_dict() for name, optimizer in state.optimizers.items()},
        "average": state.average.state_dict() if state.average is not None else None,
        "batches_rng": state.generator.get_state(),
        "loss_curves": state.curves,
        "planned_steps": state.plan.total,
        "limited_by": state.plan.limited_by,
        "seconds": seconds,  # of training so far, this attempt's and earlier ones': what the time budget counts
    }
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    payload = buffer.getvalue()
    write_atomic(path, CHECKPOINT_MAGIC + hashlib.sha256(payload).digest() + payload)


def training_step(phase_params: dict[str, list[torch.nn.Parameter]], state: TrainingState, batch, loss_of: Callable,
                  lr: float, config: TrainingConfig, autocast, recorder: _CurveRecorder) -> None:
    """One step of every phase in order, then the weight average."""
    for name, optimizer in state.optimizers.items():
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast:
            loss = loss_of(batch, name)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(phase_params[name], config.grad_clip)
        optimizer.step()
        recorder.add(name, loss)
    if state.average is not None:
        state.average.update()


def train(
    model: TrainableModel,
    batches: BatchSampler,
    config: TrainingConfig,
    device: torch.device,
    checkpoint_path: ArtifactPath,
    fingerprint: str,
    log: Callable[[str], None] = print,
) -> TrainingResult:
    """Train `model` in place; resume from `checkpoint_path` when it matches `fingerprint`.

    The checkpoint (model, optimizers, weight average, step, step plan, batch generator, loss curves) is
    written atomically every `checkpoint_every` steps (by rank 0 of several processes) and removed once
    training completes. With `max_seconds`, the steps are planned from the rate of the first ones and
    planned again at every progress line from the rate since the last plan (the slowest process's, with
    several); the budget counts the training seconds of every attempt, so a resumed training spends what
    the interrupted one left, planned from its own rate.
    """
    model.to(device)
    if device.type == "cuda":
        # TF32 matrix units for the float32 work autocast leaves (the new API; mixing it with allow_tf32 errors)
        torch.backends.cuda.matmul.fp32_precision = "tf32"
        torch.backends.cudnn.conv.fp32_precision = "tf32"
    shard = batch_shard()
    if shard.count != config.processes:
        raise ValueError(f"the training config asks for {config.processes} process(es) and this training runs in "
                         f"{shard.count}: processes > 1 is started through torchrun")
    check_batch_split(model, config.batch_size, shard)
    model.batch_shard = shard
    model.noise_generator = noise = torch.Generator(device)
    phase_params = {name: list(params) for name, params in model.training_phases().items()}
    state = start_state(model, phase_params, config, device, batches)
    checkpoint = load_checkpoint(checkpoint_path, fingerprint, log)
    if checkpoint is not None:
        resume(model, state, checkpoint, config, batches)
        log(f"resuming from checkpoint {checkpoint_path} at step {state.step}/{state.plan.total}")
    # timed: the time budget may end training before the steps and epochs budgets do
    timed = config.max_seconds > 0 and StepPlan.of(config, batches).total > state.step + CALIBRATION[1]
    spent = f", {state.seconds_before:.0f} s of it spent before the checkpoint" if state.seconds_before else ""
    log(f"training for {'at most ' if timed else ''}{state.plan.describe(config, batches)}"
        + (f" within {config.max_seconds:g} s{spent}" if timed else ""))

    loss_of = _loss_function(model, config, device, log)
    # bf16 autocast only on CUDA: CPU autocast slows these small models down.
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    recorder = _CurveRecorder(state.curves)
    model.train()
    started, first_step = time.perf_counter(), state.step
    budget_started = started - state.seconds_before  # the time budget counts earlier attempts' seconds too
    calibrated = first_step + CALIBRATION[1]  # the step of the first plan
    measured_from: tuple[int, float] | None = None  # the step and time the next plan's rate is measured from
    while state.step < state.plan.total:
        lr = config.learning_rate * config.lr_factor(state.step, state.plan.total)
        seed_step(noise, config.seed, state.step, shard)
        training_step(phase_params, state, batches(state.generator, config.batch_size, shard), loss_of, lr, config,
                      autocast, recorder)
        state.step += 1
        done = state.step
        planning = done == calibrated or (done > calibrated and done % state.plan.log_every == 0)
        if timed and (done == first_step + CALIBRATION[0] or planning):
            _synchronize(device)
            now = time.perf_counter()
            if planning:
                rate = (done - measured_from[0]) / max(now - measured_from[1], 1e-9)
                plan = StepPlan.fit_time(config, batches, done, rate, now - budget_started)
                if (agreed := least_over_processes(plan.total, device)) != plan.total:  # the slowest sets it
                    plan = StepPlan.of(config, batches, agreed, "seconds")
                if done == calibrated or plan.total != state.plan.total:
                    since = "" if done == calibrated else f" over steps {measured_from[0] + 1}-{done}"
                    log(f"time budget: {rate:.2f} steps/s{since}, so {plan.describe(config, batches)}")
                state.plan = plan
            measured_from = (done, now)
        plan = state.plan
        at_checkpoint = done % plan.checkpoint_every == 0 and done < plan.total
        at_log = done % plan.log_every == 0 or done == plan.total
        if at_log or at_checkpoint:
            recorder.flush(done)  # reads the losses back (one device sync) and stops on a NaN
        if at_log:
            rate = (done - first_step) / max(time.perf_counter() - started, 1e-9)
            losses = " ".join(f"{name} {curve[-1]:.4f}" for name, curve in state.curves.items())
            log(f"step {done}/{plan.total} {losses} lr {lr:.2e} ({rate:.1f} steps/s)")
        if at_checkpoint and is_writer():
            write_checkpoint(checkpoint_path, model, state, fingerprint, time.perf_counter() - budget_started)
            log(f"checkpoint written at step {done}")
    recorder.flush(state.plan.total)
    model.noise_generator = None  # the model draws as one loaded from disk would
    if state.average is not None:
        state.average.copy_to_model()
    model.eval()
    if is_writer():
        checkpoint_path.unlink(missing_ok=True)
    return TrainingResult(steps=state.plan.total, seconds=time.perf_counter() - budget_started, device=str(device),
                          resumed_from_step=state.resumed_from, loss_curves=state.curves,
                          limited_by=state.plan.limited_by,
                          passes=batches.passes(state.plan.total, config.batch_size))


def _synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so a wall-clock reading covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def export_weights(model: torch.nn.Module, path: ArtifactPath) -> ArtifactPath:
    """Final weights as safetensors, written atomically."""
    return save_atomic(path, lambda tmp: save_model(model, str(tmp)))
