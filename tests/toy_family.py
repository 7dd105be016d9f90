"""A test-only image family: independent Gaussian pixels with a learned mean and scale.

It is one model class plus one Family entry, as a real family is; test_toy_family.py registers
it and shows it flow through training, sampling, evaluation and the reports with no other edit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from genai_platform.modalities.image import IMAGE
from genai_platform.families.registry import Family, image_model
from genai_platform.models.base import SINGLE_PHASE, ImageGenerator
from genai_platform.models.shapes import ImageShape
from genai_platform.training.loop import TrainingConfig


@dataclass
class ToyConfig:
    initial_log_scale: float = 0.0


class PixelGaussian(ImageGenerator):
    def __init__(self, config: ToyConfig, shape: ImageShape):
        super().__init__()
        self.config = config
        self.mean = nn.Parameter(torch.full((shape.channels, shape.height, shape.width), 0.5))
        self.log_scale = nn.Parameter(torch.full((shape.channels, shape.height, shape.width), config.initial_log_scale))

    def training_loss(self, x: torch.Tensor, phase: str = SINGLE_PHASE) -> torch.Tensor:
        """Gaussian negative log-likelihood per image."""
        z = (x - self.mean) * torch.exp(-self.log_scale)
        return (0.5 * z.pow(2) + self.log_scale + 0.5 * math.log(2 * math.pi)).flatten(1).sum(1).mean()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(n, *self.mean.shape, generator=generator)
        return (self.mean.cpu() + noise * self.log_scale.exp().cpu()).clamp(0, 1)


def toy_training(steps: int) -> TrainingConfig:
    return TrainingConfig(steps=steps, batch_size=32, learning_rate=5e-2, log_every=max(1, steps // 2),
                          checkpoint_every=max(1, steps // 2))


TOY_FAMILY = Family(
    name="toy",
    modality=IMAGE,
    title="Toy pixel Gaussian",
    description="Independent Gaussian pixels with a learned mean and scale (a test-only family).",
    config_type=ToyConfig,
    build=image_model(PixelGaussian),
    profiles={"smoke": (ToyConfig(), toy_training(10)), "default": (ToyConfig(), toy_training(200)),
              "full": (ToyConfig(), toy_training(2000))},
)
