"""The family registry: a new family is one model file plus one entry here, or one entry point of another
package (FAMILY_ENTRY_POINTS; the README shows one).

Each entry names its modality (modalities.MODALITIES: how its data is loaded, sampled and
scored), its model config dataclass, how to build the model from that config and the data
description (image shape and count, or vocabulary), and its settings for each profile
(smoke: seconds, for tests; default: learns on 2 CPU cores; full: a GPU nightly run). A profile's
budget is a most-steps count plus, in the default profile, a time budget (max_seconds), so larger
data (more pixels an image, more of them) trains for a bounded time instead of for hours.
The model class subclasses models.base.ImageGenerator or TextGenerator: that is the contract.
"""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.metadata import EntryPoint, entry_points

import torch

from genai_platform.modalities.image import IMAGE
from genai_platform.modalities.base import Modality, TrainingData
from genai_platform.modalities.text import TEXT
from genai_platform.files import ArtifactPath
from genai_platform.fingerprints import family_code_version
from genai_platform.metrics.catalog import REFERENCES
from genai_platform.models.base import TrainableModel
from genai_platform.models.diffusion import DiffusionConfig, LatentDDPM
from genai_platform.models.gan import DCGAN, GANConfig
from genai_platform.models.gplvm import GPLVM, GPLVMConfig
from genai_platform.models.lstm import CharLSTM, LSTMConfig
from genai_platform.models.shapes import ImageShape
from genai_platform.models.textgan import TextGAN, TextGANConfig
from genai_platform.models.transformer import CharTransformer, TransformerConfig
from genai_platform.models.vae import ConvVAE, VAEConfig
from genai_platform.records import PROFILES
from genai_platform.training.batches import BatchSampler, image_batches
from genai_platform.training.fit import fit, load_trained
from genai_platform.training.loop import TrainingConfig, TrainingResult

@dataclass(frozen=True)
class Pretrained:
    """A family that starts from another family's trained model (textgan from lstm, diffusion from vae)."""
    family: str
    configure: Callable[[object, object], object]  # (this family's config, the trained model's config) -> config


# the families that model the trained vae's latents (models/latent_space.py)
IN_VAE_LATENTS = Pretrained("vae", lambda config, vae_config: replace(config, autoencoder=vae_config))


@dataclass(frozen=True)
class Family:
    name: str
    modality: Modality
    title: str
    description: str
    config_type: type
    build: Callable[[object, dict], TrainableModel]  # (model config, data description) -> untrained model
    profiles: dict[str, tuple[object, TrainingConfig]] = field(repr=False)
    experimental: bool = False
    pretrained: Pretrained | None = None
    batches: Callable[[torch.Tensor, object], BatchSampler] | None = None  # default: the modality's
    extra_gate_metrics: tuple[str, ...] = ()  # judged by the gate besides the modality's (a paired likelihood)

    def settings(self, profile: str) -> tuple[object, TrainingConfig]:
        if profile not in self.profiles:
            raise ValueError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
        return self.profiles[profile]

    @property
    def gate_metrics(self) -> tuple[str, ...]:
        """The promotion gate's default metrics for this family: its modality's, then its own."""
        return (*self.modality.gate_metrics, *self.extra_gate_metrics)

    def batch_sampler(self, data: torch.Tensor, model_config) -> BatchSampler:
        return (self.batches or self.modality.batches)(data, model_config)

    def setting_types(self) -> dict[str, type]:
        """The settings a user may change (Dagster run config, a datasets-file entry): every scalar field of
        its model and training configs, by name (a nested config, like a pretrained model's, is not one)."""
        return {f.name: type(getattr(defaults, f.name)) for defaults in self.settings("default")
                for f in dataclasses.fields(defaults) if type(getattr(defaults, f.name)) in (int, float, str, bool)}

    def with_settings(self, profile: str, given: dict) -> tuple[object, TrainingConfig]:
        """The profile's model and training configs with `given` settings (setting_types names) applied."""
        model_config, training_config = self.settings(profile)
        model_names = {f.name for f in dataclasses.fields(model_config)}
        return (replace(model_config, **{k: v for k, v in given.items() if k in model_names}),
                replace(training_config, **{k: v for k, v in given.items() if k not in model_names}))

    def check_settings(self, given: dict) -> None:
        """A ValueError or TypeError when `given` does not make valid configs in every profile."""
        for profile in PROFILES:
            self.with_settings(profile, given)

    @property
    def code_version(self) -> str:
        """What its trained weights depend on in code (fingerprints.family_code_version): the modules of its
        config, its model class and, when another package writes them, its build and batch functions (this
        registry's own helpers are the platform's, not the family's)."""
        modules = {self.config_type.__module__}
        for part in (self.build, self.batches):
            module = getattr(getattr(part, "model_class", part), "__module__", None)
            if module is not None and module != __name__:
                modules.add(module)
        return family_code_version(*sorted(modules))


def image_model(model_class) -> Callable[[object, dict], TrainableModel]:
    """A family's build for an image model class: (config, data description) -> model."""
    def build(config, data: dict) -> TrainableModel:
        return model_class(config, ImageShape(**data["shape"]))

    build.model_class = model_class  # whose module the family's code version covers
    return build


def text_model(model_class) -> Callable[[object, dict], TrainableModel]:
    """A family's build for a text model class: (config, data description) -> model."""
    def build(config, data: dict) -> TrainableModel:
        return model_class(config, len(data["vocabulary"]))

    build.model_class = model_class  # whose module the family's code version covers
    return build


def indexed_image_batches(images: torch.Tensor, _config) -> BatchSampler:
    """(images, row numbers): for models with one learned parameter or one precomputed latent per training
    image."""
    return image_batches(images, torch.arange(images.shape[0], device=images.device))


def training(steps: int, batch_size: int, learning_rate: float, **settings) -> TrainingConfig:
    """A profile's TrainingConfig: logs ten times and checkpoints four times over `steps` unless told."""
    log_every = settings.pop("log_every", max(1, steps // 10))
    checkpoint_every = settings.pop("checkpoint_every", max(1, steps // 4))
    return TrainingConfig(steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                          log_every=log_every, checkpoint_every=checkpoint_every, **settings)


def register(family: Family) -> Family:
    """Add a family; it then gets training, sampling, evaluation and report rows with no other edit."""
    if family.name in FAMILIES or family.name in REFERENCES:
        raise ValueError(f"family name {family.name!r} is taken (by a family or a reference row key)")
    missing = set(PROFILES) - set(family.profiles)
    if missing:
        raise ValueError(f"family {family.name!r} has no settings for profile(s) {', '.join(sorted(missing))}")
    if family.pretrained and family.pretrained.family not in FAMILIES:
        raise ValueError(f"family {family.name!r} starts from {family.pretrained.family!r}, which is not registered")
    FAMILIES[family.name] = family
    return family


FAMILIES: dict[str, Family] = {}
for _family in [
    Family(
        name="vae",
        modality=IMAGE,
        title="Convolutional VAE",
        description="Variational autoencoder with a convolutional encoder and decoder, "
        "Bernoulli pixel likelihood, standard normal prior; samples decode latents drawn from a Gaussian "
        "mixture fitted to the training images' posterior means, its size chosen by held-out likelihood.",
        config_type=VAEConfig,
        build=image_model(ConvVAE),
        extra_gate_metrics=("nll_bound",),  # its likelihood bound, paired per test image
        profiles={
            "smoke": (VAEConfig(latent_dim=4, hidden_channels=8, mixture_components=4), training(20, 32, 2e-3)),
            # beta 0.5 and batch 64 at 28 px (1 thread, the mixture's samples): FID 43 after 2,000 steps
            # (92 s) against 62-76 with beta 1 (batch 128 takes 2.2x as long a step). After 4,000 steps, in another
            # trial's feature space: beta 0.25 29.7, 0.5 34.5, 0.1 32.2; 24 latent dimensions 32.6; 6,000 steps 28.9
            "default": (VAEConfig(latent_dim=16, hidden_channels=32, beta=0.25, mixture_components=64),
                        training(4000, 64, 1e-3, max_seconds=240.0)),
            "full": (VAEConfig(latent_dim=32, hidden_channels=64, mixture_components=128),
                     training(20000, 256, 1e-3)),
        },
    ),
    Family(
        name="gan",
        modality=IMAGE,
        title="DCGAN",
        description="Deep convolutional GAN: transposed-convolution generator, strided-convolution "
        "discriminator, batch norm, non-saturating BCE loss, Adam with beta1 0.5 (learning rate 5e-4 in the "
        "default profile, where a time budget often ends training early; 2e-4 in the full one); samples come from "
        "an exponential moving average of the weights.",
        config_type=GANConfig,
        build=image_model(DCGAN),
        profiles={
            "smoke": (GANConfig(latent_dim=8, generator_channels=8, discriminator_channels=8),
                      training(20, 32, 2e-4, beta1=0.5, grad_clip=0.0)),
            # at 28 px (1 thread; FID in a trial's feature space): 147 after 240 s, 93 after 480 s with the average
            # (142 after 240 s); the image family furthest from converging, so the one given the most time. Worse
            # there: hinge loss with spectral norm (865), an average with decay 0.999 (2,682: 18% of the random
            # start is left in it after 1,700 steps)
            "default": (GANConfig(latent_dim=32, generator_channels=64, discriminator_channels=32),
                        training(4000, 64, 5e-4, beta1=0.5, grad_clip=0.0, ema_decay=0.99, max_seconds=420.0)),
            "full": (GANConfig(latent_dim=64, generator_channels=128, discriminator_channels=64),
                     training(30000, 128, 2e-4, beta1=0.5, grad_clip=0.0, ema_decay=0.999)),
        },
    ),
    Family(
        name="diffusion",
        modality=IMAGE,
        title="Latent DDPM diffusion",
        description="Denoising diffusion in the trained vae's latent space (latent diffusion): a residual MLP "
        "predicts the noise added to the vae's standardised posterior means, cosine beta schedule, EMA weights; "
        "sampled with DDIM and decoded by the vae's frozen decoder.",
        config_type=DiffusionConfig,
        build=image_model(LatentDDPM),
        batches=indexed_image_batches,
        pretrained=IN_VAE_LATENTS,
        profiles={
            "smoke": (DiffusionConfig(timesteps=100, width=16, blocks=1, sampling_steps=10),
                      training(20, 32, 1e-3, ema_decay=0.9)),
            "default": (DiffusionConfig(timesteps=1000, width=256, blocks=3, sampling_steps=50),
                        training(6000, 256, 1e-3, ema_decay=0.999, lr_schedule="cosine", warmup_steps=100,
                                  max_seconds=150.0)),
            "full": (DiffusionConfig(timesteps=1000, width=512, blocks=4, sampling_steps=100),
                     training(50000, 512, 3e-4, ema_decay=0.9995, lr_schedule="cosine", warmup_steps=1000)),
        },
    ),
    Family(
        name="gplvm",
        modality=IMAGE,
        title="GP latent variable model",
        description="Gaussian-process latent variable model of the trained vae's standardised posterior means: "
        "learned latents with a N(0, I) prior, sparse variational GP with an ARD RBF kernel; samples from a "
        "Gaussian mixture on the latents (its size chosen by held-out likelihood) pushed through the GP "
        "predictive and decoded by the vae's frozen decoder.",
        config_type=GPLVMConfig,
        build=lambda config, data: GPLVM(config, ImageShape(**data["shape"]), data["count"]),
        batches=indexed_image_batches,
        pretrained=IN_VAE_LATENTS,
        profiles={
            "smoke": (GPLVMConfig(latent_dim=2, inducing_points=8, mixture_components=2),
                      training(20, 32, 1e-2, grad_clip=0.0)),
            # of the vae's 16 latent dimensions at 28 px (1 thread, 60 s, FID in a trial's feature space): 4 latents
            # and 64 inducing points 68, 8 and 64 51, 12 and 128 36 (the vae's own mixture: 35)
            "default": (GPLVMConfig(latent_dim=12, inducing_points=128, mixture_components=64),
                        training(6000, 256, 1e-2, grad_clip=0.0, max_seconds=90.0)),
            "full": (GPLVMConfig(latent_dim=24, inducing_points=256, mixture_components=128),
                     training(20000, 512, 1e-2, grad_clip=0.0)),
        },
    ),
    Family(
        name="lstm",
        modality=TEXT,
        title="Character LSTM",
        description="Character-level LSTM language model trained by maximum likelihood "
        "(next-character cross-entropy).",
        config_type=LSTMConfig,
        build=text_model(CharLSTM),
        profiles={
            "smoke": (LSTMConfig(embedding_dim=16, hidden_size=32, num_layers=1, context_length=32),
                      training(20, 16, 3e-3)),
            "default": (LSTMConfig(embedding_dim=48, hidden_size=256, num_layers=1, dropout=0.0, context_length=64),
                        training(1500, 32, 3e-3, max_seconds=180.0)),
            "full": (LSTMConfig(embedding_dim=128, hidden_size=1024, num_layers=3, context_length=256),
                     training(20000, 128, 2e-3)),
        },
    ),
    Family(
        name="transformer",
        modality=TEXT,
        title="Character GPT",
        description="Small GPT over characters: causal scaled-dot-product attention, tied embeddings, "
        "cosine learning rate with warm-up, weight decay on matrices only.",
        config_type=TransformerConfig,
        build=text_model(CharTransformer),
        profiles={
            "smoke": (TransformerConfig(context_length=32, embedding_dim=16, num_layers=1, num_heads=2),
                      training(20, 16, 3e-3, weight_decay=0.1, lr_schedule="cosine", warmup_steps=5)),
            "default": (TransformerConfig(context_length=64, embedding_dim=96, num_layers=3, num_heads=4,
                                          dropout=0.1),
                        training(1500, 32, 2e-3, weight_decay=0.1, beta2=0.99, lr_schedule="cosine",
                                  warmup_steps=100, max_seconds=240.0)),
            "full": (TransformerConfig(context_length=256, embedding_dim=384, num_layers=6, num_heads=6,
                                       dropout=0.2),
                     training(20000, 64, 1e-3, weight_decay=0.1, beta2=0.99, lr_schedule="cosine",
                               warmup_steps=500, compile=True)),
        },
    ),
    Family(
        name="textgan",
        modality=TEXT,
        title="Adversarial text GAN",
        description="SeqGAN-style generator: the character LSTM, started from the maximum-likelihood "
        "model, trained by policy gradient against a prefix discriminator, with a maximum-likelihood "
        "term on real text.",
        config_type=TextGANConfig,
        build=text_model(TextGAN),
        experimental=True,
        pretrained=Pretrained("lstm", lambda config, lstm_config: replace(config, generator=lstm_config)),
        profiles={
            "smoke": (TextGANConfig(discriminator_embedding=8, discriminator_hidden=16, context_length=24,
                                    prompt_length=8), training(10, 8, 1e-3)),
            "default": (TextGANConfig(), training(300, 32, 1e-4, max_seconds=150.0)),
            "full": (TextGANConfig(discriminator_hidden=256, context_length=128, prompt_length=32),
                     training(3000, 64, 1e-4)),
        },
    ),
    ]:
    register(_family)


# Another package adds families with an entry point in this group: each names a Family, a list of them, or
# a function returning either, e.g. in its pyproject.toml:
#   [project.entry-points."genai_platform.families"]
#   pixels = "acme_families.pixels:FAMILY"
FAMILY_ENTRY_POINTS = "genai_platform.families"


class FamilyPluginError(ValueError):
    """An entry point of FAMILY_ENTRY_POINTS that cannot be loaded or gives no valid family; names it."""


def _where(entry_point: EntryPoint) -> str:
    return (f"family entry point {entry_point.name} = {entry_point.value!r}"
            f"{f' of {entry_point.dist.name}' if entry_point.dist else ''} (group {FAMILY_ENTRY_POINTS})")


def _entry_point_families(entry_point: EntryPoint) -> list[Family]:
    where = _where(entry_point)
    try:
        loaded = entry_point.load()
        made = loaded() if callable(loaded) else loaded
    except Exception as error:  # a plugin's own failure, whatever it is, stops loading with its name
        raise FamilyPluginError(f"{where}: cannot be loaded: {type(error).__name__}: {error}") from error
    made = [made] if isinstance(made, Family) else made
    if not isinstance(made, (list, tuple)) or not all(isinstance(f, Family) for f in made):
        raise FamilyPluginError(f"{where}: gave {type(made).__name__}, not a Family or a list of them")
    return list(made)


@cache
def plugin_families() -> tuple[str, ...]:
    """Register the families of every installed package's entry points (once); their names. Loaded on first
    use, not at import, so a plugin module that imports this registry first still loads. Every entry point
    is loaded before any family is registered, so one that fails registers none; a family that starts from
    another plugin's is registered after it."""
    pending = [(entry_point, family) for entry_point in sorted(entry_points(group=FAMILY_ENTRY_POINTS),
                                                               key=lambda e: e.name)
               for family in _entry_point_families(entry_point)]
    registered = []
    try:
        while pending:
            ready = [(e, f) for e, f in pending if not f.pretrained or f.pretrained.family in FAMILIES
                     or f.pretrained.family not in {g.name for _, g in pending}]
            ready = ready or pending[:1]  # a base no plugin gives: register() names it
            for entry_point, family in ready:
                try:
                    register(family)
                except ValueError as error:
                    raise FamilyPluginError(f"{_where(entry_point)}: {error}") from None
                registered.append(family.name)
                pending.remove((entry_point, family))
    except FamilyPluginError:
        for name in registered:  # none of them, so the next call says the same
            del FAMILIES[name]
        raise
    return tuple(registered)


def families(modality: str | None = None) -> list[Family]:
    """Every registered family (those of other packages' entry points included), of `modality` if given."""
    plugin_families()
    return [f for f in FAMILIES.values() if modality is None or f.modality.name == modality]


def family_named(name: str) -> Family:
    """The registered family called `name`; a KeyError listing the registered ones."""
    plugin_families()
    if name not in FAMILIES:
        raise KeyError(f"unknown family {name!r}; registered families: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def build_model(family: Family, model_config, data: TrainingData, pretrained: TrainableModel | None = None
                ) -> TrainableModel:
    """The family's untrained model, started from the data (and from the model it builds on)."""
    model = family.build(model_config, data.description)
    contract = family.modality.generator_type
    if not isinstance(model, contract):
        raise TypeError(f"family {family.name!r} built a {type(model).__name__}, which is not a {contract.__name__}")
    if pretrained is not None:
        model.initialize_from(pretrained)
    model.initialize(data.tensor)  # after: a data-dependent start may use the pretrained part
    return model


def pretrained_config(family: Family, model_config, pretrained: TrainableModel | None):
    """The model config with the pretrained model's config applied, for a family that builds on another."""
    if family.pretrained is None:
        return model_config
    if pretrained is None:
        raise ValueError(f"family {family.name!r} starts from a trained {family.pretrained.family!r} model; none given")
    return family.pretrained.configure(model_config, pretrained.config)


def train_family(family: Family, model_config, training_config: TrainingConfig, data: TrainingData,
                 device: torch.device, checkpoint_path: ArtifactPath, run_fingerprint: str, log: Callable[[str], None],
                 pretrained: TrainableModel | None = None) -> tuple[TrainableModel, TrainingResult]:
    """Build and train a family's model with the one loop (seeded, resumable from its checkpoint).

    `model_config` must already hold the pretrained model's config (pretrained_config)."""
    data = replace(data, tensor=data.tensor.to(device))  # batches are drawn on the device, no DataLoader
    return fit(lambda: build_model(family, model_config, data, pretrained), family.batch_sampler(data.tensor, model_config),
               training_config, device, checkpoint_path, run_fingerprint, log, data.tensor)


def load_family(family: Family, out_dir: ArtifactPath, device: torch.device) -> tuple[TrainableModel, dict]:
    """A registered family's trained model (eval mode, on `device`) and its manifest."""
    return load_trained(lambda m: family.build(family.config_type(**m["model_config"]), m["data"]), out_dir, device)
