"""The champion gate's power and error rates on families of known quality (issue 25).

    .venv/bin/python bench/gate.py [--replicates 100] [--data bundled mnist] [--samples 8000] [--max-factor 4]
                                   [--out bench/gate.json] [--only WORD...] [--gate METRIC...] [--margin METRIC=FRACTION...]

Data: scikit-learn's bundled digits (8x8, 1,797 images) and the 10,000 28-px digits bench/scale.py builds
from them, each split 80/10/10 (train / val / test) by a seeded permutation, as the platform splits: the val
split is the reference every set is scored against, the test split plays no part. The feature space is the
platform's: the default profile's classifier trained on the train split (evaluation.image_scores.train_feature_extractor).

Families of known quality: a Gaussian mixture fitted to the train images (in 40 principal components at
28 px), sampled and clipped to [0, 1]; the same recipe fitted with another seed (a same-recipe retrain, whose
quality differs as its fit does); and the champion's own samples plus pixel noise of growing size (truly
worse). Their true FID and whitened FD come from a large sample (--truth-samples per family) against the fixed
reference. Each replicate draws the champion's and the challenger's --samples images with the same seeds
(sample i from the same noise, as the platform's sampling does; "other draws" from other noise), scores them as
the evaluation does (ImageScorer.compare on the gate metrics) and asks the real gate
(verdicts.gate.decide, default margins unless --margin) for its decision. An "inconclusive" decision is
followed as the platform follows it: the next night draws the count the sampling step would
(verdicts.gate.samples_to_resolve, grown_sample_count, up to --max-factor times --samples) from fresh noise,
until the gate decides or the count stops growing; the replicate's decision is the last one.

Printed, and written to --out as a list of {"scenario", "data", "true_relative_fid_difference",
"promoted", "replicates"} (with the true whitened-FD difference, the margins, each gate metric's mean
interval half-width over its margin at the last count, the share still inconclusive and the mean count
beside): each scenario's share promoted. A last scenario runs twelve
nights, each challenger a little noisier than the night before, through the gate with its
best-version-that-served rule, and reports the served model's true drift after the twelfth night. Targets:
equal-quality challengers promoted >= 90%; a challenger 10% or more worse blocked >= 80% at the bundled size,
5% or more at MNIST size; the drift no more than the margin.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from genai_platform.evaluation.image_scores import (EVERY_SAMPLE_METRICS, ClassifierData, ImageScorer, load_classifier,
                                                    train_feature_extractor)  # noqa: E402
from genai_platform.modalities.image import ImageModality  # noqa: E402
from genai_platform.evaluation.profiles import evaluation_profile  # noqa: E402
from genai_platform.verdicts.gate import INCONCLUSIVE, Gate, decide, grown_sample_count, samples_to_resolve  # noqa: E402
from genai_platform.files import artifact_path  # noqa: E402
from genai_platform.metrics.fid import fid_estimate, fid_from_features  # noqa: E402
from genai_platform.records import Comparison, ImageSplit, MetricRow  # noqa: E402
from scale import digits_28px  # noqa: E402

COMPONENTS, PCA_DIMENSIONS = 10, 40
# pixel sd of the truly worse challengers; at 8 px below 0.1 barely shows, at 28 px 0.1 is already +40% in FID
NOISE_LEVELS = {"bundled": (0.1, 0.15, 0.17, 0.2, 0.3), "mnist": (0.02, 0.03, 0.04, 0.05, 0.1)}
DRIFT_NOISE = {"bundled": 0.2, "mnist": 0.05}  # the twelfth night's pixel noise: +20-30% in FID
RETRAIN_SEEDS = (1, 2)
FRESH_DRAWS = 10**6  # a seed offset: the same model's samples from other noise, as an equal-quality retrain's
NIGHT_SEEDS = 10**4  # a seed offset per night a replicate's sample count grows: fresh draws at the new count
NIGHTS = 12


def dataset(name: str) -> tuple[ImageSplit, ImageSplit]:
    """Train and reference (val) splits of real digits, [N, 1, H, W] float32 in [0, 1]."""
    if name == "bundled":
        digits = load_digits()
        pixels, labels = (digits.images / 16.0).astype(np.float32), digits.target
    else:
        images, labels = digits_28px(10000, 0)
        pixels = images.astype(np.float32) / 255.0
    order = np.random.default_rng(0).permutation(len(pixels))
    cuts = (int(0.8 * len(pixels)), int(0.9 * len(pixels)))  # the platform's 80/10/10: the test split plays no part
    split = [ImageSplit(pixels[i][:, None], labels[i].astype(np.int64), []) for i in (order[:cuts[0]],
                                                                                      order[cuts[0]:cuts[1]])]
    return split[0], split[1]


@dataclass
class MixtureFamily:
    """A Gaussian mixture over the (PCA-reduced, at 28 px) train pixels; sample i is drawn from noise seeded
    by (seed, i) alone, so two families given the same seed share their noise, as the platform's do."""
    mixture: GaussianMixture
    pca: PCA | None
    shape: tuple[int, ...]
    noise: float = 0.0  # pixel noise added after decoding: a truly worse family
    draw_offset: int = 0  # added to every seed: the same model drawing from other noise

    @classmethod
    def fit(cls, train: np.ndarray, seed: int) -> MixtureFamily:
        flat = train.reshape(len(train), -1)
        pca = PCA(PCA_DIMENSIONS, random_state=seed).fit(flat) if flat.shape[1] > 100 else None
        data = flat if pca is None else pca.transform(flat)
        mixture = GaussianMixture(COMPONENTS, covariance_type="full", random_state=seed, reg_covar=1e-3).fit(data)
        return cls(mixture, pca, train.shape[1:])

    def with_noise(self, noise: float) -> MixtureFamily:
        return replace(self, noise=noise)

    def sample(self, n: int, seed: int) -> np.ndarray:
        """n images; image i's noise depends on the seed (and draw_offset) alone."""
        rng = np.random.default_rng(seed + self.draw_offset)
        m = self.mixture
        components = rng.choice(len(m.weights_), size=n, p=m.weights_)
        standard = rng.standard_normal((n, m.means_.shape[1]))
        pixel_noise = rng.standard_normal((n, int(np.prod(self.shape))))
        chol = np.linalg.cholesky(m.covariances_)
        latent = m.means_[components] + np.einsum("nij,nj->ni", chol[components], standard)
        flat = latent if self.pca is None else self.pca.inverse_transform(latent)
        flat = flat + self.noise * pixel_noise
        return np.clip(flat, 0, 1).astype(np.float32).reshape(n, *self.shape)


def feature_space(train: ImageSplit, heldout: ImageSplit, work: Path) -> ImageScorer:
    profile = evaluation_profile("default")
    data = ClassifierData(train, heldout, 10, "bench")
    out = artifact_path(str(work / "classifier"))
    train_feature_extractor(data, profile, torch.device("cpu"), out, artifact_path(str(work / "checkpoint")),
                            lambda line: None)
    classifier, _ = load_classifier(out, torch.device("cpu"))
    return ImageScorer(classifier, 10, train, heldout, 0)


def truth(scorer: ImageScorer, family: MixtureFamily, samples: int) -> np.ndarray:
    """FID and whitened FD of a large sample against the reference, every family from the same noise (so
    differences are precise) and a family's other draws counted as the family itself (the same distribution)."""
    features = scorer.embed(replace(family, draw_offset=0).sample(samples, 10**6)).features
    return np.array([fid_from_features(features, scorer.reference.features),
                     fid_from_features(scorer.whitening(features), scorer.whitened_reference)])


@dataclass
class Outcome:
    """One replicate: the gate's last decision, the new best version, each gate metric's half-width over its
    margin against the champion, and the samples per set it was reached at."""
    decision: str
    best: str
    widths: dict[str, float]
    samples: int


class Embeddings:
    """Earlier versions' embedded sample sets by (family, n, seed): every scenario compares with the same
    champion draws, which are embedded once."""

    def __init__(self, scorer: ImageScorer):
        self.scorer, self.sets = scorer, {}

    def __call__(self, family: MixtureFamily, n: int, seed: int):
        key = (id(family), n, seed)
        if key not in self.sets:
            self.sets[key] = self.scorer.embed(family.sample(n, seed))
        return self.sets[key]


def judge(scorer: ImageScorer, earlier_sets: Embeddings, gate: Gate, challenger: MixtureFamily,
          earlier: dict[str, MixtureFamily], champion: str, best: str, n: int, seed: int
          ) -> tuple[Outcome, list[Comparison]]:
    """The gate's decision on one night at n samples a set, and the paired comparisons it was made on."""
    mine = scorer.embed(challenger.sample(n, seed))
    held_out = len(scorer.reference.features)
    every = tuple(m for m in gate.metrics if m in EVERY_SAMPLE_METRICS)  # as the evaluation compares them
    at_n = tuple(m for m in gate.metrics if m not in EVERY_SAMPLE_METRICS)
    comparisons = []
    for version, family in earlier.items():
        theirs = earlier_sets(family, n, seed)
        differences = {**scorer.compare(mine.first(held_out), theirs.first(held_out), True, at_n),
                       **scorer.compare(mine, theirs, True, every)}
        comparisons += [Comparison.of("mixture", "mixture", version, metric, estimate)
                        for metric, estimate in differences.items()]
    # the challenger's rows as the evaluation records them, at its N (the held-out count)
    first = mine.first(held_out)
    rows = [MetricRow.of("mixture", "fd_whitened", fid_estimate(scorer.whitening(first.features),
                                                                 scorer.whitened_reference, seed)),
            MetricRow.of("mixture", "fid", fid_estimate(first.features, scorer.reference.features, seed)),
            MetricRow.of("mixture", "coverage", scorer.real_manifold.metrics(first.features)["coverage"])]
    decision = decide("mixture", "challenger", champion, best, rows, comparisons, gate, {})
    lines = {line.metric: line for line in gate.lines([c for c in comparisons if c.baseline_run == champion], rows)}
    widths = {m: (line.comparison.ci_high - line.comparison.ci_low) / 2 / line.margin for m, line in lines.items()}
    return Outcome(decision.decision, decision.best, widths, n), comparisons


def settle(scorer: ImageScorer, earlier_sets: Embeddings, gate: Gate, challenger: MixtureFamily,
           earlier: dict[str, MixtureFamily], champion: str, best: str, base: int, max_factor: int,
           seed: int) -> tuple[Outcome, list[Comparison]]:
    """The gate's decision as the platform reaches it: at `base` samples a set, then, while inconclusive,
    on the next nights at the count the sampling step would draw (fresh noise each night)."""
    n, night = base, 0
    while True:
        outcome, comparisons = judge(scorer, earlier_sets, gate, challenger, earlier, champion, best, n,
                                     seed + night * NIGHT_SEEDS)
        grown = grown_sample_count(base, samples_to_resolve(gate, comparisons, EVERY_SAMPLE_METRICS), max_factor)
        if outcome.decision != INCONCLUSIVE or grown <= n:
            return outcome, comparisons
        n, night = grown, night + 1


def run(data: str, replicates: int, samples: int, max_factor: int, truth_samples: int, work: Path, gate: Gate,
        only: list[str] | None = None) -> list[dict]:
    started = time.time()
    train, heldout = dataset(data)
    scorer = feature_space(train, heldout, work / data)
    earlier_sets = Embeddings(scorer)
    champion = MixtureFamily.fit(train.pixels, 0)
    challengers = {"same model, other draws": replace(champion, draw_offset=FRESH_DRAWS)}
    challengers.update({f"same recipe, seed {seed}": MixtureFamily.fit(train.pixels, seed) for seed in RETRAIN_SEEDS})
    challengers.update({f"champion plus pixel noise {s:g}": champion.with_noise(s) for s in NOISE_LEVELS[data]})
    base = truth(scorer, champion, truth_samples)
    print(f"\n{data}: {len(train.pixels):,} train, {len(heldout.pixels):,} held-out images of "
          f"{'x'.join(map(str, train.pixels.shape[2:]))}; champion FID {base[0]:.2f}, whitened FD {base[1]:.3f} "
          f"(n = {truth_samples:,}); margins {gate.describe()}; {samples:,} samples per set, up to {max_factor}x; "
          f"classifier and truth in {time.time() - started:.0f} s", flush=True)
    print(f"{'scenario':34} {'true rel. FID diff':>19} {'(whitened FD)':>14} {'promoted':>9} {'undecided':>9} "
          f"{'mean samples':>12}   mean half-width / margin", flush=True)
    table = []
    wanted = lambda name: only is None or any(re.search(rf"(?<![\w.]){re.escape(word)}(?![\w.])", name)  # noqa: E731
                                              for word in only)  # whole words: 0.1 is not 0.15
    for name, family in challengers.items():
        if not wanted(name):
            continue
        relative = truth(scorer, family, truth_samples) / base - 1
        outcomes = [settle(scorer, earlier_sets, gate, family, {"champion": champion}, "champion", "champion",
                           samples, max_factor, r)[0] for r in range(replicates)]
        promoted = float(np.mean([o.decision == "promoted" for o in outcomes]))
        undecided = float(np.mean([o.decision == INCONCLUSIVE for o in outcomes]))
        mean_samples = float(np.mean([o.samples for o in outcomes]))
        widths = {m: float(np.mean([o.widths[m] for o in outcomes])) for m in gate.metrics}
        print(f"{name:34} {relative[0]:>+19.2%} {relative[1]:>+14.2%} {promoted:>9.0%} {undecided:>9.0%} "
              f"{mean_samples:>12,.0f}   " + ", ".join(f"{m} {w:.2f}" for m, w in widths.items()), flush=True)
        table.append({"scenario": name, "data": data, "true_relative_fid_difference": float(relative[0]),
                      "true_relative_whitened_fd_difference": float(relative[1]), "promoted": promoted,
                      "replicates": replicates, "inconclusive": undecided, "samples": samples,
                      "max_sample_factor": max_factor, "mean_samples": mean_samples, "margins": gate.margins,
                      "mean_half_width_over_margin": widths})
    if wanted(f"{NIGHTS} nights"):
        table.append(drift(scorer, gate, champion, base, data, max(replicates // 10, 5), samples, max_factor,
                           truth_samples))
    return table


def drift(scorer: ImageScorer, gate: Gate, champion: MixtureFamily, base: np.ndarray, data: str, replicates: int,
          samples: int, max_factor: int, truth_samples: int) -> dict:
    """Twelve nights, night k's challenger the champion recipe with pixel noise growing night by night, each
    night's count the one the sampling step draws after the night before: the served model's true FID after
    the twelfth night, relative to the first night's."""
    nights = [champion.with_noise(s) for s in np.linspace(0, DRIFT_NOISE[data], NIGHTS + 1)]
    truths = np.array([truth(scorer, f, truth_samples) / base - 1 for f in nights])  # [night, (FID, whitened FD)]
    final, counts = [], []
    for r in range(replicates):
        serving, best, n = 0, 0, samples
        for night in range(1, NIGHTS + 1):
            earlier = {str(v): nights[v] for v in dict.fromkeys((serving, best))}
            outcome, comparisons = judge(scorer, Embeddings(scorer), gate, nights[night], earlier, str(serving),
                                         str(best), n, 1000 * r + night)
            if outcome.decision == "promoted":
                serving, best = night, night if outcome.best == "challenger" else int(outcome.best)
            counts.append(n)
            n = grown_sample_count(samples, samples_to_resolve(gate, comparisons, EVERY_SAMPLE_METRICS), max_factor)
        final.append(truths[serving])
    final = np.array(final)
    name = f"{NIGHTS} nights, each noisier"
    print(f"{name:34} {truths[-1, 0]:>+19.2%} {truths[-1, 1]:>+14.2%} {'':>9} {'':>9} {np.mean(counts):>12,.0f}   "
          f"served drift in FID {final[:, 0].mean():+.2%} mean, {final[:, 0].max():+.2%} max (whitened FD "
          f"{final[:, 1].mean():+.2%}, {final[:, 1].max():+.2%}) over {replicates} replicates (nightly steps "
          f"{np.diff(truths[:, 0]).mean():+.2%})", flush=True)
    return {"scenario": name, "data": data, "true_relative_fid_difference": float(truths[-1, 0]),
            "true_relative_whitened_fd_difference": float(truths[-1, 1]), "promoted": None,
            "replicates": replicates, "samples": samples, "max_sample_factor": max_factor,
            "mean_samples": float(np.mean(counts)), "margins": gate.margins,
            "served_drift_mean": float(final[:, 0].mean()), "served_drift_max": float(final[:, 0].max()),
            "served_whitened_fd_drift_mean": float(final[:, 1].mean()),
            "served_whitened_fd_drift_max": float(final[:, 1].max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--samples", type=int, default=evaluation_profile("default").image_samples,
                        help="generated samples per set (default: the default profile's)")
    parser.add_argument("--max-factor", type=int, default=evaluation_profile("default").max_sample_factor,
                        help="most times --samples an inconclusive challenger's count grows to (default: the "
                        "default profile's)")
    parser.add_argument("--truth-samples", type=int, default=20000)
    parser.add_argument("--data", nargs="+", default=["bundled", "mnist"], choices=("bundled", "mnist"))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "gate.json",
                        help="rows of the scenarios run replace those of the same scenario and data there")
    parser.add_argument("--only", nargs="+", default=None, help="run only the scenarios whose names contain one of "
                        "these words (e.g. draws seed 0.2 nights)")
    parser.add_argument("--gate", nargs="+", default=list(ImageModality.gate_metrics),
                        help="gate metrics (default: the image modality's)")
    parser.add_argument("--margin", nargs="+", default=[], metavar="METRIC=FRACTION",
                        help="margins other than the defaults, e.g. fd_whitened=0.05")
    args = parser.parse_args()
    gate = Gate.of(tuple(args.gate), {m: float(v) for m, v in (item.split("=") for item in args.margin)})
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="genai-gate-") as work:
        table = [row for data in args.data for row in run(data, args.replicates, args.samples, args.max_factor,
                                                            args.truth_samples, Path(work), gate, args.only)]
    ran = {(row["scenario"], row["data"]) for row in table}
    kept = [row for row in json.loads(args.out.read_text()) if (row["scenario"], row["data"]) not in ran] \
        if args.out.exists() else []
    args.out.write_text(json.dumps(kept + table, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
