"""Findings: each family's bias and memorization values judged against their thresholds."""

from __future__ import annotations

from dataclasses import dataclass

from genai_platform.metrics.catalog import INTERVAL_KINDS, info
from genai_platform.records import Estimate, MetricRow
from genai_platform.verdicts.thresholds import Threshold, judge


@dataclass(frozen=True)
class Finding:
    """A family's bias or memorization value judged against its threshold."""
    model: str
    metric: str
    label: str
    estimate: Estimate
    status: str  # analysis.STATUSES or analysis.TOO_FEW
    interval_kind: str  # how the estimate's interval is computed (catalog.INTERVAL_KINDS)


def findings(rows: list[MetricRow], limits: dict[str, Threshold]) -> list[Finding]:
    """Each family's values of the thresholded metrics judged pass / warn / fail."""
    return [Finding(r.subject, r.metric, info(r.metric).label, r.estimate,
                    judge(r.metric, r.value, r.sample_count, limits[r.metric], r.ci_low, r.ci_high),
                    INTERVAL_KINDS[r.metric])
            for r in rows if r.role == "model" and r.metric in limits]


def failing(section_findings: list[Finding]) -> dict[str, str]:
    """Family -> its failing findings as text, for the families that have one."""
    out: dict[str, list[str]] = {}
    for f in section_findings:
        if f.status == "fail":
            out.setdefault(f.model, []).append(f"{f.label} {f.estimate.text()}")
    return {model: "; ".join(texts) for model, texts in out.items()}
