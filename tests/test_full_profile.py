"""Every family's full profile (the settings of a GPU nightly run) exercised on the CPU, so that a GPU user does
not meet the first shape or memory error: each model built at its full size on colour 32x32 images (the bundled
photographs) or text, trained two steps with a crash after the first step's checkpoint, resumed, saved, loaded
and sampled.

The batch is the full profile's own with GENAI_TEST_FULL_BATCH=1; otherwise FULL_PROFILE_TEST_BATCH rows: at 4
rows the seven take 73 s on one thread, most of it the full-size LSTMs (3 layers of 1,024 over 256 characters),
which at their full batches of 128 and 64 would hold CI's two cores for minutes."""

import dataclasses
import os

import numpy as np
import pytest
import torch

from helpers import Crash, crashing_at
from genai_platform.datasets.image_sources import load_images
from genai_platform.evaluation.generation import image_samples
from genai_platform.families.registry import FAMILIES, build_model, load_family, pretrained_config, train_family
from genai_platform.modalities.base import TrainingData
from genai_platform.models.vocab import CharVocabulary
from genai_platform.training.fit import save_trained
from genai_platform.training.loop import read_checkpoint

CPU = torch.device("cpu")
FULL_PROFILE_TEST_BATCH = 4
TEXT = "the quick brown fox jumps over the lazy dog. " * 200


def _batch(training) -> int:
    return training.batch_size if os.environ.get("GENAI_TEST_FULL_BATCH") == "1" else min(training.batch_size,
                                                                                            FULL_PROFILE_TEST_BATCH)


def _data(family) -> TrainingData:
    if family.modality.name == "image":
        raw = load_images("sklearn:photos")
        pixels = torch.from_numpy(raw.pixels.astype(np.float32) / raw.scale)
        return TrainingData({"shape": dict(zip(("channels", "height", "width"), pixels.shape[1:])),
                             "count": len(pixels)}, pixels, "photos")
    vocab = CharVocabulary(sorted(set(TEXT)))
    return TrainingData({"vocabulary": vocab.characters}, vocab.encode_documents([TEXT]), "text")


def _pretrained(family, data):
    """The full-size untrained model of the family it starts from: its shapes are what matter here."""
    if family.pretrained is None:
        return None
    base = FAMILIES[family.pretrained.family]
    return build_model(base, base.settings("full")[0], data)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_full_profile_model_trains_checkpoints_resumes_and_samples(name, tmp_path):
    family = FAMILIES[name]
    data = _data(family)
    model_config, training = family.settings("full")
    training = dataclasses.replace(training, steps=2, batch_size=_batch(training), checkpoint_every=1, log_every=1,
                                   warmup_steps=0)
    pretrained = _pretrained(family, data)
    model_config = pretrained_config(family, model_config, pretrained)
    checkpoint = tmp_path / "checkpoint.pt"
    batches = family.batch_sampler(data.tensor, model_config)
    crashing = dataclasses.replace(family, batches=lambda tensor, config: crashing_at(batches, 2))
    with pytest.raises(Crash):
        train_family(crashing, model_config, training, data, CPU, checkpoint, "full", lambda line: None, pretrained)
    assert read_checkpoint(checkpoint)["step"] == 1
    model, result = train_family(family, model_config, training, data, CPU, checkpoint, "full", lambda line: None,
                                 pretrained)
    assert result.resumed_from_step == 1 and result.steps == 2
    assert all(np.isfinite(curve).all() for curve in result.loss_curves.values())
    save_trained(model, tmp_path / name, {"model_config": model_config, "data": data.description}, result)
    loaded, _ = load_family(family, tmp_path / name, CPU)
    if family.modality.name == "image":
        samples = image_samples(loaded, 3, seed=1)
        assert samples.shape == (3, *data.tensor.shape[1:]) and 0 <= samples.min() and samples.max() <= 1
    else:
        vocabulary = len(data.description["vocabulary"])
        tokens = loaded.generate([data.tensor[:5], data.tensor[7:9]], 6, 1.0, torch.Generator().manual_seed(1))
        assert tokens.shape == (2, 6) and 0 <= tokens.min() and tokens.max() < vocabulary
