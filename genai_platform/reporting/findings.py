"""Findings: each family's bias, memorization and watermark values judged against their thresholds, and the
watermark's false positives on held-out real data."""

from __future__ import annotations

from dataclasses import dataclass

from genai_platform.metrics.catalog import INTERVAL_KINDS, info, subject_label
from genai_platform.records import Estimate, MetricRow
from genai_platform.verdicts.thresholds import Threshold, judge


@dataclass(frozen=True)
class Finding:
    """A family's value (or a held-out data row's, for REFERENCE_FINDINGS) judged against its threshold."""
    model: str  # the family, or the reference's label
    metric: str
    label: str
    estimate: Estimate
    status: str  # analysis.STATUSES or analysis.TOO_FEW
    interval_kind: str  # how the estimate's interval is computed (catalog.INTERVAL_KINDS)


# metrics judged on held-out real data rather than on a family: the watermark key's false positives there
REFERENCE_FINDINGS = ("mark_false_positive_rate",)


def findings(rows: list[MetricRow], limits: dict[str, Threshold]) -> list[Finding]:
    """Each family's values of the thresholded metrics judged pass / warn / fail, and REFERENCE_FINDINGS'."""
    return [Finding(subject_label(r.subject), r.metric, info(r.metric).label, r.estimate,
                    judge(r.metric, r.value, r.sample_count, limits[r.metric], r.ci_low, r.ci_high),
                    INTERVAL_KINDS[r.metric])
            for r in rows if r.metric in limits and (r.role == "model" or r.metric in REFERENCE_FINDINGS)]


def failing(section_findings: list[Finding]) -> dict[str, str]:
    """Family -> its failing findings as text, for the families that have one."""
    out: dict[str, list[str]] = {}
    for f in section_findings:
        if f.status == "fail":
            out.setdefault(f.model, []).append(f"{f.label} {f.estimate.text()}")
    return {model: "; ".join(texts) for model, texts in out.items()}
