"""What a webhook is told about a run."""

from __future__ import annotations

from genai_platform.reporting.report import Report


def alert_text(report: Report) -> str | None:
    """A run's failing and warning findings, regressions and self-test violations, one line each; None when
    there is nothing to tell."""
    lines = [f"{f.model} {f.label}: {f.status} ({f.estimate.text()})"
             for s in report.modalities for f in s.findings if f.status in ("warn", "fail")]
    lines += [f"{t.model} {t.label}: regressed, {t.change.estimate.text()} against its champion"
              for s in report.modalities for t in s.regressions]
    lines += [f"self-test {panel.modality}: {label}: {check.message}"
              for panel in report.self_tests for label, check in panel.violations]
    if not lines:
        return None
    return f"genai-platform run {report.run.run_id}: status {report.status.upper()}\n" + "\n".join(lines)
