"""The report part of a modality (ModalityReport) and the report pieces it builds.

Each modality plug-in (genai_platform.modalities) holds its report part as `report`: what to read for
the sample gallery, how to build it, and the texts of model cards and datasheets that differ by
modality. The rest of reporting never asks "image or text?".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar


from genai_platform.datasets.provenance import USER_SOURCE_DISTRIBUTION

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
    bundled_distributions: ClassVar[dict[str, str]]  # bundled source -> its licence and origin

    def distribution(self, source: str) -> str:
        """The datasheet's distribution line of `source`."""
        return self.bundled_distributions.get(source, USER_SOURCE_DISTRIBUTION)

    @abstractmethod
    def read(self, con, details: dict, families: list[str]):
        """What the gallery shows, from DuckDB and the evaluation's details (evaluation/<modality>.json)."""

    @abstractmethod
    def build(self, inputs, titles: dict[str, str]) -> ModalityParts:
        """The gallery and plots from what `read` returned; titles: family name -> title."""


