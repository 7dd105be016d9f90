"""Dagster resources: artifact store and run settings (DuckDB: defs/database.py)."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

import torch
from dagster import ConfigurableResource
from pydantic import Field

import genai_platform
from genai_platform.defs.database import PlatformDuckDB
from genai_platform.families.registry import PROFILES
from genai_platform.training.device import select_device


class ArtifactStore(ConfigurableResource):
    """Where models, checkpoints and reports live on disk."""

    home: str = Field(description="GENAI_HOME: DuckDB file, models, checkpoints")
    reports_dir: str = Field(description="GENAI_REPORTS_DIR: where the HTML reports are written")

    @property
    def root(self) -> Path:
        return Path(self.home).expanduser().resolve()

    def model_dir(self, name: str) -> Path:
        return self.root / "models" / name

    def checkpoint_path(self, name: str) -> Path:
        return self.root / "checkpoints" / f"{name}.pt"

    def details_path(self, modality: str) -> Path:
        return self.root / "evaluation" / f"{modality}.json"

    @property
    def reports(self) -> Path:
        return Path(self.reports_dir).expanduser().resolve()


class RunSettings(ConfigurableResource):
    """Profile, seed and device for every training and evaluation step."""

    profile: str = Field(default="default", description="GENAI_PROFILE: smoke, default or full")
    seed: int = Field(default=0, description="GENAI_SEED: seeds every model, sampler and split")
    device: str = Field(default="auto", description="GENAI_DEVICE: auto (cuda > mps > cpu), cpu, cuda, mps")
    parallel_steps: int = Field(default=2, ge=1, description="GENAI_PARALLEL_STEPS: steps a run executes at once; "
                                "each step's torch gets CPU cores / this many threads")

    def checked_profile(self) -> str:
        if self.profile not in PROFILES:
            raise ValueError(f"GENAI_PROFILE={self.profile!r} is not one of {', '.join(PROFILES)}")
        return self.profile

    def setup_torch(self) -> torch.device:
        """The step's device, with torch's CPU threads sized to this step's share of the cores.

        Parallel steps each using every core oversubscribe them, and OpenMP's spin-waiting
        then slows training by 10x (measured: 2 steps x 2 threads on 2 cores).
        """
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.parallel_steps))
        return select_device(self.device)


@cache
def code_version() -> str:
    """Package version plus the git commit (and '-dirty') when run from a checkout."""
    root = Path(genai_platform.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{genai_platform.__version__}+{commit}{'-dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return genai_platform.__version__


def parallel_steps(env=os.environ) -> int:
    value = env.get("GENAI_PARALLEL_STEPS", "2")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"GENAI_PARALLEL_STEPS must be a whole number >= 1, got {value!r}")
    return int(value)


def resources_from_env(env=os.environ) -> dict:
    home = Path(env.get("GENAI_HOME", ".genai")).expanduser().resolve()
    reports = Path(env.get("GENAI_REPORTS_DIR", "reports")).expanduser().resolve()
    return {
        "duckdb": PlatformDuckDB(database=str(home / "genai.duckdb")),
        "artifacts": ArtifactStore(home=str(home), reports_dir=str(reports)),
        "run_settings": RunSettings(profile=env.get("GENAI_PROFILE", "default"),
                                    seed=int(env.get("GENAI_SEED", "0")),
                                    device=env.get("GENAI_DEVICE", "auto"),
                                    parallel_steps=parallel_steps(env)),
    }
