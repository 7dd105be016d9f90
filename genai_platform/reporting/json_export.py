"""The report's data and the model cards as JSON (report.json, model_cards.json): what other tools read
of a run (inputs.read_reported_families, the coverage check)."""

from __future__ import annotations

from dataclasses import asdict

from genai_platform.records import Estimate
from genai_platform.reporting.model_cards import CardMetric
from genai_platform.reporting.report import Report


def _estimate(estimate: Estimate | None) -> dict | None:
    """An estimate under the names report.json has always given it."""
    return None if estimate is None else {"value": estimate.value, "ci_low": estimate.ci_low,
                                          "ci_high": estimate.ci_high, "sample_count": estimate.count}


def report_data(report: Report) -> dict:
    """The report's data as JSON: status, and per modality the leaderboard and the findings."""
    return {"run_id": report.run.run_id, "status": report.status, "counts": asdict(report.counts),
            "modalities": [{"name": s.name, "dataset": s.dataset.source, "data_version": s.dataset.data_version,
                            "evaluation_run_id": s.run_id,
                            "leaderboard": {"metrics": [m.name for m in s.leaderboard.metrics],
                                            "rows": [{"subject": row.subject, "label": row.label, "role": row.role,
                                                      "rank": row.rank, "win_rate": row.win_rate,
                                                      "cells": {m: _estimate(c) for m, c in row.cells.items()},
                                                      "kept_out": row.kept_out} for row in s.leaderboard.rows]},
                            "serving": [asdict(row) for row in s.serving],
                            "findings": [{"model": f.model, "metric": f.metric, "label": f.label,
                                          "estimate": _estimate(f.estimate), "status": f.status}
                                         for f in s.findings]} for s in report.modalities]}


def model_cards_data(report: Report) -> dict:
    """Every family's model card as JSON in the Model Card Toolkit's schema fields (model_details,
    model_parameters, quantitative_analysis, considerations; Mitchell et al., 2019), keyed by family."""
    def metric(m: CardMetric) -> dict:
        entry = {"type": m.label, "value": f"{m.estimate.value:.6g}", "slice": f"n={m.estimate.count}"}
        if m.estimate.ci_low is not None:
            entry["confidence_interval"] = {"lower_bound": f"{m.estimate.ci_low:.6g}",
                                            "upper_bound": f"{m.estimate.ci_high:.6g}"}
        return entry

    return {"run_id": report.run.run_id, "model_cards": {card.family.name: {
        "model_details": {"name": card.family.name, "overview": card.family.description,
                          "version": {"name": card.model.version, "date": card.model.trained_at},
                          "documentation": f"{card.family.title}; profile {card.model.profile}, seed "
                                           f"{report.run.seed}, {card.model.parameters} parameters, "
                                           f"{card.model.steps} steps on {card.model.device}"},
        "model_parameters": {"model_architecture": card.family.title,
                             "data": [{"name": card.dataset.source, "description": card.dataset.description,
                                       "version": card.model.data_version}]},
        "quantitative_analysis": {"performance_metrics": [metric(m) for m in card.metrics]},
        "provenance": card.provenance,
        "considerations": {
            "users": [{"description": card.intended_users}],
            "use_cases": [{"description": card.intended_use}, {"description": f"Out of scope: {card.out_of_scope}"}],
            "limitations": [{"description": card.limitations}],
            "tradeoffs": [{"description": card.texts.trade_offs}],
            "ethical_considerations": [{"name": f"{c.name}: {c.description}", "mitigation_strategy": c.mitigation}
                                       for c in card.ethical_considerations]},
    } for card in report.cards}}
