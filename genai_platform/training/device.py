"""Device choice and seeding."""

from __future__ import annotations

import random

import numpy as np
import torch


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def device_problem(name: str) -> str | None:
    """Why the device `name` (auto, cpu, cuda, cuda:N, mps) cannot be used on this machine, or None."""
    if name in ("auto", "cpu"):
        return None
    device = torch.device(name)
    if device.type == "mps":
        return None if _mps_available() else "MPS is not available on this machine"
    if device.type != "cuda":
        return f"{name!r} is not a device this platform trains on"
    if not torch.cuda.is_available():
        return "CUDA is not available on this machine"
    if device.index is not None and device.index >= torch.cuda.device_count():
        return f"this machine has {torch.cuda.device_count()} CUDA device(s), so there is no {name}"
    return None


def select_device(preference: str = "auto") -> torch.device:
    """cuda > mps > cpu for "auto"; an explicit name must be available."""
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if problem := device_problem(preference):
        raise RuntimeError(f"device {preference!r} was asked for (GENAI_DEVICE or run_settings.device), but {problem}")
    return torch.device(preference)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
