"""The modality contract: what differs between kinds of data, in one plug-in object per modality.

A Modality ingests its sources into a raw table, preprocesses it with its SQL (staged, checked, swapped
in), loads its training data, draws and stores a family's samples, evaluates every family of its kind, and
holds its report part and its metric self-test. The Dagster assets, the command line and the reports hold
a modality object and call these methods; they never ask "image or text?" themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from genai_platform.marking.credentials import SampleCredentials
from genai_platform.marking.key import WatermarkKey
from genai_platform.datasets.datasets_file import Sources
from genai_platform.datasets.provenance import Provenance
from genai_platform.errors import DamagedArtifact
from genai_platform.evaluation.profiles import EvaluationProfile
from genai_platform.evaluation.results import Evaluation
from genai_platform.evaluation.self_test_panel import Panel
from genai_platform.files import ArtifactPath
from genai_platform.metrics.catalog import REFERENCES
from genai_platform.models.base import TrainableModel
from genai_platform.reporting.modality_parts import ModalityReport
from genai_platform.store.preprocessing import SqlPreprocessing
from genai_platform.store.tables import version_sample_run
from genai_platform.training.batches import BatchSampler


class RawData(Protocol):
    """What a modality's load_raw returns: its own rows, and these."""
    provenance: Provenance  # every source file with its hash, the row count and the data version
    notes: list[str]  # what the loader converted or left out, for the log and the datasheet


@dataclass
class TrainingData:
    """A modality's train split as the training step needs it."""
    description: dict  # stored in the model manifest; the family's builder reads it (image shape, vocabulary)
    tensor: torch.Tensor
    version: str


@dataclass(frozen=True)
class Contest:
    """A family's model versions in tonight's evaluation: the challenger it scores, and the earlier versions
    the challenger is compared with: the champion (None: none yet, or the champion is the challenger) and the
    best version that ever served, where that is yet another version (the gate bounds drift from it)."""
    challenger: str
    champion: str | None
    best: str | None = None

    @property
    def baselines(self) -> list[str]:
        """The earlier versions to compare the challenger with: the champion first."""
        return [v for v in (self.champion, self.best) if v is not None]


def contest_sample_runs(con, modality: str, family: str, contest: Contest) -> tuple[str, dict[str, str]]:
    """The run that drew the challenger's sample set, and those of the earlier versions that have one
    (version -> run)."""
    challenger = version_sample_run(con, modality, family, contest.challenger)
    if challenger is None:
        raise LookupError(f"no samples of {family} version {contest.challenger}; materialize samples_{family} first")
    earlier = {version: version_sample_run(con, modality, family, version) for version in contest.baselines}
    return challenger.run_id, {version: drawn.run_id for version, drawn in earlier.items() if drawn is not None}


@dataclass
class EvaluationContext:
    """What an evaluation needs besides the data: trained models, settings, a log."""
    families: list[str]
    contests: dict[str, Contest]  # family -> its challenger and champion versions
    load_model: Callable[[str, str], tuple[TrainableModel, dict]]  # (family, version) -> model (eval mode), manifest
    model_dir: Callable[[str], ArtifactPath]  # where trained models live, the image feature extractor among them
    profile: EvaluationProfile
    seed: int
    device: torch.device
    feature_space: str  # image distribution metrics: "classifier" or "inception"
    log: Callable[[str], None]
    watermark_key: WatermarkKey  # the key that marked the samples (evaluation/marks.py measures the mark)

    def load_earlier(self, family: str, version: str) -> tuple[TrainableModel, dict] | None:
        """An earlier version's model and manifest, or None (logged) when its files are missing or damaged: it
        is then not compared, and the promotion step's checksum check deals with a damaged champion."""
        try:
            return self.load_model(family, version)
        except (FileNotFoundError, DamagedArtifact) as error:
            self.log(f"{family} version {version} cannot be loaded, so the challenger is not compared with it: {error}")
            return None


@dataclass(frozen=True)
class PanelSettings:
    model_dir: Callable[[str], ArtifactPath]
    device: torch.device
    seed: int
    feature_space: str  # "classifier" or "inception"
    log: Callable[[str], None]
    watermark_key: WatermarkKey  # the panel's marked cases are marked with it


class SelfTest(ABC):
    """A modality's metric self-test: generators whose order is known, scored by the modality's metrics on
    tonight's data (evaluation.self_test_panel)."""

    @abstractmethod
    def read(self, con):
        """The splits the panel is built from, read from DuckDB."""

    @abstractmethod
    def run(self, data, settings: PanelSettings) -> Panel:
        """The panel on `data` (what read() returned)."""


class Modality(ABC):
    name: str  # "image" or "text": the manifests' and metrics_history's modality column
    sources: Sources  # where its datasets come from: variable, bundled dataset, source settings
    raw_asset: str  # the ingestion asset, writing the raw table
    data_asset: str  # the preprocessing asset whose tables hold the splits
    preprocessing: SqlPreprocessing  # the SQL that stages, checks and swaps in the data asset's tables
    evaluation_deps: tuple[str, ...] = ()  # assets besides the samples that the evaluation reads
    leaderboard_metrics: tuple[str, ...]  # the report's ranked columns, in order
    gate_metrics: tuple[str, ...]  # default promotion gate: a challenger worse than its champion on one is not promoted
    report: ModalityReport  # what the reports read, build and say for this modality
    generator_type: type[TrainableModel]  # the contract (models.base) every family model of this modality meets
    self_test: SelfTest | None = None  # its metric self-test; None: the modality has none
    sample_suffix: str  # the file the command line writes samples to by default (write_samples)
    sampled_gate_metrics: tuple[str, ...] = ()  # gate metrics whose paired intervals narrow as more samples are drawn

    def sample_count(self, profile: EvaluationProfile) -> int | None:
        """Samples drawn per model version at `profile`; None (the default): the count cannot grow."""
        return None

    def with_sample_count(self, profile: EvaluationProfile, count: int | None) -> EvaluationProfile:
        """`profile` drawing `count` samples per version (sample_count's kind of count)."""
        return profile

    @abstractmethod
    def load_raw(self, source: str, options: Mapping[str, str], allowed: tuple[Path, ...]) -> RawData:
        """The data of `source` (options: its Sources.options by name), read and checked before anything is
        written; a source outside the `allowed` folders (when any) is refused."""

    @abstractmethod
    def write_raw(self, con, raw: RawData) -> None:
        """Replace the raw table with `raw`, keeping the previous one as <raw table>_previous until
        preprocessing accepts the new one (inside the caller's transaction)."""

    @abstractmethod
    def raw_summary(self, raw: RawData) -> tuple[str, dict]:
        """What was ingested: a line for the log and the ingestion asset's metadata (beyond provenance)."""

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
                     seed: int, key: WatermarkKey) -> Sequence:
        """A trained family's samples for evaluation and reports, carrying the mark of `key` (marking/) where
        the modality has a mark."""

    @abstractmethod
    def store_samples(self, con, family: str, run_id: str, version: str, fingerprint: str,
                      samples: Sequence) -> None:
        """Store this run's samples of a model version in DuckDB (inside the caller's transaction)."""

    @abstractmethod
    def drop_sample_sets(self, con, family: str, runs: list[str]) -> None:
        """Delete `family`'s sample sets drawn by `runs` from this modality's sample table."""

    @abstractmethod
    def write_samples(self, model: TrainableModel, manifest: dict, count: int, seed: int, path: Path,
                      key: WatermarkKey, credentials: SampleCredentials) -> list[Path]:
        """`count` free samples of a trained model as a file a person opens (the command line's sample), marked
        with `key` and carrying `credentials` (in the file or beside it); the files written."""

    @abstractmethod
    def read_evaluation_inputs(self, con, contests: dict[str, Contest]):
        """Everything the evaluation reads from DuckDB: splits, every challenger's samples and those of its
        earlier versions (Contest.baselines) that have samples."""

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
