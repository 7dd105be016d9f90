"""A test-only third modality: 1-D signals (rows of numbers in an .npz), with one family.

It is one Modality plug-in (its sources, raw table, SQL preprocessing in toy_modality_sql/, training data,
sampling, sample table, scoring, report part), one family, one metric and one reference row, all declared
here through the platform's registration functions; test_toy_modality.py shows them ingested, trained,
sampled, evaluated, gated and reported with no edit of the platform.
"""

from __future__ import annotations

import io
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from torch import nn
from toy_family import PixelGaussian, ToyConfig, toy_training

from genai_platform.datasets.datasets_file import Sources
from genai_platform.datasets.provenance import Provenance, SourceFile, outside
from genai_platform.errors import DataError
from genai_platform.evaluation.results import Details, Evaluation, compare_families
from genai_platform.families.registry import Family
from genai_platform.files import write_atomic
from genai_platform.marking.credentials import sidecar_json, sidecar_path
from genai_platform.metrics.catalog import MetricInfo, ReferenceInfo
from genai_platform.metrics.comparisons import difference
from genai_platform.metrics.intervals import jackknife
from genai_platform.modalities.base import Contest, EvaluationContext, Modality, TrainingData, contest_sample_runs
from genai_platform.models.base import TrainableModel
from genai_platform.records import MetricRow
from genai_platform.reporting.modality_parts import CardTexts, ModalityParts, ModalityReport
from genai_platform.store.preprocessing import SqlPreprocessing
from genai_platform.store.sql import SqlFolder, arrow_table
from genai_platform.store.tables import dataset_info, start_sample_run
from genai_platform.training.batches import BatchSampler

SQL = SqlFolder(Path(__file__).with_name("toy_modality_sql"), "tests/toy_modality_sql")
SAMPLES = 120  # signals drawn per family version
METRIC, FLOOR = "spectral_distance", "unseen_signals"
SPECTRAL_DISTANCE = MetricInfo(
    "Spectral distance", "lower", "L1 distance between the mean normalised power spectrum of the samples and that "
    "of the val split's signals.", "a test-only metric", "fidelity and diversity")
SPECTRAL_INTERVAL = ("The expected spectral distance of a sample set of this size against the val split (held "
                     "fixed): delete-a-group jackknife t interval over the samples.")
UNSEEN_SIGNALS = ReferenceInfo("reference", "real unseen signals (floor)", "The test split's signals scored as samples.")


@dataclass
class RawSignals:
    values: np.ndarray  # [N, length] float32
    provenance: Provenance
    notes: list[str] = field(default_factory=list)


class SignalGenerator(TrainableModel):
    """What every family of the signal modality meets."""

    @abstractmethod
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, length] signals."""


class SignalGaussian(SignalGenerator):
    """Independent Gaussian values per time step, with a learned mean and scale (the toy family's loss)."""

    def __init__(self, config: ToyConfig, length: int):
        super().__init__()
        self.config = config
        self.mean = nn.Parameter(torch.zeros(length))
        self.log_scale = nn.Parameter(torch.full((length,), config.initial_log_scale))

    training_loss = PixelGaussian.training_loss

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(n, self.mean.shape[0], generator=generator)
        return self.mean.cpu() + noise * self.log_scale.exp().cpu()


def spectra(signals: np.ndarray) -> np.ndarray:
    """Each signal's power spectrum, normalised to sum to 1."""
    power = np.abs(np.fft.rfft(signals, axis=1)) ** 2
    return power / np.maximum(power.sum(axis=1, keepdims=True), 1e-12)


class SignalReport(ModalityReport):
    card = CardTexts(limitations="A test-only model of independent values per time step.",
                     trade_offs="None measured.", memorization_measured="none",
                     misinformation="none: the signals are synthetic.", discrimination="none: no people are involved.",
                     judged_nightly="nothing")
    preprocessing = "Deduplicated and split 80/10/10 by the hash of the values (tests/toy_modality_sql/signals.sql)."
    bundled_distributions = {}

    def read(self, con, details: dict, families: list[str]) -> None:
        return None

    def build(self, inputs, titles: dict[str, str]) -> ModalityParts:
        return ModalityParts(evaluation_note="Signals are scored by their power spectra against the val split.")


@dataclass
class SignalEvaluationInputs:
    val: np.ndarray
    test: np.ndarray
    samples: dict[str, np.ndarray]  # family -> its challenger's samples
    earlier: dict[str, dict[str, np.ndarray]]  # family -> {earlier version: its samples}


def read_split(con, split: str) -> np.ndarray:
    return _signals(arrow_table(con, SQL.statement("signals", "split"), {"split": split}))


def _signals(table: pa.Table) -> np.ndarray:
    return np.array(table.column("samples").to_pylist(), dtype=np.float32)


class SignalModality(Modality):
    name = "signal"
    sources = Sources("GENAI_SIGNAL_SOURCE", None, "an .npz file with 'signals', one signal per row")
    raw_asset = "raw_signals"
    data_asset = "signals"
    preprocessing = SqlPreprocessing("signals", "signals_checks", "raw_signals", {
        "non_empty": "train and test splits both have rows", "finite": "every value is finite",
        "one_length": "every signal has the same length"}, SQL)
    leaderboard_metrics = (METRIC,)
    gate_metrics = (METRIC,)
    report = SignalReport()
    generator_type = SignalGenerator
    sample_suffix = ".npy"

    def load_raw(self, source: str, options: Mapping[str, str], allowed: tuple[Path, ...]) -> RawSignals:
        path = Path(source).expanduser().resolve()
        if problem := outside(path, allowed):
            raise DataError(problem)
        with np.load(path) as archive:
            if "signals" not in archive or archive["signals"].ndim != 2:
                raise DataError(f"{path}: expected an array 'signals' of shape [N, length]")
            values = archive["signals"].astype(np.float32)
        return RawSignals(values, Provenance(str(path), f"{len(values)} signals", [SourceFile.of(path)], len(values)))

    def write_raw(self, con, raw: RawSignals) -> None:
        con.register("raw_signals_arrow", pa.table({"row_id": np.arange(len(raw.values), dtype=np.int32),
                                                    "samples": list(raw.values)}))
        try:
            con.execute(SQL.statement("raw_signals", "create"))
        finally:
            con.unregister("raw_signals_arrow")

    def raw_summary(self, raw: RawSignals) -> tuple[str, dict]:
        return f"ingested {len(raw.values)} signals", {"length": raw.values.shape[1]}

    def load_training_data(self, con) -> TrainingData:
        train = read_split(con, "train")
        return TrainingData({"length": train.shape[1]}, torch.from_numpy(train), dataset_info(con, self.name)["data_version"])

    def batches(self, data: torch.Tensor, model_config) -> BatchSampler:
        def draw(generator, batch_size, shard):
            return data[shard.take(torch.randint(data.shape[0], (batch_size,), generator=generator)).to(data.device)]
        return BatchSampler(draw, examples=data.shape[0], unit="signals")

    def examples_per_step(self, batch_size: int, model_config: dict) -> tuple[int, str]:
        return batch_size, "signals/s"

    def read_sampling_inputs(self, con) -> None:
        return None

    def draw_samples(self, model, manifest, inputs, profile, seed: int, key) -> np.ndarray:
        """Signals have no mark of their own: the key goes unused."""
        return model.sample(SAMPLES, torch.Generator().manual_seed(seed)).numpy()

    def store_samples(self, con, family: str, run_id: str, version: str, fingerprint: str, samples) -> None:
        start_sample_run(con, self.name, family, run_id, version, fingerprint, self.drop_sample_sets)
        con.register("signal_samples_arrow", pa.table({"sample_index": np.arange(len(samples), dtype=np.int32),
                                                       "samples": list(np.asarray(samples, np.float32))}))
        try:
            con.execute(SQL.statement("signal_samples", "insert"), {"family": family, "run_id": run_id})
        finally:
            con.unregister("signal_samples_arrow")

    def drop_sample_sets(self, con, family: str, runs: list[str]) -> None:
        con.execute(SQL.statement("signal_samples", "create"))
        con.execute(SQL.statement("signal_samples", "drop"), {"family": family, "runs": runs})

    def write_samples(self, model, manifest: dict, count: int, seed: int, path: Path, key, credentials) -> list[Path]:
        buffer = io.BytesIO()
        np.save(buffer, model.sample(count, torch.Generator().manual_seed(seed)).numpy())
        return [write_atomic(path, buffer.getvalue()), write_atomic(sidecar_path(path), sidecar_json(credentials, count))]

    def read_evaluation_inputs(self, con, contests: dict[str, Contest]) -> SignalEvaluationInputs:
        def samples(family, run):
            return _signals(arrow_table(con, SQL.statement("signal_samples", "read"), {"family": family, "run_id": run}))
        runs = {family: contest_sample_runs(con, self.name, family, contest) for family, contest in contests.items()}
        return SignalEvaluationInputs(
            read_split(con, "val"), read_split(con, "test"),
            {family: samples(family, challenger) for family, (challenger, _) in runs.items()},
            {family: {version: samples(family, run) for version, run in drawn.items()}
             for family, (_, drawn) in runs.items()})

    def evaluate(self, inputs: SignalEvaluationInputs, context: EvaluationContext) -> Evaluation:
        reference = spectra(inputs.val).mean(axis=0)

        def statistic(signals: np.ndarray):
            power = spectra(signals)
            return lambda rows: float(np.abs(power[rows].mean(axis=0) - reference).sum())

        def row(subject: str, signals: np.ndarray) -> MetricRow:
            return MetricRow.of(subject, METRIC, jackknife(statistic(signals), len(signals), context.seed, False))

        rows = [row(FLOOR, inputs.test)] + [row(family, inputs.samples[family]) for family in context.families]

        def compare(first: np.ndarray, second: np.ndarray, paired: bool) -> dict:
            return {METRIC: difference(METRIC, statistic(first), statistic(second), len(first), len(second),
                                       context.seed, paired)}

        return Evaluation(rows, Details(), compare_families(compare, inputs.samples, inputs.earlier, context.log))


SIGNAL = SignalModality()


def _build(config: ToyConfig, data: dict) -> SignalGaussian:
    return SignalGaussian(config, data["length"])


_build.model_class = SignalGaussian  # whose module the family's code version covers

SIGNAL_FAMILY = Family(
    name="signal_gaussian", modality=SIGNAL, title="Signal Gaussian",
    description="Independent Gaussian values per time step (a test-only family of the test-only signal modality).",
    config_type=ToyConfig, build=_build,
    profiles={"smoke": (ToyConfig(), toy_training(20)), "default": (ToyConfig(), toy_training(200)),
              "full": (ToyConfig(), toy_training(2000))})


def sine_waves(count: int, length: int, seed: int) -> np.ndarray:
    """Noisy sine waves of random frequency and phase: data the test builds."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frequency, phase = rng.uniform(0.05, 0.15, (count, 1)), rng.uniform(0, 2 * np.pi, (count, 1))
    return (np.sin(2 * np.pi * frequency * t + phase) + 0.1 * rng.standard_normal((count, length))).astype(np.float32)
