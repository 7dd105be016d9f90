"""What differs between image and text, in one object per modality.

A Modality loads its training data, draws and stores a family's samples, and evaluates
every family of its kind. The Dagster assets and the reports hold a modality object and call
these methods; they never ask "image or text?" themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from genai_platform.evaluation.profiles import EvaluationProfile
from genai_platform.metrics.catalog import REFERENCES
from genai_platform.models.base import TrainableModel
from genai_platform.records import Comparison, MetricRow
from genai_platform.reporting.modalities import ModalityReport
from genai_platform.training.batches import BatchSampler


@dataclass
class TrainingData:
    """A modality's train split as the training step needs it."""
    description: dict  # stored in the model manifest; the family's builder reads it (image shape, vocabulary)
    tensor: torch.Tensor
    version: str


@dataclass
class EvaluationContext:
    """What an evaluation needs besides the data: trained models, settings, a log."""
    families: list[str]
    load_model: Callable[[str], tuple[TrainableModel, dict]]  # a family's trained model (eval mode) and manifest
    model_dir: Callable[[str], Path]  # where trained models live, the image feature extractor among them
    profile: EvaluationProfile
    seed: int
    device: torch.device
    feature_space: str  # image distribution metrics: "classifier" or "inception"
    log: Callable[[str], None]


@dataclass
class Evaluation:
    """What a modality's evaluation records: metrics_history rows, the reports' plot details, and the
    paired comparisons of its families (with each other and with their previous run)."""
    rows: list[MetricRow]
    details: dict
    comparisons: list[Comparison]


def compare_families(compare: Callable, current: dict, previous: dict, previous_runs: dict[str, str],
                     log: Callable[[str], None]) -> list[Comparison]:
    """compare(first, second, paired) -> {metric: difference estimate} for every pair of this run's
    families (each pair once, in name order; independent sets) and for each family against its
    previous run's samples (`previous`, drawn with the same seeds, so paired)."""
    comparisons = []
    names = sorted(current)
    for i, subject in enumerate(names):
        for baseline in names[i + 1:]:
            comparisons += [Comparison.of(subject, baseline, None, metric, estimate)
                            for metric, estimate in compare(current[subject], current[baseline], False).items()]
    for family, earlier in sorted(previous.items()):
        log(f"comparing {family} with its samples of run {previous_runs[family]}")
        comparisons += [Comparison.of(family, family, previous_runs[family], metric, estimate)
                        for metric, estimate in compare(current[family], earlier, True).items()]
    return comparisons


class Modality(ABC):
    name: str  # "image" or "text": the manifests' and metrics_history's modality column
    data_asset: str  # the preprocessing asset whose tables hold the splits
    evaluation_deps: tuple[str, ...] = ()  # assets besides the samples that the evaluation reads
    leaderboard_metrics: tuple[str, ...]  # the report's ranked columns, in order
    report: ModalityReport  # what the reports read, build and say for this modality
    generator_type: type[TrainableModel]  # the contract (models.base) every family model of this modality meets

    @abstractmethod
    def load_training_data(self, con) -> TrainingData:
        """The train split from DuckDB."""

    @abstractmethod
    def batches(self, data: torch.Tensor, model_config) -> BatchSampler:
        """The default batch sampler of a family of this modality (a family may bring its own)."""

    @abstractmethod
    def examples_per_step(self, batch_size: int, model_config: dict) -> tuple[int, str]:
        """What one training step consumes and its throughput unit (images/s, tokens/s)."""

    @abstractmethod
    def read_sampling_inputs(self, con):
        """What drawing samples needs from DuckDB (text: held-out prompts), read before any model runs."""

    @abstractmethod
    def draw_samples(self, model: TrainableModel, manifest: dict, inputs, profile: EvaluationProfile,
                     seed: int) -> Sequence:
        """A trained family's samples for evaluation and reports."""

    @abstractmethod
    def store_samples(self, con, family: str, run_id: str, samples: Sequence) -> None:
        """Store this run's samples of the family in DuckDB beside its previous run's (inside the
        caller's transaction)."""

    @abstractmethod
    def read_evaluation_inputs(self, con, families: list[str]):
        """Everything the evaluation reads from DuckDB: splits, every family's samples and, where kept,
        its previous run's."""

    @abstractmethod
    def evaluate(self, inputs, context: EvaluationContext) -> Evaluation:
        """metrics_history rows for every family and reference, the details the reports plot, and the
        families' paired comparisons."""

    def score(self, inputs, context: EvaluationContext) -> Evaluation:
        """evaluate(), with each row's role set from its subject (catalog.REFERENCES, else "model")."""
        evaluation = self.evaluate(inputs, context)
        for row in evaluation.rows:
            row.role = REFERENCES[row.subject].role if row.subject in REFERENCES else "model"
        return evaluation

