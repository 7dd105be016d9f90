"""Training on several processes with torch.distributed (DDP), as torchrun starts them.

Every process holds the whole model and the whole training data, draws the same whole batch with
the same generator, and trains on its own equal block of rows (models.base.BatchShard); DDP averages
the gradients, so a step is the step one process would take on the whole batch, up to float rounding.
Rank 0 alone writes checkpoints and the trained model. Gloo on CPUs, NCCL on GPUs (one per process).
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch
import torch.distributed as dist
from torch import nn

from genai_platform.models.base import SINGLE_PHASE, BatchShard, TrainableModel
from genai_platform.training.device import select_device


@contextmanager
def process_group(device_preference: str):
    """Join the process group torchrun set up (env://) and yield this process's device; leave it after."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = select_device(device_preference)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", device_id=device if device.type == "cuda"
                            else None)
    try:
        yield device
    finally:
        dist.destroy_process_group()


def batch_shard() -> BatchShard:
    """This process's block of every batch: 0 of 1 outside a process group."""
    if not dist.is_initialized():
        return BatchShard()
    return BatchShard(dist.get_rank(), dist.get_world_size())


def is_writer() -> bool:
    """Whether this process writes checkpoints and models (rank 0, or the only process)."""
    return batch_shard().index == 0


def check_batch_split(model: TrainableModel, batch_size: int, shard: BatchShard) -> None:
    """Refuse set-ups that several processes cannot train as one would."""
    if shard.count == 1:
        return
    phases = list(model.training_phases())
    if phases != [SINGLE_PHASE]:
        raise ValueError(f"{type(model).__name__} trains in {len(phases)} phases ({', '.join(phases)}), each with its "
                         "own optimizer, which DDP cannot average in one backward pass; train it with processes: 1")
    if batch_size % shard.count:
        raise ValueError(f"batch_size {batch_size} does not split evenly over {shard.count} processes; "
                         f"make it a multiple of {shard.count}")


class _PhaseLoss(nn.Module):
    """The model's training loss as a forward pass, which is what DDP hooks into."""

    def __init__(self, model: TrainableModel):
        super().__init__()
        self.model = model

    def forward(self, batch, phase: str) -> torch.Tensor:
        return self.model.training_loss(batch, phase)


def data_parallel_loss(model: TrainableModel, device: torch.device):
    """`loss(batch, phase)` whose backward pass averages the gradients over the process group."""
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(_PhaseLoss(model), device_ids=ids)


def mean_over_processes(values: torch.Tensor) -> torch.Tensor:
    """Each element averaged over the processes (the values as they are outside a process group)."""
    if not dist.is_initialized():
        return values
    values = values.clone()
    dist.all_reduce(values)  # gloo has no AVG
    return values / dist.get_world_size()


def least_over_processes(value: int, device: torch.device) -> int:
    """The smallest of every process's `value`, so all of them agree (e.g. on a step count)."""
    if not dist.is_initialized():
        return value
    tensor = torch.tensor([value], dtype=torch.int64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return int(tensor.item())
