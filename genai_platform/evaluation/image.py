"""The image modality: digits-like image data, image samples, FID and its companions.

Image families are compared in the frozen classifier's feature space against the
train split, at one sample size N = the held-out (val + test) count, beside the
real-vs-real floor (held-out vs train), the noise ceiling (uniform noise vs train) and
the naive per-pixel Gaussian baseline. Every estimate carries its sample size and a
bootstrap interval (see genai_platform.metrics.intervals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from genai_platform.evaluation.generation import image_samples
from genai_platform.evaluation.modality import EvaluationContext, Modality, TrainingData
from genai_platform.evaluation.profiles import EvaluationProfile
from genai_platform.metrics.catalog import FEATURE_EXTRACTOR, HELDOUT, NOISE, PIXEL_GAUSSIAN, TRAINING_DATA
from genai_platform.metrics.distributions import (class_histogram, low_confidence, missing_modes, normalized_entropy,
                                                  total_variation)
from genai_platform.metrics.fid import fid_estimate, fid_from_features, kid_estimate
from genai_platform.metrics.intervals import bootstrap, mean_estimate
from genai_platform.metrics.manifold import RealManifold
from genai_platform.metrics.memorization import copy_rate, nearest_training_neighbours
from genai_platform.models.base import ImageGenerator
from genai_platform.models.classifier import ClassifierConfig, ImageClassifier
from genai_platform.models.inception import InceptionFeatures
from genai_platform.models.shapes import ImageShape
from genai_platform.records import ImageSplit, MetricRow
from genai_platform.reporting.modalities import ImageReport
from genai_platform.store.tables import (dataset_info, image_class_names, read_image_samples, read_image_split,
                                         replace_image_samples)
from genai_platform.training.batches import BatchSampler, image_batches
from genai_platform.training.fit import fingerprint, fit, load_trained, save_trained

FEATURE_EXTRACTOR_DIR = "feature_extractor"  # the frozen classifier, saved beside the families' models
CLOSEST_PAIRS = 8  # sample/training pairs with the smallest d1/d2 kept for the report's grid
MIN_PER_CLASS_FID = 10


@dataclass
class ImageEvaluationInputs:
    train: ImageSplit
    heldout: ImageSplit  # val + test
    samples: dict[str, np.ndarray]  # family -> [N, C, H, W]


class ImageModality(Modality):
    name = "image"
    data_asset = "images"
    evaluation_deps = ("image_feature_extractor",)
    leaderboard_metrics = ("fid", "kid", "precision", "recall", "density", "coverage", "class_tv_distance")
    report = ImageReport()
    generator_type = ImageGenerator

    def load_training_data(self, con) -> TrainingData:
        train = read_image_split(con, "train")
        return TrainingData({"shape": image_shape(train.pixels), "count": len(train.pixels)},
                            torch.from_numpy(train.pixels), dataset_info(con, self.name)["data_version"])

    def batches(self, data: torch.Tensor, model_config) -> BatchSampler:
        return image_batches(data)

    def examples_per_step(self, batch_size: int, model_config: dict) -> tuple[int, str]:
        return batch_size, "images/s"

    def read_sampling_inputs(self, con) -> None:
        return None

    def draw_samples(self, model, manifest: dict, inputs, profile: EvaluationProfile, seed: int) -> np.ndarray:
        return image_samples(model, profile.image_samples, seed)

    def store_samples(self, con, family: str, run_id: str, samples: np.ndarray) -> None:
        replace_image_samples(con, family, run_id, samples)

    def read_evaluation_inputs(self, con, families: list[str]) -> ImageEvaluationInputs:
        val, test = read_image_split(con, "val"), read_image_split(con, "test")
        heldout = ImageSplit(np.concatenate([val.pixels, test.pixels]),
                             None if test.labels is None else np.concatenate([val.labels, test.labels]),
                             val.content_hashes + test.content_hashes)
        return ImageEvaluationInputs(read_image_split(con, "train"), heldout,
                                     {family: read_image_samples(con, family) for family in families})

    def evaluate(self, inputs: ImageEvaluationInputs, context: EvaluationContext) -> tuple[list[MetricRow], dict]:
        classifier, manifest = load_classifier(context.model_dir(FEATURE_EXTRACTOR_DIR), context.device)
        # InceptionFeatures checks the image size (>= 28 px) on the first images it embeds, the train split
        extractor = InceptionFeatures(context.device, log=context.log) if context.feature_space == "inception" else None
        context.log(f"distribution metrics in the {context.feature_space} feature space")
        rows, details = evaluate_images(classifier, manifest["num_classes"], inputs.train, inputs.heldout,
                                        inputs.samples, context.seed, extractor)
        if manifest["test_accuracy"] is not None:
            rows.append(MetricRow(FEATURE_EXTRACTOR, "test_accuracy", manifest["test_accuracy"], manifest["test_count"]))
        return rows, details


@dataclass
class ClassifierData:
    """What the feature classifier trains and is tested on."""
    train: ImageSplit
    test: ImageSplit
    num_classes: int
    data_version: str


def read_classifier_data(con) -> ClassifierData:
    return ClassifierData(read_image_split(con, "train"), read_image_split(con, "test"), len(image_class_names(con)),
                          dataset_info(con, ImageModality.name)["data_version"])


def image_shape(pixels: np.ndarray) -> dict:
    """The shape of [N, C, H, W] images as model manifests store it."""
    return dict(zip(("channels", "height", "width"), map(int, pixels.shape[1:])))


def train_feature_extractor(data: ClassifierData, profile: EvaluationProfile, seed: int, device: torch.device,
                            out_dir: Path, checkpoint_path: Path, log: Callable[[str], None]) -> dict:
    """Train the CNN classifier on the real train split, freeze it, save it to `out_dir`; its manifest.

    Without labels the classifier keeps its seeded random weights (a fixed random feature space)."""
    train, test, num_classes = data.train, data.test, data.num_classes
    shape = image_shape(train.pixels)
    training = replace(profile.classifier_training, seed=seed)
    if train.labels is None:
        log("images have no labels: the feature extractor stays at its seeded random weights")
        training, num_classes = replace(training, steps=0), 1
    x = torch.from_numpy(train.pixels).to(device)
    batches = image_batches(x) if train.labels is None else image_batches(x, torch.from_numpy(train.labels).to(device))
    model, result = fit(lambda: ImageClassifier(profile.classifier, ImageShape(**shape), num_classes), batches,
                        training, device, checkpoint_path,
                        fingerprint("classifier", profile.classifier, training, data.data_version), log)
    accuracy = classifier_accuracy(model, test.pixels, test.labels) if test.labels is not None else None
    if accuracy is not None:
        log(f"feature classifier test accuracy {accuracy:.4f} on {len(test.labels)} images")
    manifest = {"model_config": profile.classifier, "training_config": training, "data": {"shape": shape},
                "num_classes": num_classes, "test_accuracy": accuracy, "test_count": len(test.pixels),
                "data_version": data.data_version}
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


def _class_rows(name: str, probabilities: np.ndarray, features: np.ndarray, train_features: np.ndarray,
                train_labels: np.ndarray, num_classes: int, seed: int, suffix: str) -> tuple[list[MetricRow], dict]:
    predicted = probabilities.argmax(axis=1)
    n = len(predicted)
    reference = class_histogram(train_labels, num_classes)
    histogram = class_histogram(predicted, num_classes)
    tv = lambda idx: total_variation(class_histogram(predicted[idx], num_classes), reference)  # noqa: E731
    rows = [MetricRow.of(name, "class_tv_distance", bootstrap(tv, n, seed)),
            MetricRow(name, "class_tv_uniform", total_variation(histogram, np.ones(num_classes)), n),
            MetricRow(name, "class_entropy", normalized_entropy(histogram), n),
            MetricRow(name, "missing_modes", len(missing_modes(histogram, reference)), n),
            MetricRow.of(name, "low_confidence_rate", mean_estimate(low_confidence(probabilities), seed))]
    per_class = {}
    for c in range(num_classes):
        mine, real = features[predicted == c], train_features[train_labels == c]
        if len(mine) >= MIN_PER_CLASS_FID and len(real) >= MIN_PER_CLASS_FID:
            per_class[c] = fid_from_features(mine, real)
    if per_class:
        rows.append(MetricRow(name, f"worst_class_fid{suffix}", max(per_class.values()), n))
    return rows, {"histogram": histogram.tolist(), "per_class_fid": per_class,
                  "missing_modes": missing_modes(histogram, reference)}


def evaluate_images(classifier, num_classes: int, train, heldout, samples: dict[str, np.ndarray],
                    seed: int, feature_extractor=None) -> tuple[list[MetricRow], dict]:
    """Rows at one sample size n (held-out count, or fewer samples if a family has fewer) for the
    distribution metrics; class and copy metrics over every sample.

    Class metrics always use the classifier. A `feature_extractor` (a callable from images to
    features with a `name`, e.g. InceptionFeatures) replaces the classifier's features for the
    distribution metrics, which are then recorded as `<metric>_<name>`: values in different feature
    spaces are not comparable, so they must not share a history.
    """
    n = min([len(heldout.pixels)] + [len(images) for images in samples.values()])
    if n < 4:
        raise ValueError(f"image evaluation needs at least 4 images per set; the smallest set has {n}")
    suffix = "" if feature_extractor is None else f"_{feature_extractor.name}"

    def embed(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features, probabilities = classifier.embed(torch.from_numpy(images))
        return (features if feature_extractor is None else feature_extractor(images)), probabilities

    train_features, _ = embed(train.pixels)
    noise = np.random.default_rng(seed).random((n, *heldout.pixels.shape[1:]), dtype=np.float32)
    sets = {HELDOUT: heldout.pixels[:n], NOISE: noise, PIXEL_GAUSSIAN: pixel_gaussian_samples(train.pixels, n, seed),
            **samples}
    real_manifold = RealManifold(train_features)
    labelled = train.labels is not None and num_classes > 1
    rows, details = [], {"sample_count": n, "feature_extractor": feature_extractor.name if feature_extractor else "classifier",
                         "class_histograms": {}, "per_class_fid": {}, "missing_modes": {},
                         "closest_pairs": {}}
    if labelled:
        details["class_histograms"][TRAINING_DATA] = class_histogram(train.labels, num_classes).tolist()
    for name, images in sets.items():
        features, probabilities = embed(images)
        rows.append(MetricRow.of(name, f"fid{suffix}", fid_estimate(features[:n], train_features, seed)))
        rows.append(MetricRow.of(name, f"kid{suffix}", kid_estimate(features[:n], train_features, seed)))
        rows += [MetricRow.of(name, metric + suffix, estimate)
                 for metric, estimate in real_manifold.metrics(features[:n], seed).items()]
        neighbours = nearest_training_neighbours(images, train.pixels)
        rows.append(MetricRow.of(name, "copy_rate", copy_rate(neighbours, seed)))
        closest = np.argsort(neighbours.ratio)[:CLOSEST_PAIRS]
        details["closest_pairs"][name] = [{"sample": int(i), "train": int(neighbours.nearest[i]),
                                           "ratio": float(neighbours.ratio[i])} for i in closest]
        if labelled:
            class_rows, class_details = _class_rows(name, probabilities, features, train_features, train.labels,
                                                    num_classes, seed, suffix)
            rows += class_rows
            details["class_histograms"][name] = class_details["histogram"]
            details["per_class_fid"][name] = class_details["per_class_fid"]
            details["missing_modes"][name] = class_details["missing_modes"]
    return rows, details


IMAGE = ImageModality()
