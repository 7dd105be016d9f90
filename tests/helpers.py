"""Helpers the tests share: the smoke-run environment and an in-process materialization."""

import os
from pathlib import Path

import dagster as dg
import numpy as np
import torch

from genai_platform.definitions import build_definitions
from genai_platform.models.classifier import ClassifierConfig, ImageClassifier
from genai_platform.models.shapes import ImageShape

# the bundled data, whatever GENAI_*_SOURCE the shell running the tests sets
BUNDLED_SOURCES = {"GENAI_IMAGE_SOURCE": "sklearn:digits", "GENAI_TEXT_SOURCE": "gensim:lee"}


def smoke_environment(root: Path) -> dict:
    """Environment of a smoke-profile run on the bundled data in a GENAI_HOME and reports folder under root."""
    return {**os.environ, "GENAI_PROFILE": "smoke", "GENAI_HOME": str(root / "home"),
            "GENAI_REPORTS_DIR": str(root / "reports"), "GENAI_SEED": "0", **BUNDLED_SOURCES}


def materialize(resources, selection=None, run_config=None, raise_on_error=True):
    """Every asset and check of the code location on these resources, ingesting the bundled data."""
    defs = build_definitions(BUNDLED_SOURCES)
    return dg.materialize(list(defs.assets) + list(defs.asset_checks), resources=resources, selection=selection,
                          run_config=run_config, raise_on_error=raise_on_error)


def quick_digit_classifier(pixels: np.ndarray, labels: np.ndarray) -> ImageClassifier:
    """A feature classifier for 8x8 digits trained in seconds (the default profile's takes minutes)."""
    torch.manual_seed(0)
    model = ImageClassifier(ClassifierConfig(channels=16, feature_dim=32), ImageShape(1, 8, 8), num_classes=10)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = torch.from_numpy(pixels), torch.from_numpy(labels)
    generator = torch.Generator().manual_seed(0)
    for _ in range(300):
        batch = torch.randint(len(x), (128,), generator=generator)
        optimiser.zero_grad()
        model.training_loss((x[batch], y[batch])).backward()
        optimiser.step()
    return model.eval()
