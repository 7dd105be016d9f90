"""Image scoring: the frozen feature classifier, FID and its companions on arrays of images.

Image families are compared in the frozen classifier's feature space against the reference
images (the val split, never trained on), at one sample size N for every metric, beside the floor
(unseen real data: the test split, which no model, classifier or reference used), what copies of
training images score, the noise ceiling and the naive per-pixel Gaussian baseline. Memorization (pixel copy rate, near copies under small
transformations or blends, Meehan et al.'s data-copying statistic) compares samples with the
train split. Every estimate carries its sample size and a
95% interval whose target catalog.INTERVALS states (genai_platform.metrics.intervals); ImageScorer.compare
gives the paired differences of two sets (genai_platform.metrics.comparisons).
"""

from __future__ import annotations

from collections.abc import Callable
import hashlib
import math
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import torch

from genai_platform.evaluation.profiles import EvaluationProfile
from genai_platform.evaluation.results import Details
from genai_platform.metrics.catalog import (NOISE, PIXEL_GAUSSIAN, TRAINING_COPIES, TRAINING_DATA,
                                            UNSEEN_REAL)
from genai_platform.metrics.distributions import (class_histogram, low_confidence, missing_modes, normalized_entropy,
                                                  total_variation)
from genai_platform.metrics.comparisons import ClassDistance, KidTerms, difference
from genai_platform.metrics.fid import FrechetToReference, Whitening, fid_estimate, fid_from_features, kid_estimate
from genai_platform.metrics.intervals import Estimate, mean_estimate, tv_estimate
from genai_platform.metrics.manifold import MANIFOLD_METRICS, ManifoldResamples, RealManifold
from genai_platform.metrics.memorization import (InvariantMatcher, NearCopyTest, copy_rate, data_copying_ct,
                                                  near_copy_rate, nearest_training_neighbours)
from genai_platform.models.classifier import ClassifierConfig, ImageClassifier
from genai_platform.models.shapes import ImageShape
from genai_platform.records import ImageSplit, MetricRow
from genai_platform.files import ArtifactPath
from genai_platform.fingerprints import classifier_fingerprint
from genai_platform.training.batches import image_batches
from genai_platform.training.fit import fit, load_trained, save_trained
from genai_platform.training.loop import TrainingConfig

FEATURE_EXTRACTOR_DIR = "feature_extractor"  # the frozen classifier, saved beside the families' models
CLOSEST_PAIRS = 8  # sample/training pairs with the smallest d1/d2 kept for the report's grid
MIN_PER_CLASS_FID = 10
KID_SCALE = 1e3  # KID is recorded x 10^3, on reference-standardised features
# means over the samples, whose paired differences with earlier versions use every sample drawn
# the gate's statistic and the headline, whose paired differences with earlier versions use every sample drawn
EVERY_SAMPLE_METRICS = ("fid", "fd_whitened")
BOUND = "nll_bound"  # a family's own likelihood bound on the test images, where it has one


@dataclass
class ClassifierData:
    """What the feature classifier trains and is tested on."""
    train: ImageSplit
    test: ImageSplit
    num_classes: int
    data_version: str


def image_shape(pixels: np.ndarray) -> dict:
    """The shape of [N, C, H, W] images as model manifests store it."""
    return dict(zip(("channels", "height", "width"), map(int, pixels.shape[1:])))


def classifier_seed(data_version: str) -> int:
    """The feature classifier's seed, from the data version and not the run's seed: the same data gives the
    same feature space every night, so FID moves only when the data (or the code) moves."""
    return int(hashlib.sha256(f"feature classifier {data_version}".encode()).hexdigest()[:8], 16)


def classifier_training(profile: EvaluationProfile, data_version: str) -> TrainingConfig:
    """The profile's classifier training, seeded by the data version."""
    return replace(profile.classifier_training, seed=classifier_seed(data_version))


def feature_extractor_fingerprint(profile: EvaluationProfile, data_version: str) -> str:
    """Everything the frozen classifier's weights depend on: equal means it need not be trained again."""
    return classifier_fingerprint(profile.classifier, classifier_training(profile, data_version), data_version)


def train_feature_extractor(data: ClassifierData, profile: EvaluationProfile, device: torch.device,
                            out_dir: ArtifactPath, checkpoint_path: ArtifactPath, log: Callable[[str], None],
                            run_id: str | None = None) -> dict:
    """Train the CNN classifier on the real train split (seeded by the data version), freeze it, save it to
    `out_dir`; its manifest.

    Without labels the classifier keeps its seeded random weights (a fixed random feature space)."""
    train, test, num_classes = data.train, data.test, data.num_classes
    shape = image_shape(train.pixels)
    training = classifier_training(profile, data.data_version)
    run_fingerprint = feature_extractor_fingerprint(profile, data.data_version)
    if train.labels is None:
        log("images have no labels: the feature extractor stays at its seeded random weights")
        training, num_classes = replace(training, steps=0), 1
    x = torch.from_numpy(train.pixels).to(device)
    batches = image_batches(x) if train.labels is None else image_batches(x, torch.from_numpy(train.labels).to(device))
    model, result = fit(lambda: ImageClassifier(profile.classifier, ImageShape(**shape), num_classes), batches,
                        training, device, checkpoint_path, run_fingerprint, log)
    accuracy = classifier_accuracy(model, test.pixels, test.labels) if test.labels is not None else None
    if accuracy is not None:
        log(f"feature classifier test accuracy {accuracy:.4f} on {len(test.labels)} images")
    manifest = {"model_config": profile.classifier, "training_config": training, "data": {"shape": shape},
                "num_classes": num_classes, "test_accuracy": accuracy, "test_count": len(test.pixels),
                "data_version": data.data_version, "run_id": run_id,
                "fingerprint": run_fingerprint}
    save_trained(model, out_dir, manifest, result)
    return {**manifest, "seconds": result.seconds}


def load_classifier(model_dir, device: torch.device) -> tuple[ImageClassifier, dict]:
    """The frozen feature classifier trained by the image_feature_extractor asset, and its manifest."""
    return load_trained(
        lambda m: ImageClassifier(ClassifierConfig(**m["model_config"]), ImageShape(**m["data"]["shape"]),
                                  m["num_classes"]), model_dir, device)


def pixel_gaussian_samples(train_pixels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """The naive image baseline: each pixel drawn independently from N(train mean, train sd), clipped."""
    rng = np.random.default_rng(seed)
    mean, sd = train_pixels.mean(axis=0), train_pixels.std(axis=0)
    return np.clip(rng.normal(mean, sd, size=(n, *train_pixels.shape[1:])), 0, 1).astype(np.float32)


def classifier_accuracy(classifier, images: np.ndarray, labels: np.ndarray) -> float:
    _, probabilities = classifier.embed(torch.from_numpy(images))
    return float((probabilities.argmax(axis=1) == labels).mean())


def standardised(features: np.ndarray, reference_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets in the reference set's per-feature standard units (constant features keep their scale)."""
    mean, sd = reference_features.mean(axis=0), reference_features.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (features - mean) / sd, (reference_features - mean) / sd


def standardised_kid(sample_features: np.ndarray, reference_features: np.ndarray) -> Estimate:
    """KID x 10^3 on features standardised by the reference set's per-feature mean and sd: a scale a
    reader can compare across feature spaces and datasets (raw classifier features gave thousands)."""
    kid = kid_estimate(*standardised(sample_features, reference_features))
    scale = lambda v: None if v is None else v * KID_SCALE  # noqa: E731
    return Estimate(scale(kid.value), kid.count, scale(kid.ci_low), scale(kid.ci_high))


def copies_subsample(train_count: int, n: int, seed: int) -> np.ndarray:
    """The seeded train indices the training-copies row scores (n of them)."""
    return np.sort(np.random.default_rng(seed).choice(train_count, size=n, replace=False))


@dataclass
class ImageDetails(Details):
    """What the image evaluation keeps for the reports: per set (family or reference row), its class
    histogram, per-class FID, missing classes, closest sample/training pairs and data-copying cells."""
    sample_count: int | None = None  # the rows' N
    feature_extractor: str = "classifier"
    class_histograms: dict[str, list[float]] = field(default_factory=dict)
    per_class_fid: dict[str, dict] = field(default_factory=dict)
    missing_modes: dict[str, list] = field(default_factory=dict)
    closest_pairs: dict[str, list[dict]] = field(default_factory=dict)
    data_copying_cells: dict[str, dict | str] = field(default_factory=dict)  # a string: why there is none


@dataclass
class EmbeddedSet:
    """A set of images as the metrics see it."""
    features: np.ndarray  # the distribution metrics' feature space
    classifier_features: np.ndarray
    probabilities: np.ndarray  # the classifier's class probabilities

    def first(self, n: int) -> EmbeddedSet:
        return EmbeddedSet(self.features[:n], self.classifier_features[:n], self.probabilities[:n])


class ImageScorer:
    """The reference side of image evaluation, prepared once: the reference images' features (`heldout`: the
    held-out images scored against, the val split) and real manifold, the train split's classifier
    features. Scores any set against it (`score`; `score_samples` adds the reference rows, the floor from
    `unseen`, held-out images that are not in the reference) and compares two sets on it with paired
    differences (`compare`, metrics.comparisons).

    Class metrics and the data-copying statistic always use the classifier. A `feature_extractor` (a
    callable from images to features with a `name`, e.g. InceptionFeatures) replaces the classifier's
    features for the distribution metrics, which are then recorded as `<metric>_<name>`: values in
    different feature spaces are not comparable, so they must not share a history.
    """

    def __init__(self, classifier, num_classes: int, train: ImageSplit, heldout: ImageSplit, seed: int,
                 feature_extractor=None, unseen: ImageSplit | None = None):
        self.classifier, self.num_classes, self.train, self.seed = classifier, num_classes, train, seed
        self.feature_extractor, self.unseen = feature_extractor, unseen
        self.suffix = "" if feature_extractor is None else f"_{feature_extractor.name}"
        self.heldout = heldout
        self.reference = self.embed(heldout.pixels)
        self.whitening = Whitening(self.reference.features)
        self.whitened_reference = self.whitening(self.reference.features)
        self.train_classifier_features, _ = classifier.embed(torch.from_numpy(train.pixels))  # for data copying
        self.real_manifold = RealManifold(self.reference.features, seed=seed)
        self.labelled = heldout.labels is not None and num_classes > 1
        self.reference_histogram = class_histogram(heldout.labels, num_classes) if self.labelled else None

    def embed(self, images: np.ndarray) -> EmbeddedSet:
        classifier_features, probabilities = self.classifier.embed(torch.from_numpy(images))
        features = classifier_features if self.feature_extractor is None else self.feature_extractor(images)
        return EmbeddedSet(features, classifier_features, probabilities)

    def score(self, name: str, images: np.ndarray, embedded: EmbeddedSet, memory: np.ndarray,
              near_copies: NearCopyTest, details: ImageDetails) -> list[MetricRow]:
        """Every metric of one set (already cut to the common N); memorization against train[memory]
        (`near_copies`: the near-copy test of train[memory], _near_copy_tests)."""
        suffix, seed = self.suffix, self.seed
        rows = [MetricRow.of(name, f"fid{suffix}", fid_estimate(embedded.features, self.reference.features, seed)),
                MetricRow.of(name, f"fd_whitened{suffix}",
                             fid_estimate(self.whitening(embedded.features), self.whitened_reference, seed)),
                MetricRow.of(name, f"kid{suffix}", standardised_kid(embedded.features, self.reference.features))]
        rows += [MetricRow.of(name, metric + suffix, estimate)
                 for metric, estimate in self.real_manifold.metrics(embedded.features).items()]
        neighbours = nearest_training_neighbours(images, self.train.pixels[memory])
        rows.append(MetricRow.of(name, "copy_rate", copy_rate(neighbours)))
        rows.append(MetricRow.of(name, "near_copy_rate", near_copy_rate(near_copies, images)))
        closest = np.argsort(neighbours.ratio)[:CLOSEST_PAIRS]
        details.closest_pairs[name] = [{"sample": int(i), "train": int(memory[neighbours.nearest[i]]),
                                           "ratio": float(neighbours.ratio[i])} for i in closest]
        try:
            copying = data_copying_ct(embedded.classifier_features, self.reference.classifier_features,
                                      self.train_classifier_features[memory], seed=seed)
        except ValueError as error:  # too few samples per cell: no row, the reason in the details
            details.data_copying_cells[name] = str(error)
        else:
            rows.append(MetricRow(name, "data_copying", -copying.ct, copying.count))
            details.data_copying_cells[name] = {int(c): z for c, z in copying.cell_z.items()}
        if self.labelled:
            rows += self._class_rows(name, embedded, details)
        return rows

    def _class_rows(self, name: str, embedded: EmbeddedSet, details: ImageDetails) -> list[MetricRow]:
        """Class metrics of one set against the held-out labels."""
        probabilities, num_classes, seed = embedded.probabilities, self.num_classes, self.seed
        predicted = probabilities.argmax(axis=1)
        n = len(predicted)
        reference = self.reference_histogram
        histogram = class_histogram(predicted, num_classes)
        rows = [MetricRow.of(name, "class_tv_distance", tv_estimate(histogram, reference, seed)),
                MetricRow(name, "class_tv_uniform", total_variation(histogram, np.ones(num_classes)), n),
                MetricRow(name, "class_entropy", normalized_entropy(histogram), n),
                MetricRow(name, "missing_modes", len(missing_modes(histogram, reference)), n),
                MetricRow.of(name, "low_confidence_rate", mean_estimate(low_confidence(probabilities)))]
        per_class = {}
        for c in range(num_classes):
            mine, real = embedded.features[predicted == c], self.reference.features[self.heldout.labels == c]
            if len(mine) >= MIN_PER_CLASS_FID and len(real) >= MIN_PER_CLASS_FID:
                per_class[c] = fid_from_features(mine, real)
        if per_class:
            rows.append(MetricRow(name, f"worst_class_fid{self.suffix}", max(per_class.values()), n))
        details.class_histograms[name] = histogram.tolist()
        details.per_class_fid[name] = per_class
        details.missing_modes[name] = missing_modes(histogram, reference)
        return rows

    @property
    def compared_metrics(self) -> list[str]:
        """The metrics compare() gives differences of, as recorded (with the feature space's suffix)."""
        return ([m + self.suffix for m in ("fid", "fd_whitened", "kid", *MANIFOLD_METRICS)]
                + (["class_tv_distance"] if self.labelled else []))

    def compare(self, first: EmbeddedSet, second: EmbeddedSet, paired: bool,
                metrics: tuple[str, ...] | None = None) -> dict[str, Estimate]:
        """Paired differences (first minus second) of the leaderboard's image metrics (or of `metrics`
        alone), on the held-out reference at the sets' common size. `paired`: sample i of both comes from the
        same seeded noise (a challenger and its champion), so samples are resampled together."""
        n = min(len(first.features), len(second.features))
        first, second = first.first(n), second.first(n)
        seed, suffix, reference = self.seed, self.suffix, self.reference.features
        wanted = [m for m in self.compared_metrics if metrics is None or m in metrics]
        statistics = {}
        if f"fid{suffix}" in wanted:
            statistics[f"fid{suffix}"] = [FrechetToReference(reference, s.features) for s in (first, second)]
        if f"fd_whitened{suffix}" in wanted:
            statistics[f"fd_whitened{suffix}"] = [FrechetToReference(self.whitened_reference, self.whitening(s.features))
                                                  for s in (first, second)]
        if f"kid{suffix}" in wanted:
            statistics[f"kid{suffix}"] = [KidTerms(*standardised(s.features, reference), KID_SCALE) for s in (first, second)]
        manifold = [metric for metric in MANIFOLD_METRICS if metric + suffix in wanted]
        if manifold:  # their distance matrices, built only when a manifold metric is asked for
            resamples = [ManifoldResamples(self.real_manifold, s.features) for s in (first, second)]
            statistics.update({metric + suffix: [partial(r.metric, metric) for r in resamples] for metric in manifold})
        if "class_tv_distance" in wanted:
            statistics["class_tv_distance"] = [ClassDistance(s.probabilities.argmax(axis=1), self.reference_histogram)
                                               for s in (first, second)]
        return {metric: difference(metric, *statistics[metric], n, n, seed, paired, len(reference)) for metric in wanted}

    def score_sets(self, sets: dict[str, np.ndarray], memories: dict[str, np.ndarray],
                   embedded: dict[str, EmbeddedSet] | None = None
                   ) -> tuple[list[MetricRow], ImageDetails, dict[str, EmbeddedSet]]:
        """score() of every set; memorization against the train split, or train[memories[name]]; sets already
        embedded (`embedded`) are not embedded again."""
        rows, details = [], ImageDetails(len(next(iter(sets.values()))),
                                         self.feature_extractor.name if self.feature_extractor else "classifier")
        if self.labelled:
            details.class_histograms[TRAINING_DATA] = class_histogram(self.train.labels, self.num_classes).tolist()
        embedded = dict(embedded or {})
        everything = np.arange(len(self.train.pixels))
        memory_of = {name: memories.get(name, everything) for name in sets}
        near_copies = self._near_copy_tests(memory_of)
        for name, images in sets.items():
            if name not in embedded:
                embedded[name] = self.embed(images)
            rows += self.score(name, images, embedded[name], memory_of[name], near_copies[name], details)
        return rows, details, embedded

    def _near_copy_tests(self, memory_of: dict[str, np.ndarray]) -> dict[str, NearCopyTest]:
        """Each set's near-copy test against train[its memory], calibrated on the held-out images once per
        memory (the training images are prepared once for all)."""
        matcher = InvariantMatcher(self.train.pixels)
        by_memory = {}
        for memory in memory_of.values():
            if memory.tobytes() not in by_memory:
                by_memory[memory.tobytes()] = NearCopyTest(matcher.subset(memory), self.heldout.pixels)
        return {name: by_memory[memory.tobytes()] for name, memory in memory_of.items()}

    def score_samples(self, samples: dict[str, np.ndarray], embedded: dict[str, EmbeddedSet] | None = None
                      ) -> tuple[list[MetricRow], dict, dict[str, EmbeddedSet]]:
        """score_sets of the families' samples beside the reference rows, all at common_size; `embedded`: sets
        already embedded whole (the families' samples, the floor's unseen images under UNSEEN_REAL), cut to
        common_size here."""
        unseen = None if self.unseen is None else self.unseen.pixels
        n = common_size(self.train, self.heldout, unseen, samples)
        return self.score_sets(*image_sets(self.train, unseen, samples, n, self.seed),
                               {family: e.first(n) for family, e in (embedded or {}).items()})


def common_size(train: ImageSplit, reference: ImageSplit, unseen: np.ndarray | None,
                samples: dict[str, np.ndarray]) -> int:
    """The one N of every image metric: the reference count, or fewer if the unseen images or a family's
    samples are fewer."""
    counts = {"reference (val)": len(reference.pixels), "train less 2": len(train.pixels) - 2,
              **({} if unseen is None else {"unseen (test)": len(unseen)}),
              **{f"{family} samples": len(images) for family, images in samples.items()}}
    smallest = min(counts, key=counts.get)
    if counts[smallest] < 4:
        raise ValueError(f"image evaluation needs at least 4 images per set; the {smallest} set has {counts[smallest]}")
    return counts[smallest]


def image_sets(train: ImageSplit, unseen: np.ndarray | None, samples: dict[str, np.ndarray], n: int, seed: int
               ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every set at N, the reference rows first; and the training copies' memory: the train split less them."""
    copies = copies_subsample(len(train.pixels), n, seed)
    noise = np.random.default_rng(seed).random((n, *train.pixels.shape[1:]), dtype=np.float32)
    floor = {} if unseen is None else {UNSEEN_REAL: unseen[:n]}
    sets = {**floor, TRAINING_COPIES: train.pixels[copies], NOISE: noise,
            PIXEL_GAUSSIAN: pixel_gaussian_samples(train.pixels, n, seed),
            **{family: images[:n] for family, images in samples.items()}}
    return sets, {TRAINING_COPIES: np.setdiff1d(np.arange(len(train.pixels)), copies)}


def evaluate_images(classifier, num_classes: int, train: ImageSplit, heldout: ImageSplit,
                    samples: dict[str, np.ndarray], seed: int, feature_extractor=None,
                    unseen: ImageSplit | None = None) -> tuple[list[MetricRow], dict]:
    """Every set's first n images (n = common_size) scored against `heldout` (the reference images) as the
    reference of every distribution and class metric. The floor row (UNSEEN_REAL, with `unseen`: held-out
    images outside the reference) is what unseen real data scores. The training-copies row is a seeded
    subsample of n train images: what a model that copies training images produces (the feature classifier
    trained on them, so they score worse than unseen images do). Memorization (copy rate, near-copy rate, the
    data-copying statistic, closest pairs) compares with the train split, for the training copies with the
    train split less their subsample. See ImageScorer for the feature spaces."""
    scorer = ImageScorer(classifier, num_classes, train, heldout, seed, feature_extractor, unseen)
    rows, details, _ = scorer.score_samples(samples)
    return rows, details




def bound_bits_per_dim(nats: torch.Tensor, shape: tuple[int, ...]) -> np.ndarray:
    """Per-image bounds in nats as bits per pixel value of images of `shape` (C, H, W)."""
    return nats.double().numpy() / (math.prod(shape) * math.log(2))


def bound_row(family: str, bits: np.ndarray) -> MetricRow:
    return MetricRow.of(family, BOUND, mean_estimate(bits))


def bound_difference(bits: np.ndarray, earlier_bits: np.ndarray, seed: int):
    """Challenger minus an earlier version, image by image on the same test images (paired)."""
    return difference(BOUND, lambda rows: float(bits[rows].mean()), lambda rows: float(earlier_bits[rows].mean()),
                      len(bits), len(earlier_bits), seed, paired=True)
