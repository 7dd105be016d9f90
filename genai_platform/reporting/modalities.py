"""What the reports show differently for images and text, in one object per modality.

evaluation.image.ImageModality and evaluation.text.TextModality hold theirs as `report`: what
to read for the sample gallery, how to build it, and the texts of model cards and datasheets
that differ by modality. The rest of reporting never asks "image or text?".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from genai_platform.datasets.images import DEFAULT_IMAGE_DISTRIBUTION, DEFAULT_IMAGE_SOURCE
from genai_platform.datasets.provenance import USER_SOURCE_DISTRIBUTION
from genai_platform.datasets.text import DEFAULT_TEXT_DISTRIBUTION, DEFAULT_TEXT_SOURCE
from genai_platform.metrics.catalog import subject_label
from genai_platform.reporting.plots import class_histograms, image_grid, quality_diversity
from genai_platform.store.tables import image_class_names, read_image_samples, read_image_split, read_text_samples

GRID_IMAGES = 64
TEXT_EXAMPLES = 8
CLASS_SHARES_ALT = "Share of each class among generated and training images"


@dataclass(frozen=True)
class Figure:
    uri: str  # a data: URI (reports make no external requests)
    alt: str
    caption: str


@dataclass(frozen=True)
class ClosestPairs:
    """A family's samples most like one training image (top row) above that image (bottom row)."""
    title: str
    uri: str
    ratios: list[float]  # d1/d2 of each pair, left to right


@dataclass(frozen=True)
class TextSample:
    prompt: str
    reference: str  # the true continuation
    text: str


@dataclass(frozen=True)
class FamilyTexts:
    title: str
    continuations: list[TextSample]  # of held-out prompts
    free: list[str]


@dataclass(frozen=True)
class Signatures:
    """The exact configuration of a scoring tool per family (sacreBLEU's signature)."""
    tool: str
    by_family: dict[str, str]


@dataclass(frozen=True)
class Representation:
    """The ethics report's picture of what a modality's samples represent."""
    intro: str
    figure: Figure


@dataclass(frozen=True)
class ModalityParts:
    """What one modality adds to the reports beside the tables every modality has."""
    evaluation_note: str | None = None  # the run manifest's words on how the samples were scored
    signatures: Signatures | None = None
    figures: list[Figure] = field(default_factory=list)  # shown after the training curves
    grids: list[Figure] = field(default_factory=list)
    closest_pairs: list[ClosestPairs] = field(default_factory=list)
    texts: list[FamilyTexts] = field(default_factory=list)
    representation: Representation | None = None


@dataclass(frozen=True)
class CardTexts:
    """The parts of a model card that differ by modality."""
    limitations: str
    trade_offs: str
    memorization_measured: str
    misinformation: str
    discrimination: str
    judged_nightly: str  # the bias values judged against thresholds every night


class ModalityReport(ABC):
    """A modality's report parts: `read` (called by inputs.py, which does all other reading) and a pure `build`."""
    card: ClassVar[CardTexts]
    preprocessing: ClassVar[str]  # the datasheet's words on what preprocessing did
    bundled_source: ClassVar[str]
    bundled_distribution: ClassVar[str]  # licence and origin of the bundled source

    def distribution(self, source: str) -> str:
        """The datasheet's distribution line of `source`."""
        return self.bundled_distribution if source == self.bundled_source else USER_SOURCE_DISTRIBUTION

    @abstractmethod
    def read(self, con, details: dict, families: list[str]):
        """What the gallery shows, from DuckDB and the evaluation's details (evaluation/<modality>.json)."""

    @abstractmethod
    def build(self, inputs, titles: dict[str, str]) -> ModalityParts:
        """The gallery and plots from what `read` returned; titles: family name -> title."""


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
    bundled_source, bundled_distribution = DEFAULT_IMAGE_SOURCE, DEFAULT_IMAGE_DISTRIBUTION

    def read(self, con, details: dict, families: list[str]) -> ImageGalleryInputs:
        train = read_image_split(con, "train").pixels
        samples, pairs = {}, {}
        for family in families:
            images = read_image_samples(con, family)
            samples[family] = images[:GRID_IMAGES]
            picked = details.get("closest_pairs", {}).get(family)
            if picked:
                pairs[family] = ClosestPairImages(images[[p["sample"] for p in picked]],
                                                  train[[p["train"] for p in picked]], [p["ratio"] for p in picked])
        return ImageGalleryInputs(train[:GRID_IMAGES], samples, pairs, details.get("class_histograms") or {},
                                  image_class_names(con), details.get("sample_count"),
                                  details.get("feature_extractor", "classifier"))

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


@dataclass(frozen=True)
class TextGalleryInputs:
    continuations: dict[str, list[TextSample]]  # family -> its first TEXT_EXAMPLES continuations of held-out prompts
    free: dict[str, list[str]]  # family -> its first TEXT_EXAMPLES free samples
    bleu_signatures: dict[str, str]
    sweeps: dict[str, list[dict]]  # family -> {temperature, bleu, self_bleu} per sampling temperature


@dataclass(frozen=True)
class TextReport(ModalityReport):
    sweep_bleu: int  # the BLEU order of the quality-diversity sweep
    sweep_temperatures: tuple[float, ...]

    card = CardTexts(
        limitations="A small character-level model writes locally plausible but often ungrammatical text; BLEU "
        "against a single reference understates valid continuations.",
        trade_offs="Quality against diversity: lower sampling temperature raises BLEU and Self-BLEU together (the "
        "quality-diversity plot in the comparison report); the reported samples use temperature 1.",
        memorization_measured="verbatim training 8-grams, words inside training 4-grams beyond held-out text's "
        "share (text stitched from training phrases) and extraction of training continuations",
        misinformation="generated news-like text can read as factual; it is not.",
        discrimination="the model can reproduce or amplify the gender skew of its training text; see the "
        "representation, association, amplification and sentiment-gap figures.",
        judged_nightly="amplification")
    preprocessing = ("Unicode NFC, whitespace collapsed, empty and duplicate documents removed, split 80/10/10 by "
                     "document hash (genai_platform/store/sql/text_corpus.sql).")
    bundled_source, bundled_distribution = DEFAULT_TEXT_SOURCE, DEFAULT_TEXT_DISTRIBUTION

    def read(self, con, details: dict, families: list[str]) -> TextGalleryInputs:
        continuations, free = {}, {}
        for family in families:
            samples = read_text_samples(con, family)
            continuations[family] = [TextSample(s["prompt"], s["reference"], s["text"])
                                     for s in samples if s["kind"] == "continuation"][:TEXT_EXAMPLES]
            free[family] = [s["text"] for s in samples if s["kind"] == "free"][:TEXT_EXAMPLES]
        return TextGalleryInputs(continuations, free, details.get("bleu_signatures") or {},
                                 details.get("quality_diversity") or {})

    def build(self, inputs: TextGalleryInputs, titles: dict[str, str]) -> ModalityParts:
        figures, temperatures = [], self.sweep_temperatures
        if inputs.sweeps:
            figures = [Figure(
                quality_diversity(inputs.sweeps, self.sweep_bleu),
                f"BLEU-{self.sweep_bleu} against the test set plotted against Self-BLEU-{self.sweep_bleu} for each "
                f"text family at sampling temperatures {temperatures[0]} to {temperatures[-1]}",
                f"Quality-diversity sweep: free samples at temperatures {', '.join(map(str, temperatures))} (up and "
                f"to the left is better).")]
        return ModalityParts(
            signatures=Signatures("sacrebleu signature", inputs.bleu_signatures) if inputs.bleu_signatures else None,
            figures=figures,
            texts=[FamilyTexts(titles[f], inputs.continuations[f], inputs.free[f]) for f in inputs.continuations])
