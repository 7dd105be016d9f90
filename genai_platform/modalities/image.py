"""The image modality plug-in: image splits from DuckDB as training data, image samples drawn, stored and
written as PNG or .npz, every family scored in the feature classifier's space (evaluation.image_scores),
the report's gallery and class histograms, and the image metric self-test."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from genai_platform.datasets.datasets_file import Sources
from genai_platform.datasets.image_sources import BUNDLED_IMAGE_DISTRIBUTIONS, DEFAULT_IMAGE_SOURCE, RawImages, load_images
from genai_platform.evaluation.generation import image_samples
from genai_platform.evaluation.marks import (QUALITY_COST_SAMPLES, false_positive_row, image_detection_rows,
                                             image_p_values)
from genai_platform.evaluation.image_scores import (BOUND, EVERY_SAMPLE_METRICS, FEATURE_EXTRACTOR_DIR, ClassifierData,
                                                    EmbeddedSet, ImageDetails, ImageScorer, bound_bits_per_dim,
                                                    bound_difference, bound_row, image_shape, load_classifier)
from genai_platform.evaluation.profiles import EvaluationProfile
from genai_platform.evaluation.results import Evaluation, compare_families
from genai_platform.evaluation.self_test_panel import Panel, image_panel
from genai_platform.files import write_atomic
from genai_platform.marking.credentials import SampleCredentials, png_with_credentials, sidecar_json, sidecar_path
from genai_platform.marking.image_mark import mark_images
from genai_platform.marking.key import WatermarkKey
from genai_platform.metrics.catalog import FEATURE_EXTRACTOR, UNSEEN_REAL, subject_label
from genai_platform.metrics.detectability import detectability_auc
from genai_platform.modalities.base import (Contest, EvaluationContext, Modality, PanelSettings, SelfTest, TrainingData,
                                            contest_sample_runs)
from genai_platform.models.base import ImageGenerator
from genai_platform.models.inception import InceptionFeatures
from genai_platform.records import Comparison, Estimate, ImageSplit, MetricRow
from genai_platform.reporting.modality_parts import (CLASS_SHARES_ALT, CardTexts, ClosestPairs, Figure, GRID_IMAGES,
                                                     ModalityParts, ModalityReport, Representation)
from genai_platform.reporting.plots import class_histograms, image_grid, image_grid_picture
from genai_platform.store.preprocessing import SqlPreprocessing
from genai_platform.store.tables import (dataset_info, drop_image_sample_sets, image_class_names, read_image_samples,
                                         read_image_split, store_image_samples, write_raw_images)
from genai_platform.training.batches import BatchSampler, image_batches


MAX_GRID_SAMPLES = 1024  # images in one PNG grid the command line writes (64 rows of 16)


@dataclass(frozen=True)
class ClosestPairImages:
    samples: np.ndarray  # [K, C, H, W]: a family's samples with the smallest d1/d2
    nearest: np.ndarray  # [K, C, H, W]: the nearest training image of each
    ratios: list[float]


@dataclass(frozen=True)
class ImageGalleryInputs:
    train: np.ndarray  # the first GRID_IMAGES of the train split
    samples: dict[str, np.ndarray]  # family -> its first GRID_IMAGES samples
    closest_pairs: dict[str, ClosestPairImages]
    class_histograms: dict[str, list[float]]  # subject (or, in older homes, its label) -> class counts
    class_names: list[str]
    sample_count: int | None  # samples per row of the distribution metrics
    feature_extractor: str


class ImageReport(ModalityReport):
    card = CardTexts(
        limitations="Small images at low resolution; FID in a small in-project classifier's feature space is "
        "comparable only within this platform, and at small n it is biased upward (compare with the floor row).",
        trade_offs="Fidelity against diversity: precision and density measure the first, recall and coverage the "
        "second; a model can buy one with the other (see the leaderboard). More training steps cost time on every "
        "nightly run (see the cost table in the comparison report).",
        memorization_measured="copy rate (nearest training image under a third as far as the second nearest), "
        "near-copy rate (closer to a training image, shifted, mirrored, rescaled, turned or blended, than all but "
        "5% of unseen real images are) and the data-copying statistic",
        misinformation="generated images could be mistaken for real ones.",
        discrimination="a model that under-generates some classes under-represents them downstream; see the class "
        "coverage.",
        judged_nightly="amplification and class coverage")
    preprocessing = ("Pixels scaled to [0, 1]; exact duplicates removed by content hash; split 80/10/10 by hash "
                     "(genai_platform/store/sql/images.sql).")
    bundled_distributions = BUNDLED_IMAGE_DISTRIBUTIONS

    def read(self, con, details: dict, families: list[str]) -> ImageGalleryInputs:
        kept = ImageDetails.from_dict(details)
        train = read_image_split(con, "train").pixels
        samples, pairs = {}, {}
        for family in families:
            images = read_image_samples(con, family)
            samples[family] = images[:GRID_IMAGES]
            picked = kept.closest_pairs.get(family)
            if picked:
                pairs[family] = ClosestPairImages(images[[p["sample"] for p in picked]],
                                                  train[[p["train"] for p in picked]], [p["ratio"] for p in picked])
        return ImageGalleryInputs(train[:GRID_IMAGES], samples, pairs, kept.class_histograms, image_class_names(con),
                                  kept.sample_count, kept.feature_extractor)

    def build(self, inputs: ImageGalleryInputs, titles: dict[str, str]) -> ModalityParts:
        grids = {"Real (train split)": inputs.train} | {titles[f]: images for f, images in inputs.samples.items()}
        figures, representation = [], None
        if inputs.class_histograms and inputs.class_names:
            uri = class_histograms({subject_label(k): v for k, v in inputs.class_histograms.items()},
                                   inputs.class_names)
            figures = [Figure(uri, CLASS_SHARES_ALT, "Predicted-class shares of generated images against the "
                              "training labels.")]
            representation = Representation(
                "Image representation: the class histogram of generated images against the training labels (Class "
                "TV in the comparison report; 0 = same class shares as the training data).",
                Figure(uri, CLASS_SHARES_ALT, "Predicted-class shares."))
        return ModalityParts(
            evaluation_note=f"{inputs.sample_count} images per row for FID, KID, precision/recall, density/coverage, "
            f"in the {inputs.feature_extractor} feature space" if inputs.sample_count else None,
            figures=figures,
            grids=[Figure(image_grid(images), f"Grid of images: {title}", title) for title, images in grids.items()],
            closest_pairs=[ClosestPairs(titles[f], image_grid(np.concatenate([p.samples, p.nearest]),
                                                              columns=len(p.ratios)), p.ratios)
                           for f, p in inputs.closest_pairs.items()],
            representation=representation)


@dataclass
class ImageEvaluationInputs:
    train: ImageSplit
    reference: ImageSplit  # the val split: the held-out images every set is scored against
    unseen: ImageSplit  # the test split: unseen real images, the floor row
    samples: dict[str, np.ndarray]  # family -> [N, C, H, W] of its challenger
    earlier: dict[str, dict[str, np.ndarray]]  # family -> {earlier version (champion, best): its samples}


class ImageSelfTest(SelfTest):
    def read(self, con) -> tuple[ImageSplit, ImageSplit]:
        val, test = read_image_split(con, "val"), read_image_split(con, "test")
        heldout = ImageSplit(np.concatenate([val.pixels, test.pixels]),
                             None if test.labels is None else np.concatenate([val.labels, test.labels]),
                             val.content_hashes + test.content_hashes)
        return read_image_split(con, "train"), heldout

    def run(self, data: tuple[ImageSplit, ImageSplit], settings: PanelSettings) -> Panel:
        classifier, manifest = load_classifier(settings.model_dir(FEATURE_EXTRACTOR_DIR), settings.device)
        extractor = (InceptionFeatures(settings.device, log=settings.log) if settings.feature_space == "inception"
                     else None)
        train, heldout = data
        return image_panel(classifier, manifest["num_classes"], train, heldout, settings.seed, extractor,
                           classifier_accuracy=manifest.get("test_accuracy"), key=settings.watermark_key)


class ImageModality(Modality):
    name = "image"
    sources = Sources(
        "GENAI_IMAGE_SOURCE", DEFAULT_IMAGE_SOURCE,
        "'sklearn:digits', 'sklearn:photos' (colour), an image folder (class = sub-folder), an IDX images file or an "
        ".npz with 'images' (and 'labels')",
        other_bundled=tuple(source for source in BUNDLED_IMAGE_DISTRIBUTIONS if source != DEFAULT_IMAGE_SOURCE))
    raw_asset = "raw_images"
    data_asset = "images"
    preprocessing = SqlPreprocessing("images", "images_checks", "raw_images", {
        "non_empty": "train and test splits both have rows",
        "pixel_range": "every normalised pixel lies in [0, 1]",
        "no_nan": "no pixel is NaN",
        "no_train_test_overlap": "no content hash is in both train and test",
        "labels_in_range": "labels are all present or all absent, and in [0, 1024)",
        "one_image_size": "every image has the same channels, height and width",
    })
    evaluation_deps = ("image_feature_extractor",)
    leaderboard_metrics = ("fid", "kid", "precision", "recall", "density", "coverage", "class_tv_distance")
    # fidelity and diversity in one statistic with the least noise for its size (bench/gate.py: coverage, at the
    # rows' N, cannot resolve a 10% margin at the bundled size; it stays on the leaderboard)
    gate_metrics = ("fd_whitened",)
    report = ImageReport()
    generator_type = ImageGenerator
    self_test = ImageSelfTest()
    sample_suffix = ".png"
    sampled_gate_metrics = (*EVERY_SAMPLE_METRICS, *(f"{m}_inception" for m in EVERY_SAMPLE_METRICS))

    def sample_count(self, profile: EvaluationProfile) -> int:
        return profile.image_samples

    def with_sample_count(self, profile: EvaluationProfile, count: int | None) -> EvaluationProfile:
        return profile if count is None else replace(profile, image_samples=count)

    def load_raw(self, source: str, options: Mapping[str, str], allowed: tuple[Path, ...]) -> RawImages:
        return load_images(source, allowed)

    def write_raw(self, con, raw: RawImages) -> None:
        write_raw_images(con, raw)

    def raw_summary(self, raw: RawImages) -> tuple[str, dict]:
        shape = tuple(raw.pixels.shape[1:])
        return (f"ingested {raw.provenance.rows} images of shape {shape}",
                {"shape": str(shape), "pixel_type": str(raw.pixels.dtype), "scale": raw.scale})

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

    def draw_samples(self, model, manifest: dict, inputs, profile: EvaluationProfile, seed: int,
                     key: WatermarkKey) -> np.ndarray:
        return mark_images(image_samples(model, profile.image_samples, seed), key)

    def store_samples(self, con, family: str, run_id: str, version: str, fingerprint: str,
                      samples: np.ndarray) -> None:
        store_image_samples(con, family, run_id, version, fingerprint, samples)

    def drop_sample_sets(self, con, family: str, runs: list[str]) -> None:
        drop_image_sample_sets(con, family, runs)

    def write_samples(self, model, manifest: dict, count: int, seed: int, path: Path, key: WatermarkKey,
                      credentials: SampleCredentials) -> list[Path]:
        """A PNG grid of at most MAX_GRID_SAMPLES images (a larger one is more than viewers open), the credentials
        and the grid's layout in its text chunks; or any count as an .npz of uint8 `images` [N, H, W(, C)], the
        layout ingestion reads, with the credentials beside it in <file>.json."""
        suffix = path.suffix.lower()
        if suffix not in (".png", ".npz"):
            raise ValueError(f"{path}: image samples are written as a .png grid or an .npz array, not {suffix!r}")
        if suffix == ".png" and count > MAX_GRID_SAMPLES:
            raise ValueError(f"{count} samples make too large a grid (at most {MAX_GRID_SAMPLES} in a .png); write "
                             "them to an .npz file instead")
        samples = mark_images(image_samples(model, count, seed), key)
        if suffix == ".png":
            picture, layout = image_grid_picture(samples)
            return [write_atomic(path, png_with_credentials(picture, credentials, layout))]
        pixels = np.round(samples * 255).astype(np.uint8).transpose(0, 2, 3, 1)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
        return [write_atomic(path, buffer.getvalue()),
                write_atomic(sidecar_path(path), sidecar_json(credentials, count))]

    def read_evaluation_inputs(self, con, contests: dict[str, Contest]) -> ImageEvaluationInputs:
        runs = {family: contest_sample_runs(con, self.name, family, contest) for family, contest in contests.items()}
        samples = {family: read_image_samples(con, family, challenger) for family, (challenger, _) in runs.items()}
        earlier = {family: {version: read_image_samples(con, family, run) for version, run in drawn.items()}
                   for family, (_, drawn) in runs.items()}
        return ImageEvaluationInputs(*(read_image_split(con, split) for split in ("train", "val", "test")), samples,
                                     earlier)

    def evaluate(self, inputs: ImageEvaluationInputs, context: EvaluationContext) -> Evaluation:
        classifier, manifest = load_classifier(context.model_dir(FEATURE_EXTRACTOR_DIR), context.device)
        # InceptionFeatures checks the image size (>= 28 px) on the first images it embeds, the held-out split
        extractor = InceptionFeatures(context.device, log=context.log) if context.feature_space == "inception" else None
        context.log(f"distribution metrics in the {context.feature_space} feature space")
        scorer = ImageScorer(classifier, manifest["num_classes"], inputs.train, inputs.reference, context.seed, extractor,
                             inputs.unseen)
        embedded = {family: scorer.embed(images) for family, images in inputs.samples.items()}  # every sample, once
        unseen = scorer.embed(inputs.unseen.pixels)  # the floor row's images and detectability's real side, once
        rows, details, _ = scorer.score_samples(inputs.samples, {**embedded, UNSEEN_REAL: unseen})
        if manifest["test_accuracy"] is not None:
            rows.append(MetricRow(FEATURE_EXTRACTOR, "test_accuracy", manifest["test_accuracy"], manifest["test_count"]))
        # A challenger's paired differences with its earlier versions use every sample drawn for the gate's
        # statistic and the headline (EVERY_SAMPLE_METRICS): both sides are scored against the same fixed
        # reference, so more samples narrow the interval. The others (some saturate as samples grow) and two
        # families' differences are taken at the rows' N, as the leaderboard shows them.
        n = details.sample_count
        earlier = {}
        for family, sets in inputs.earlier.items():
            for version, images in sets.items():
                if images.shape[1:] != inputs.samples[family].shape[1:]:  # the data changed shape: nothing to compare
                    context.log(f"{family}: the samples of version {version} are {images.shape[1:]}, the "
                                f"challenger's {inputs.samples[family].shape[1:]}; no comparison with it")
                    continue
                earlier.setdefault(family, {})[version] = scorer.embed(images)
        every_sample = tuple(m + scorer.suffix for m in EVERY_SAMPLE_METRICS)

        def compare(first: EmbeddedSet, second: EmbeddedSet, paired: bool) -> dict[str, Estimate]:
            if not paired:
                return scorer.compare(first.first(n), second.first(n), False)
            at_n = tuple(m for m in scorer.compared_metrics if m not in every_sample)
            return {**scorer.compare(first, second, True, every_sample),
                    **scorer.compare(first.first(n), second.first(n), True, at_n)}

        comparisons = compare_families(compare, embedded, earlier, context.log)
        bound_rows, bound_comparisons = likelihood_bounds(inputs.unseen.pixels, context)
        return Evaluation(rows + bound_rows + mark_rows(inputs, scorer, context)
                          + detectability_rows(embedded, unseen, scorer.suffix, context.seed), details,
                          comparisons + bound_comparisons)


def detectability_rows(embedded: dict[str, EmbeddedSet], unseen: EmbeddedSet, suffix: str,
                       seed: int) -> list[MetricRow]:
    """Without the key: how well a logistic regression on the distribution metrics' features tells each family's
    samples from the unseen real images (metrics/detectability.py)."""
    return [MetricRow.of(family, f"detectability_auc{suffix}", detectability_auc(s.features, unseen.features, seed))
            for family, s in embedded.items()]


def mark_rows(inputs: ImageEvaluationInputs, scorer: ImageScorer, context: EvaluationContext) -> list[MetricRow]:
    """The watermark's detection rates per family, clean and edited, its false positives on the unseen real images,
    and its FID cost: the first QUALITY_COST_SAMPLES samples against the same draws unmarked (the same seed)."""
    key = context.watermark_key
    context.log("watermark: detection on the samples, clean and edited, and on the unseen real images")
    rows = [false_positive_row(UNSEEN_REAL, image_p_values(inputs.unseen.pixels, key))]
    for family, samples in inputs.samples.items():
        rows += image_detection_rows(family, samples, key, context.seed)
    for family in context.families:
        model, _ = context.load_model(family, context.contests[family].challenger)
        count = min(QUALITY_COST_SAMPLES, len(inputs.samples[family]))
        unmarked = image_samples(model, count, context.seed)
        marked = inputs.samples[family][:count]
        if not np.allclose(mark_images(unmarked, key), marked, atol=1e-4):
            context.log(f"{family}: its stored samples are not tonight's draws of the seed (another device?); the "
                        "mark's FID cost compares them with fresh unmarked draws")
        cost = scorer.compare(scorer.embed(marked), scorer.embed(unmarked), True, (f"fid{scorer.suffix}",))
        rows.append(MetricRow.of(family, f"mark_fid_cost{scorer.suffix}", cost[f"fid{scorer.suffix}"]))
    return rows


def likelihood_bounds(test_pixels: np.ndarray, context: EvaluationContext) -> tuple[list[MetricRow], list[Comparison]]:
    """The nll_bound row of every family that has a likelihood bound, and its challenger's paired difference
    with each earlier version on the same test images (the same seed for every version's latent draws)."""
    images, rows, comparisons = torch.from_numpy(test_pixels), [], []

    def bits(family: str, version: str) -> np.ndarray | None:
        loaded = (context.load_model(family, version) if version == context.contests[family].challenger
                  else context.load_earlier(family, version))
        if loaded is None:
            return None
        model, manifest = loaded
        if manifest["data"]["shape"] != image_shape(test_pixels):
            context.log(f"{family} version {version} was trained on images of another shape; no likelihood bound")
            return None
        nats = model.negative_log_likelihood_bound(images, torch.Generator().manual_seed(context.seed))
        return None if nats is None else bound_bits_per_dim(nats, test_pixels.shape[1:])

    for family in context.families:
        contest = context.contests[family]
        challenger = bits(family, contest.challenger)
        if challenger is None:
            continue
        context.log(f"{family}: likelihood bound of its challenger and earlier versions on the test images")
        rows.append(bound_row(family, challenger))
        for version in contest.baselines:
            if (earlier := bits(family, version)) is not None:
                comparisons.append(Comparison.of(family, family, version, BOUND,
                                                 bound_difference(challenger, earlier, context.seed)))
    return rows, comparisons


def read_classifier_data(con) -> ClassifierData:
    return ClassifierData(read_image_split(con, "train"), read_image_split(con, "test"), len(image_class_names(con)),
                          dataset_info(con, ImageModality.name)["data_version"])


IMAGE = ImageModality()
