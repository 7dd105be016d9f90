"""Small CNN classifier whose penultimate layer is the image feature space for FID.

Trained on the real train split and frozen; with no labels it stays at its seeded
random initialisation (random CNN features still separate image distributions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genai_platform.models.base import SINGLE_PHASE, TrainableModel
from genai_platform.models.shapes import ImageShape, padded_size


@dataclass
class ClassifierConfig:
    channels: int = 32
    feature_dim: int = 64


class ImageClassifier(TrainableModel):
    def __init__(self, config: ClassifierConfig, shape: ImageShape, num_classes: int):
        super().__init__()
        self.config, self.shape = config, shape
        c = config.channels
        self.padded_h, self.padded_w = padded_size(shape.height, 4), padded_size(shape.width, 4)
        flat = 2 * c * (self.padded_h // 4) * (self.padded_w // 4)
        self.body = nn.Sequential(
            nn.Conv2d(shape.channels, c, 3, padding=1), nn.GELU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1), nn.GELU(),
            nn.Flatten(), nn.Linear(flat, config.feature_dim), nn.GELU(),
        )
        self.head = nn.Linear(config.feature_dim, max(num_classes, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, self.padded_w - self.shape.width, 0, self.padded_h - self.shape.height))
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def training_loss(self, batch: tuple[torch.Tensor, torch.Tensor], phase: str = SINGLE_PHASE) -> torch.Tensor:
        images, labels = batch
        return F.cross_entropy(self(images).float(), labels)

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """(features, class probabilities), float64, for every image, in batches."""
        device = next(self.parameters()).device
        feats, probs = [], []
        for chunk in images.split(batch_size):
            f = self.features(chunk.to(device).float())
            feats.append(f.double().cpu())
            probs.append(torch.softmax(self.head(f).double(), dim=1).cpu())
        return torch.cat(feats).numpy(), torch.cat(probs).numpy()
