"""Trains the smoke diffusion model (EMA, cosine schedule, warm-up) in its own process, in the latent space of
a seeded untrained vae, so that tests can kill it for real: python tests/resume_worker.py CHECKPOINT WEIGHTS."""

import dataclasses
import sys
from pathlib import Path

import torch

from genai_platform.modalities.base import TrainingData
from genai_platform.families.registry import FAMILIES, build_model, pretrained_config, train_family
from genai_platform.training.loop import export_weights

STEPS, CHECKPOINT_EVERY = 200, 20


def main(checkpoint: Path, weights: Path) -> None:
    torch.set_num_threads(1)  # the same arithmetic in every process
    family = FAMILIES["diffusion"]
    model_config, training = family.settings("smoke")
    training = dataclasses.replace(training, steps=STEPS, checkpoint_every=CHECKPOINT_EVERY, log_every=10,
                                   lr_schedule="cosine", warmup_steps=10, ema_decay=0.9)
    images = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(7))
    data = TrainingData({"shape": {"channels": 1, "height": 8, "width": 8}, "count": 64}, images, "v")
    torch.manual_seed(0)  # the same vae in every process
    vae = build_model(FAMILIES["vae"], FAMILIES["vae"].settings("smoke")[0], data)
    model, result = train_family(family, pretrained_config(family, model_config, vae), training, data,
                                 torch.device("cpu"), checkpoint, "resume-test", lambda message: print(message, flush=True),
                                 vae)
    export_weights(model, weights)
    print(f"finished resumed_from={result.resumed_from_step}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
