"""The family registry: a new family is one model file plus one entry here.

Each entry names its modality, its model config dataclass, how to build the model
from that config and the data (image shape or vocabulary size), and its settings
for each profile (smoke: seconds, for tests; default: learns on 2 CPU cores;
full: a GPU nightly run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from genai_platform.models.lstm import CharLSTM, LSTMConfig
from genai_platform.models.vae import ConvVAE, VAEConfig
from genai_platform.training.loop import TrainingConfig

PROFILES = ("smoke", "default", "full")


@dataclass(frozen=True)
class Family:
    name: str
    modality: str  # "image" or "text"
    title: str
    description: str
    config_type: type
    build: Callable[..., nn.Module]
    profiles: dict[str, tuple[object, TrainingConfig]] = field(repr=False)
    experimental: bool = False

    def settings(self, profile: str) -> tuple[object, TrainingConfig]:
        if profile not in self.profiles:
            raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
        return self.profiles[profile]


FAMILIES: dict[str, Family] = {
    family.name: family
    for family in [
        Family(
            name="vae",
            modality="image",
            title="Convolutional VAE",
            description="Variational autoencoder with a convolutional encoder and decoder, "
            "Bernoulli pixel likelihood, standard normal prior.",
            config_type=VAEConfig,
            build=ConvVAE,
            profiles={
                "smoke": (VAEConfig(latent_dim=4, hidden_channels=8),
                          TrainingConfig(steps=20, batch_size=32, learning_rate=2e-3, log_every=10, checkpoint_every=10)),
                "default": (VAEConfig(latent_dim=16, hidden_channels=32),
                            TrainingConfig(steps=2000, batch_size=128, learning_rate=1e-3, log_every=250, checkpoint_every=500)),
                "full": (VAEConfig(latent_dim=32, hidden_channels=64),
                         TrainingConfig(steps=20000, batch_size=256, learning_rate=1e-3, log_every=1000, checkpoint_every=2000)),
            },
        ),
        Family(
            name="lstm",
            modality="text",
            title="Character LSTM",
            description="Character-level LSTM language model trained by maximum likelihood "
            "(next-character cross-entropy).",
            config_type=LSTMConfig,
            build=CharLSTM,
            profiles={
                "smoke": (LSTMConfig(embedding_dim=16, hidden_size=32, num_layers=1, context_length=32),
                          TrainingConfig(steps=20, batch_size=16, learning_rate=3e-3, log_every=10, checkpoint_every=10)),
                "default": (LSTMConfig(embedding_dim=48, hidden_size=256, num_layers=1, dropout=0.0, context_length=64),
                            TrainingConfig(steps=1500, batch_size=32, learning_rate=3e-3, log_every=100, checkpoint_every=250)),
                "full": (LSTMConfig(embedding_dim=128, hidden_size=1024, num_layers=3, context_length=256),
                         TrainingConfig(steps=20000, batch_size=128, learning_rate=2e-3, log_every=500, checkpoint_every=2000)),
            },
        ),
    ]
}


def families(modality: str | None = None) -> list[Family]:
    return [f for f in FAMILIES.values() if modality is None or f.modality == modality]
