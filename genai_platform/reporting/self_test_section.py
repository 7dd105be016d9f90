"""The metric self-test panel in the comparison report: typed objects built from the panel JSON that
the `<modality>_metric_self_test` assets write (evaluation.self_test_panel.Panel.as_dict), which
_selftest.html.j2 only renders. A run from before the self-test has no panel: the section says so."""

from __future__ import annotations

from dataclasses import dataclass

from genai_platform.records import Estimate


def panel_details_name(modality: str) -> str:
    """The details name (ArtifactStore.details_path) of a modality's panel JSON."""
    return f"{modality}_selftest"


@dataclass(frozen=True)
class PanelCheck:
    kind: str  # "order", "copy", "fails", "passes"
    better: str
    worse: str | None
    status: str  # "pass", "fail", "too few", "not judged"
    message: str


@dataclass(frozen=True)
class PanelMetric:
    metric: str
    label: str
    arrow: str
    purpose: str
    values: dict[str, Estimate | None]  # case -> value
    ranks: dict[str, int]  # case -> rank, 1 = best
    checks: list[PanelCheck]

    @property
    def violations(self) -> list[PanelCheck]:
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
    def violations(self) -> list[tuple[str, PanelCheck]]:
        return [(m.label, c) for m in self.metrics for c in m.violations]

    @property
    def counts(self) -> dict[str, int]:
        statuses = [c.status for m in self.metrics for c in m.checks]
        return {status: statuses.count(status) for status in ("pass", "fail", "too few", "not judged")}


def _value(data: dict | None) -> Estimate | None:
    return None if data is None else Estimate(data["value"], data["count"], data.get("ci_low"), data.get("ci_high"))


def build_self_test(modality: str, data: dict | None) -> SelfTestPanel:
    """The panel of one modality from its JSON (None: missing)."""
    if not data:
        return SelfTestPanel(modality, False, None, None, None, "", [], [], [])
    metrics = []
    for m in data["metrics"]:
        metrics.append(PanelMetric(
            m["metric"], m["label"], m["arrow"], m["purpose"], {case: _value(v) for case, v in m["values"].items()},
            {case: i + 1 for i, case in enumerate(m["ranking"])},
            [PanelCheck(c["kind"], c["better"], c.get("worse"), c["status"], c["message"]) for c in m["checks"]]))
    return SelfTestPanel(modality, True, data.get("run_id"), data.get("status"), data.get("sample_size"),
                         data.get("reference", ""), [PanelCase(c["name"], c["description"]) for c in data["cases"]],
                         metrics, list(data.get("notes", [])))


def build_self_tests(panels: dict[str, dict | None]) -> list[SelfTestPanel]:
    """Every modality's panel, in the given order (modality -> its JSON or None)."""
    return [build_self_test(modality, data) for modality, data in panels.items()]
