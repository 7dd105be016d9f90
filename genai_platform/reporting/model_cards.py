"""Model cards (Mitchell et al., 2019) of the trained families and the datasheet of each modality's dataset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from genai_platform.marking.credentials import GENERATOR, TRAINED_ALGORITHMIC_MEDIA
from genai_platform.metrics.catalog import INTERVAL_KINDS, info
from genai_platform.records import Estimate
from genai_platform.reporting.findings import Finding
from genai_platform.reporting.inputs import Dataset, FamilyDescription, ModalityInputs, TrainedModel
from genai_platform.reporting.modality_parts import CardTexts


@dataclass(frozen=True)
class Datasheet:
    modality: str
    dataset: Dataset
    preprocessing: str
    distribution: str


@dataclass(frozen=True)
class CardMetric:
    metric: str
    label: str
    estimate: Estimate
    interval_kind: str  # catalog.INTERVAL_KINDS


@dataclass(frozen=True)
class EthicalConsideration:
    name: str
    description: str
    mitigation: str


@dataclass(frozen=True)
class ModelCard:
    family: FamilyDescription
    model: TrainedModel
    dataset: Dataset
    win_rate: float | None
    findings: list[Finding]
    metrics: list[CardMetric]
    texts: CardTexts

    @property
    def intended_use(self) -> str:
        return (f"Research and monitoring of generative modelling on {self.dataset.source} inside this platform, "
                "comparing families night over night.")

    intended_users: ClassVar[str] = "ML engineers and reviewers of this platform's nightly runs."
    out_of_scope: ClassVar[str] = ("Producing content shown to people without review, any decision about a person, "
                                   "and any use of the samples as real data.")

    @property
    def limitations(self) -> str:
        return (f"{self.texts.limitations} Trained {self.model.steps} steps on one dataset with one seed; the "
                "intervals cover sampling noise, not seed-to-seed variation.")

    @property
    def mark_detection(self) -> Estimate | None:
        """Tonight's share of this family's samples in which the watermark is found; None: no mark measured."""
        return next((m.estimate for m in self.metrics if m.metric == "mark_detection"), None)

    @property
    def provenance(self) -> dict[str, str | float | None]:
        """What every sample file of this family says about itself (marking/credentials.py), and how often the
        watermark is found in its samples."""
        detection = self.mark_detection
        return {"generator": GENERATOR, "digital_source_type": TRAINED_ALGORITHMIC_MEDIA,
                "file_fields": "family, version, run_id, dataset, created (PNG text chunks and XMP; a sidecar "
                               "<file>.json beside text and .npz files)",
                "watermark": "keyed by the deployment's GENAI_WATERMARK_KEY; genai-platform detect finds it",
                "watermark_detection_rate": None if detection is None else detection.value}

    @property
    def misinformation_mitigation(self) -> str:
        detection = self.mark_detection
        found = ("" if detection is None else
                 f" (found tonight in {detection.value:.0%} of its samples at 1% false positives)")
        return (f"Every sample carries this deployment's watermark{found}, and every sample file says it is "
                "machine-made (IPTC trainedAlgorithmicMedia) and which model made it; the ethics report's "
                "Misinformation and provenance section gives how well the mark survives edits. Do not publish "
                "samples unlabelled or stripped of their provenance.")

    @property
    def ethical_considerations(self) -> list[EthicalConsideration]:
        texts = self.texts
        return [
            EthicalConsideration(
                "Privacy and memorization", "Generative models can reproduce training items verbatim; the training "
                f"data here is public, but a user's own data may not be. Measured: {texts.memorization_measured}, "
                "judged against thresholds.", "The run fails the finding above the fail threshold; review the "
                "closest pairs in the comparison report, and do not train on private data without deduplication "
                "and a memorization check at the user's own thresholds."),
            EthicalConsideration("Misinformation", texts.misinformation, self.misinformation_mitigation),
            EthicalConsideration("Discrimination", texts.discrimination,
                                 f"{texts.judged_nightly[:1].upper()}{texts.judged_nightly[1:]} are judged against "
                                 "thresholds every night; a warn or fail should block use of the model's samples "
                                 "until reviewed."),
        ]


def model_cards(inputs: ModalityInputs, win_rates: dict[str, float | None], findings: list[Finding]) -> list[ModelCard]:
    """A card per family of the modality: its ranked win rate (`win_rates`, family -> it), its findings
    and every metric of this run."""
    return [ModelCard(f, inputs.models[f.name], inputs.dataset, win_rates.get(f.name),
                      [finding for finding in findings if finding.model == f.name],
                      [CardMetric(r.metric, f"{info(r.metric).label} {info(r.metric).arrow}".strip(), r.estimate,
                                  INTERVAL_KINDS[r.metric])
                       for r in inputs.rows if r.subject == f.name],
                      inputs.modality.report.card)
            for f in inputs.families]
