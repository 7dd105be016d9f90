"""The family registry: a new family is one model file plus one entry here.

Each entry names its modality, its model config dataclass, how to build the model
from that config and the data description (image shape and count, or vocabulary), how
to draw its training batches, and its settings for each profile (smoke: seconds, for
tests; default: learns on 2 CPU cores; full: a GPU nightly run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from genai_platform.models.diffusion import DDPM, DiffusionConfig
from genai_platform.models.gan import DCGAN, GANConfig
from genai_platform.models.gplvm import GPLVM, GPLVMConfig
from genai_platform.models.lstm import CharLSTM, LSTMConfig
from genai_platform.models.shapes import ImageShape
from genai_platform.models.textgan import TextGAN, TextGANConfig
from genai_platform.models.transformer import CharTransformer, TransformerConfig
from genai_platform.models.vae import ConvVAE, VAEConfig
from genai_platform.training.batches import BatchSampler, image_batches, token_windows
from genai_platform.training.loop import TrainingConfig

PROFILES = ("smoke", "default", "full")


@dataclass(frozen=True)
class Family:
    name: str
    modality: str  # "image" or "text"
    title: str
    description: str
    config_type: type
    build: Callable[[object, dict], nn.Module]  # (model config, data description) -> untrained model
    profiles: dict[str, tuple[object, TrainingConfig]] = field(repr=False)
    experimental: bool = False
    pretrained: str | None = None  # a family whose trained weights this one starts from
    batches: Callable[[torch.Tensor, object], BatchSampler] | None = None  # default: by modality

    def settings(self, profile: str) -> tuple[object, TrainingConfig]:
        if profile not in self.profiles:
            raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
        return self.profiles[profile]

    def batch_sampler(self, data: torch.Tensor, model_config) -> BatchSampler:
        if self.batches is not None:
            return self.batches(data, model_config)
        if self.modality == "image":
            return image_batches(data)
        return token_windows(data, model_config.context_length)


def image_model(model_class) -> Callable[[object, dict], nn.Module]:
    return lambda config, data: model_class(config, ImageShape(**data["shape"]))


def text_model(model_class) -> Callable[[object, dict], nn.Module]:
    return lambda config, data: model_class(config, len(data["vocabulary"]))


def indexed_image_batches(images: torch.Tensor, _config) -> BatchSampler:
    """(images, row numbers): for models with one learned parameter per training image."""
    return image_batches(images, torch.arange(images.shape[0], device=images.device))


def _training(steps: int, batch_size: int, learning_rate: float, **settings) -> TrainingConfig:
    log_every = settings.pop("log_every", max(1, steps // 10))
    checkpoint_every = settings.pop("checkpoint_every", max(1, steps // 4))
    return TrainingConfig(steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                          log_every=log_every, checkpoint_every=checkpoint_every, **settings)


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
            build=image_model(ConvVAE),
            profiles={
                "smoke": (VAEConfig(latent_dim=4, hidden_channels=8), _training(20, 32, 2e-3)),
                "default": (VAEConfig(latent_dim=16, hidden_channels=32), _training(2000, 128, 1e-3)),
                "full": (VAEConfig(latent_dim=32, hidden_channels=64), _training(20000, 256, 1e-3)),
            },
        ),
        Family(
            name="gan",
            modality="image",
            title="DCGAN",
            description="Deep convolutional GAN: transposed-convolution generator, strided-convolution "
            "discriminator, batch norm, non-saturating BCE loss, Adam 2e-4 with beta1 0.5.",
            config_type=GANConfig,
            build=image_model(DCGAN),
            profiles={
                "smoke": (GANConfig(latent_dim=8, generator_channels=8, discriminator_channels=8),
                          _training(20, 32, 2e-4, beta1=0.5, grad_clip=0.0)),
                "default": (GANConfig(latent_dim=32, generator_channels=64, discriminator_channels=32),
                            _training(3000, 64, 2e-4, beta1=0.5, grad_clip=0.0)),
                "full": (GANConfig(latent_dim=64, generator_channels=128, discriminator_channels=64),
                         _training(30000, 128, 2e-4, beta1=0.5, grad_clip=0.0)),
            },
        ),
        Family(
            name="diffusion",
            modality="image",
            title="DDPM diffusion",
            description="Denoising diffusion with a small U-Net predicting the noise, cosine beta schedule, "
            "EMA weights, sampled with DDIM.",
            config_type=DiffusionConfig,
            build=image_model(DDPM),
            profiles={
                "smoke": (DiffusionConfig(timesteps=100, channels=8, sampling_steps=10),
                          _training(20, 32, 1e-3, ema_decay=0.9)),
                "default": (DiffusionConfig(timesteps=1000, channels=32, sampling_steps=50),
                            _training(3000, 64, 1e-3, ema_decay=0.995, lr_schedule="cosine", warmup_steps=100)),
                "full": (DiffusionConfig(timesteps=1000, channels=64, sampling_steps=100),
                         _training(50000, 256, 2e-4, ema_decay=0.9995, lr_schedule="cosine", warmup_steps=1000)),
            },
        ),
        Family(
            name="gplvm",
            modality="image",
            title="GP latent variable model",
            description="Gaussian-process latent variable model: learned latents with a N(0, I) prior, "
            "sparse variational GP with an ARD RBF kernel; samples from a Gaussian mixture on the "
            "latents pushed through the GP predictive.",
            config_type=GPLVMConfig,
            build=lambda config, data: GPLVM(config, ImageShape(**data["shape"]), data["count"]),
            batches=indexed_image_batches,
            profiles={
                "smoke": (GPLVMConfig(latent_dim=2, inducing_points=8, mixture_components=2),
                          _training(20, 32, 1e-2, grad_clip=0.0)),
                "default": (GPLVMConfig(latent_dim=4, inducing_points=64, mixture_components=10),
                            _training(2000, 256, 1e-2, grad_clip=0.0)),
                "full": (GPLVMConfig(latent_dim=8, inducing_points=256, mixture_components=20),
                         _training(10000, 512, 1e-2, grad_clip=0.0)),
            },
        ),
        Family(
            name="lstm",
            modality="text",
            title="Character LSTM",
            description="Character-level LSTM language model trained by maximum likelihood "
            "(next-character cross-entropy).",
            config_type=LSTMConfig,
            build=text_model(CharLSTM),
            profiles={
                "smoke": (LSTMConfig(embedding_dim=16, hidden_size=32, num_layers=1, context_length=32),
                          _training(20, 16, 3e-3)),
                "default": (LSTMConfig(embedding_dim=48, hidden_size=256, num_layers=1, dropout=0.0, context_length=64),
                            _training(1500, 32, 3e-3)),
                "full": (LSTMConfig(embedding_dim=128, hidden_size=1024, num_layers=3, context_length=256),
                         _training(20000, 128, 2e-3)),
            },
        ),
        Family(
            name="transformer",
            modality="text",
            title="Character GPT",
            description="Small GPT over characters: causal scaled-dot-product attention, tied embeddings, "
            "cosine learning rate with warm-up, weight decay on matrices only.",
            config_type=TransformerConfig,
            build=text_model(CharTransformer),
            profiles={
                "smoke": (TransformerConfig(context_length=32, embedding_dim=16, num_layers=1, num_heads=2),
                          _training(20, 16, 3e-3, weight_decay=0.1, lr_schedule="cosine", warmup_steps=5)),
                "default": (TransformerConfig(context_length=64, embedding_dim=96, num_layers=3, num_heads=4,
                                              dropout=0.1),
                            _training(1500, 32, 2e-3, weight_decay=0.1, beta2=0.99, lr_schedule="cosine",
                                      warmup_steps=100)),
                "full": (TransformerConfig(context_length=256, embedding_dim=384, num_layers=6, num_heads=6,
                                           dropout=0.2),
                         _training(20000, 64, 1e-3, weight_decay=0.1, beta2=0.99, lr_schedule="cosine",
                                   warmup_steps=500, compile=True)),
            },
        ),
        Family(
            name="textgan",
            modality="text",
            title="Adversarial text GAN",
            description="SeqGAN-style generator: the character LSTM, started from the maximum-likelihood "
            "model, trained by policy gradient against a prefix discriminator, with a maximum-likelihood "
            "term on real text.",
            config_type=TextGANConfig,
            build=text_model(TextGAN),
            experimental=True,
            pretrained="lstm",
            profiles={
                "smoke": (TextGANConfig(discriminator_embedding=8, discriminator_hidden=16, context_length=24,
                                        prompt_length=8), _training(10, 8, 1e-3)),
                "default": (TextGANConfig(), _training(300, 32, 1e-4)),
                "full": (TextGANConfig(discriminator_hidden=256, context_length=128, prompt_length=32),
                         _training(3000, 64, 1e-4)),
            },
        ),
    ]
}


def families(modality: str | None = None) -> list[Family]:
    return [f for f in FAMILIES.values() if modality is None or f.modality == modality]
