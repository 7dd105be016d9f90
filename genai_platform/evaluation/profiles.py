"""Evaluation settings per profile (the families' own settings live in the registry)."""

from __future__ import annotations

from dataclasses import dataclass

from genai_platform.models.classifier import ClassifierConfig
from genai_platform.training.loop import TrainingConfig


@dataclass(frozen=True)
class EvaluationProfile:
    # images drawn per family version: the metrics rows use the first N (the held-out count), a challenger's
    # paired FID, KID, precision and density differences with its earlier versions every one (at 8 px, for two
    # models of equal quality, the FID difference's interval is about +-19% of the FID at 4,000, +-37% at 1,000)
    image_samples: int
    prompts: int
    free_samples: int
    free_sample_chars: int
    gap_samples: int  # sampled continuations per paired bias prompt
    extraction_prefixes: int  # training prefixes for the extraction rate
    sweep_samples: int  # free samples per temperature of the quality-diversity sweep
    classifier: ClassifierConfig
    classifier_training: TrainingConfig
    # how far the sample count may grow (a power of 2) when the gate's intervals were too wide (steps/sampling.py)
    max_sample_factor: int = 1


EVALUATION_PROFILES = {
    "smoke": EvaluationProfile(
        image_samples=200, prompts=10, free_samples=5, free_sample_chars=80,
        gap_samples=2, extraction_prefixes=4, sweep_samples=3,
        classifier=ClassifierConfig(channels=8, feature_dim=16),
        classifier_training=TrainingConfig(steps=20, batch_size=64, learning_rate=2e-3, log_every=10, checkpoint_every=10),
    ),
    "default": EvaluationProfile(
        image_samples=8000, prompts=100, free_samples=50, free_sample_chars=300,
        gap_samples=20, extraction_prefixes=100, sweep_samples=20,
        classifier=ClassifierConfig(channels=32, feature_dim=64),
        # no time budget: a step count alone makes the feature space a function of the data (and code), so FID
        # moves only when they do (500 steps took 83 s at 28 px on 2 cores)
        classifier_training=TrainingConfig(steps=500, batch_size=128, learning_rate=2e-3, weight_decay=1e-4, log_every=250, checkpoint_every=500),
        # up to 64,000 samples a set: at the bundled size an equal challenger needs about 46,000 for the 3%
        # margin's resolution (at 32,000, 88% of them were promoted; bench/gate.py)
        max_sample_factor=8,
    ),
    "full": EvaluationProfile(
        image_samples=10000, prompts=500, free_samples=200, free_sample_chars=500,
        gap_samples=100, extraction_prefixes=500, sweep_samples=100,
        classifier=ClassifierConfig(channels=64, feature_dim=128),
        classifier_training=TrainingConfig(steps=5000, batch_size=256, learning_rate=2e-3, weight_decay=1e-4, log_every=500, checkpoint_every=1000),
        max_sample_factor=4,
    ),
}


def evaluation_profile(name: str) -> EvaluationProfile:
    if name not in EVALUATION_PROFILES:
        raise ValueError(f"unknown profile {name!r}; expected one of {', '.join(EVALUATION_PROFILES)}")
    return EVALUATION_PROFILES[name]
