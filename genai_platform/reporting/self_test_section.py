"""The metric self-test panel in the comparison report: the panel the `<modality>_metric_self_test` assets
write (evaluation.self_test_panel.Panel, read back from its JSON) as the section _selftest.html.j2 only
renders: labels, arrows and ranks added. A run from before the self-test has no panel: the section says so."""

from __future__ import annotations

from dataclasses import dataclass

from genai_platform.evaluation.self_test_panel import PairCheck, Panel
from genai_platform.metrics.catalog import info
from genai_platform.records import Estimate


def panel_details_name(modality: str) -> str:
    """The details name (ArtifactStore.details_path) of a modality's panel JSON."""
    return f"{modality}_selftest"


@dataclass(frozen=True)
class PanelMetric:
    metric: str
    label: str
    arrow: str
    purpose: str
    values: dict[str, Estimate | None]  # case -> value
    ranks: dict[str, int]  # case -> rank, 1 = best
    checks: list[PairCheck]

    @property
    def violations(self) -> list[PairCheck]:
        return [c for c in self.checks if c.status == "fail"]

    def status(self, case: str) -> str:
        """The worst verdict of the checks naming this case: "fail", "pass" or "" (none judged)."""
        statuses = {c.status for c in self.checks if case in (c.better, c.worse)}
        return "fail" if "fail" in statuses else "pass" if "pass" in statuses else ""


@dataclass(frozen=True)
class PanelCase:
    name: str
    description: str


@dataclass(frozen=True)
class SelfTestPanel:
    modality: str
    present: bool  # False: no panel file (a run from before the self-test, or the asset has not run)
    run_id: str | None
    status: str | None
    sample_size: int | None
    reference: str
    cases: list[PanelCase]
    metrics: list[PanelMetric]
    notes: list[str]

    @property
    def violations(self) -> list[tuple[str, PairCheck]]:
        return [(m.label, c) for m in self.metrics for c in m.violations]

    @property
    def counts(self) -> dict[str, int]:
        statuses = [c.status for m in self.metrics for c in m.checks]
        return {status: statuses.count(status) for status in ("pass", "fail", "too few", "not judged")}


def build_self_test(modality: str, data: dict | None) -> SelfTestPanel:
    """The panel of one modality from the JSON its self-test wrote (Panel.as_dict; None: missing)."""
    if not data:
        return SelfTestPanel(modality, False, None, None, None, "", [], [], [])
    panel = Panel.from_dict(data)
    metrics = [PanelMetric(m.metric, info(m.metric).label, info(m.metric).arrow, m.purpose,
                           {case: None if row is None else row.estimate for case, row in m.values.items()},
                           {case: rank for rank, case in enumerate(m.ranking, start=1)}, m.checks)
               for m in panel.metrics]
    return SelfTestPanel(modality, True, data.get("run_id"), panel.status, panel.sample_size, panel.reference,
                         [PanelCase(name, text) for name, text in panel.cases.items()], metrics, panel.notes)


def build_self_tests(panels: dict[str, dict | None]) -> list[SelfTestPanel]:
    """Every modality's panel, in the given order (modality -> its JSON or None)."""
    return [build_self_test(modality, data) for modality, data in panels.items()]
