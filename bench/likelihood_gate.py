"""The vae's paired likelihood bound as a gate metric: its resolution between retrains, and what it blocks.

    .venv/bin/python bench/likelihood_gate.py [--seeds 3] [--profile default]

Data: scikit-learn's bundled digits (8x8, 1,797 images), split 80/20 by a seeded permutation (train / test).
Families: the registry's vae at the profile, trained on the train images with seeds 0..seeds-1 (same-recipe
retrains), and once more with seed 0 and an eighth of its steps (an undertrained challenger). Each model's
`negative_log_likelihood_bound` on every test image, in bits per pixel value, under the standard normal prior
it was trained with (what the gate uses) and under its fitted latent mixture (what its samples come from),
with the same seeded draws for every model.

Printed: per model the mean bound under both priors (and the per-image sd); per pair the paired difference
with its 95% interval (evaluation.image_scores.bound_difference, as the evaluation takes it), its half-width
as a share of the baseline, and the gate's verdict at the default margin (verdicts.gate.non_inferiority).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

from genai_platform.evaluation.image_scores import BOUND, bound_bits_per_dim, bound_difference
from genai_platform.families.registry import family_named, train_family
from genai_platform.modalities.base import TrainingData
from genai_platform.records import Comparison
from genai_platform.verdicts.gate import DEFAULT_MARGINS, non_inferiority


def normal_bound(model, test: torch.Tensor) -> np.ndarray:
    """The bound the gate uses, per test image: the model as trained, with its standard normal prior."""
    return bound_bits_per_dim(model.negative_log_likelihood_bound(test, torch.Generator().manual_seed(0)),
                              tuple(test.shape[1:]))


def mixture_bound(model, test: torch.Tensor) -> np.ndarray:
    """The same bound with the fitted latent mixture (what samples are drawn from) as the prior."""
    components = torch.distributions.MultivariateNormal(model.mixture_means, scale_tril=model.mixture_scales)

    def log_mixture(z: torch.Tensor) -> torch.Tensor:
        return torch.logsumexp(components.log_prob(z.unsqueeze(-2)) + torch.log(model.mixture_weights), -1)

    return bound_bits_per_dim(model.negative_log_likelihood_bound(test, torch.Generator().manual_seed(0),
                                                                  log_prior=log_mixture), tuple(test.shape[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--profile", default="default")
    args = parser.parse_args()
    torch.set_num_threads(2)
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    order = np.random.default_rng(0).permutation(len(images))
    cut = int(0.8 * len(images))
    train, test = torch.from_numpy(images[order[:cut]]), torch.from_numpy(images[order[cut:]])
    vae = family_named("vae")
    model_config, training_config = vae.settings(args.profile)
    data = TrainingData({"shape": {"channels": 1, "height": 8, "width": 8}, "count": cut}, train, "bench")
    runs = {f"seed {s}": dataclasses.replace(training_config, seed=s) for s in range(args.seeds)}
    runs["seed 0, 1/8 of the steps"] = dataclasses.replace(training_config, seed=0,
                                                           steps=max(1, training_config.steps // 8))
    trained, mixture = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for name, config in runs.items():
            started = time.perf_counter()
            model, result = train_family(vae, model_config, config, data, torch.device("cpu"),
                                         Path(folder) / f"{len(trained)}.pt", f"bench{len(trained)}", lambda line: None)
            model.eval()
            trained[name] = normal_bound(model, test)
            mixture[name] = mixture_bound(model, test)
            print(f"{name}: {result.steps} steps in {time.perf_counter() - started:.0f} s; bound {trained[name].mean():.4f} "
                  f"(sd {trained[name].std():.3f}) bits per pixel value; under the mixture {mixture[name].mean():.2f} "
                  f"(sd {mixture[name].std():.2f})", flush=True)
    margin = DEFAULT_MARGINS[BOUND]
    print(f"\n{len(test)} test images; margin {margin:.0%} of the champion's bound\n")
    print("| challenger | champion | prior | challenger - champion [95%] | half-width / champion | verdict |")
    print("|---|---|---|---|---|---|")
    for challenger, champion in itertools.permutations(runs, 2):
        if champion.startswith("seed 0,") or (challenger > champion and not challenger.startswith("seed 0,")):
            continue  # each retrain pair once; the undertrained model only as a challenger
        for prior, values in (("standard normal", trained), ("mixture", mixture)):
            d = bound_difference(values[challenger], values[champion], seed=0)
            comparison = Comparison.of(challenger, challenger, champion, BOUND, d)
            verdict = non_inferiority(BOUND, comparison, margin * abs(d.baseline))
            print(f"| {challenger} | {champion} | {prior} | {d.value:+.4f} [{d.ci_low:+.4f}, {d.ci_high:+.4f}] | "
                  f"{(d.ci_high - d.ci_low) / 2 / d.baseline:.2%} | {verdict} |")


if __name__ == "__main__":
    main()
