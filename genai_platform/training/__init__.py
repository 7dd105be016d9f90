"""The one training loop shared by every family. No Dagster imports here."""

from genai_platform.training.device import select_device, seed_everything
from genai_platform.training.loop import TrainingConfig, TrainingResult, train

__all__ = ["TrainingConfig", "TrainingResult", "select_device", "seed_everything", "train"]
