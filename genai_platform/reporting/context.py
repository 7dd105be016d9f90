"""Everything the report templates show, gathered from DuckDB and the model manifests."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from genai_platform.evaluation.scoring import SWEEP_BLEU
from genai_platform.metrics.bias import gender_word_lists
from genai_platform.metrics.catalog import (HELDOUT, METRICS, NOISE, PIXEL_GAUSSIAN, TRAINING_DATA, UNIGRAM, info,
                                             subject_label)
from genai_platform.families.registry import families
from genai_platform.reporting.analysis import (MIN_FINDING_COUNT, TRAILING_RUNS, Threshold, judge, mean_win_rates,
                                               regression, worst)
from genai_platform.reporting.plots import class_histograms, image_grid, loss_curves, quality_diversity, sparkline
from genai_platform.store.tables import (dataset_info, image_class_names, latest_metrics, read_image_samples,
                                  read_image_split, read_text_samples, recent_metrics)
from genai_platform.training.batches import examples_per_step
from genai_platform.training.fit import read_manifest
from genai_platform.training.loop import SINGLE_PHASE

PACKAGES = ("torch", "dagster", "duckdb", "numpy", "scipy", "scikit-learn", "sacrebleu", "gensim", "jinja2")
GRID_IMAGES = 64
TEXT_EXAMPLES = 8
REFERENCE_ROWS = (HELDOUT, PIXEL_GAUSSIAN, NOISE, UNIGRAM, TRAINING_DATA)
# Leaderboard columns per modality; an image metric is shown in the Inception space when the run used it.
LEADERBOARD = {"image": ("fid", "kid", "precision", "recall", "density", "coverage", "class_tv_distance"),
               "text": ("bits_per_character", "continuation_bleu", "bleu_4", "self_bleu_4", "distinct_2")}
HEADLINE_METRICS = 3  # leaderboard columns per modality carried to the run index


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _metric_table(rows: list[dict], family_names: list[str]) -> dict:
    present = {r["metric"] for r in rows}
    metrics = [m for m in METRICS if m in present] + sorted(m for m in present if m not in METRICS)
    models = [f for f in family_names if any(r["subject"] == f for r in rows)]
    models += sorted({r["subject"] for r in rows} - set(models), key=subject_label)
    cells = {(r["subject"], r["metric"]): r for r in rows}
    best = {}
    for metric in metrics:
        candidates = [(info(metric).sort_key(cells[(m, metric)]["value"]), m) for m in family_names if (m, metric) in cells]
        if len(candidates) > 1 and info(metric).direction != "none":
            best[metric] = min(candidates)[1]
    return {
        "metrics": [{"name": m, "label": info(m).label, "arrow": info(m).arrow, "direction": info(m).direction,
                     "definition": info(m).definition, "reference": info(m).reference} for m in metrics],
        "rows": [{"model": subject_label(model), "reference": model not in family_names,
                  "cells": {m: cells.get((model, m)) for m in metrics},
                  "best": {m for m in metrics if best.get(m) == model}} for model in models],
    }


def _cell(row: dict | None) -> dict | None:
    return None if row is None else {k: row[k] for k in ("value", "ci_low", "ci_high", "sample_count")}


def leaderboard(rows: list[dict], family_names: list[str], modality: str) -> dict:
    """Families ranked by HELM mean win rate over the modality's leaderboard metrics; the reference
    rows (floor, ceiling, baselines) follow, unranked, for scale."""
    present = {r["metric"] for r in rows}
    metrics = [f"{m}_inception" if f"{m}_inception" in present else m for m in LEADERBOARD[modality]]
    metrics = [m for m in metrics if m in present]
    cells = {(r["subject"], r["metric"]): r for r in rows}
    win_rates = mean_win_rates({f: {m: cells[(f, m)]["value"] for m in metrics if (f, m) in cells}
                                for f in family_names})
    ranked = sorted(family_names, key=lambda f: -1 if win_rates[f] is None else -win_rates[f])
    references = [r for r in REFERENCE_ROWS if any((r, m) in cells for m in metrics)]
    return {
        "metrics": [{"name": m, "label": info(m).label, "arrow": info(m).arrow} for m in metrics],
        "rows": [{"model": subject_label(model), "reference": model not in family_names, "win_rate": win_rates.get(model),
                  "cells": {m: _cell(cells.get((model, m))) for m in metrics}} for model in ranked + references],
    }


def cost_rows(manifests: dict[str, dict]) -> list[dict]:
    """Per family: parameters, training time and throughput (examples through one step per second)."""
    out = []
    for name, manifest in manifests.items():
        training = manifest["training"]
        steps = training["steps"] - (training.get("resumed_from_step") or 0)  # seconds cover this process only
        per_step, unit = examples_per_step(manifest["modality"], manifest["training_config"]["batch_size"],
                                           manifest["model_config"].get("context_length"))
        out.append({"family": name, "parameters": manifest["parameters"], "steps": training["steps"],
                    "seconds": training["seconds"], "device": training["device"],
                    "throughput": per_step * steps / training["seconds"] if training["seconds"] > 0 else None,
                    "unit": unit})
    return out


def trends(history: list[dict], current_run: str, models: list[str], metrics: list[str]) -> list[dict]:
    """Per model and metric: values over the recent runs (oldest first) with a sparkline, and the
    regression verdict of this run's value against the trailing median of the earlier ones."""
    out = []
    for model in models:
        for metric in metrics:
            series = [r for r in history if r["subject"] == model and r["metric"] == metric]
            current = next((r for r in series if r["run_id"] == current_run), None)
            if current is None:
                continue
            before = [r for r in series if r["run_id"] != current_run]
            earlier = [r["value"] for r in before]
            verdict = regression(metric, earlier, current["value"], current["ci_low"], current["ci_high"])
            values = earlier + [current["value"]]
            # a step may come from a new metric definition or new data rather than the model
            changed = [what for what in ("code", "data")
                       if any(r[f"{what}_version"] != current[f"{what}_version"] for r in before)]
            out.append({"model": model, "metric": metric, "label": info(metric).label, "arrow": info(metric).arrow,
                        "runs": len(values), "value": current["value"], "ci_low": current["ci_low"],
                        "ci_high": current["ci_high"], "median": verdict.median, "regressed": verdict.regressed,
                        "changed": changed,
                        "sparkline": sparkline(values, f"{info(metric).label} of {model}", verdict.regressed)})
    return out


def findings(rows: list[dict], family_names: list[str], limits: dict[str, Threshold]) -> list[dict]:
    """Each family's bias and memorization values judged pass / warn / fail against the thresholds."""
    out = []
    for r in rows:
        if r["subject"] in family_names and r["metric"] in limits:
            limit = limits[r["metric"]]
            out.append({**_cell(r), "model": r["subject"], "metric": r["metric"], "label": info(r["metric"]).label,
                        "warn": limit.warn, "fail": limit.fail, "status": judge(r["metric"], r["value"], r["sample_count"], limit)})
    return out


def against_base(rows: list[dict], family, base: str) -> dict:
    """An experimental family beside the family it starts from, metric by metric, winner named."""
    values = {(r["subject"], r["metric"]): r["value"] for r in rows}
    lines = []
    for metric in sorted({r["metric"] for r in rows if r["subject"] == family.name}):
        if (base, metric) not in values or info(metric).direction == "none":
            continue
        mine, theirs = values[(family.name, metric)], values[(base, metric)]
        lines.append({"label": info(metric).label, "arrow": info(metric).arrow,
                      "value": mine, "base_value": theirs,
                      "winner": family.name if info(metric).better(mine, theirs) else base})
    wins = sum(line["winner"] == family.name for line in lines)
    return {"family": family.name, "title": family.title, "base": base, "lines": lines, "wins": wins}


def closest_pair_grids(con, pairs: dict[str, list[dict]], train: np.ndarray, group) -> dict[str, dict]:
    """Per family: its samples most like one training image (top row) above that image (bottom row)."""
    grids = {}
    for family in group:
        picked = pairs.get(family.name)
        if picked:
            samples = read_image_samples(con, family.name)
            images = np.concatenate([samples[[p["sample"] for p in picked]], train[[p["train"] for p in picked]]])
            grids[family.title] = {"grid": image_grid(images, columns=len(picked)),
                                   "ratios": [p["ratio"] for p in picked]}
    return grids


def gather(con, model_dir: Callable[[str], Path], details_path: Callable[[str], Path], run: dict,
           limits: dict[str, Threshold]) -> dict:
    """The shared context of the comparison and ethics reports."""
    modalities, all_families = [], []
    for modality in ("image", "text"):
        group = families(modality)
        family_names = [f.name for f in group]
        rows = latest_metrics(con, modality)
        details_file = details_path(modality)
        details = json.loads(details_file.read_text("utf-8")) if details_file.exists() else {}
        dataset = dataset_info(con, modality)
        run_id = rows[0]["run_id"] if rows else None
        board = leaderboard(rows, family_names, modality)
        history = recent_metrics(con, modality, dataset["source"], TRAILING_RUNS + 1) if rows else []
        section = {"name": modality, "dataset": dataset, "rows": rows, "run_id": run_id,
                   "table": _metric_table(rows, family_names), "leaderboard": board,
                   "trends": trends(history, run_id, family_names, [m["name"] for m in board["metrics"]]),
                   "history_runs": len({r["run_id"] for r in history}),
                   "findings": findings(rows, family_names, limits),
                   "grids": {}, "texts": {}, "details": details, "plots": {}}
        section["regressions"] = [t for t in section["trends"] if t["regressed"]]
        curves, manifests = {}, {}
        for family in group:
            manifest = manifests[family.name] = read_manifest(model_dir(family.name))
            for phase, curve in manifest["training"]["loss_curves"].items():
                curves[family.name if phase == SINGLE_PHASE else f"{family.name} ({phase})"] = curve
            all_families.append({
                "family": family, "manifest": manifest, "dataset": dataset,
                "metrics": [r for r in rows if r["subject"] == family.name],
                "findings": [f for f in section["findings"] if f["model"] == family.name],
                "win_rate": next(r["win_rate"] for r in board["rows"] if r["model"] == family.name),
            })
            if modality == "image":
                section["grids"][family.title] = image_grid(read_image_samples(con, family.name)[:GRID_IMAGES])
            else:
                samples = read_text_samples(con, family.name)
                section["texts"][family.title] = {
                    "continuations": [s for s in samples if s["kind"] == "continuation"][:TEXT_EXAMPLES],
                    "free": [s for s in samples if s["kind"] == "free"][:TEXT_EXAMPLES]}
        section["cost"] = cost_rows(manifests)
        section["plots"]["loss"] = loss_curves(curves, f"{modality} families")
        if details.get("quality_diversity"):
            section["plots"]["quality_diversity"] = quality_diversity(details["quality_diversity"], SWEEP_BLEU)
        section["experiments"] = [against_base(rows, f, f.pretrained) for f in group if f.experimental and f.pretrained]
        if modality == "image":
            train = read_image_split(con, "train").pixels
            section["grids"] = {"Real (train split)": image_grid(train[:GRID_IMAGES]), **section["grids"]}
            section["closest_pairs"] = closest_pair_grids(con, details.get("closest_pairs", {}), train, group)
            histograms = details.get("class_histograms") or {}
            names = image_class_names(con)
            if histograms and names:
                section["plots"]["classes"] = class_histograms({subject_label(k): v for k, v in histograms.items()}, names)
        modalities.append(section)
    lists = gender_word_lists()
    statuses = [f["status"] for s in modalities for f in s["findings"]]
    regressions = sum(len(s["regressions"]) for s in modalities)
    return {"run": run, "modalities": modalities, "families": all_families,
            "status": worst(statuses + (["warn"] if regressions else [])),
            "counts": {"fail": statuses.count("fail"), "warn": statuses.count("warn"), "regressions": regressions},
            "min_finding_count": MIN_FINDING_COUNT,
            "thresholds": [{"metric": m, "label": info(m).label, "warn": t.warn, "fail": t.fail,
                            "absolute": info(m).direction == "zero"} for m, t in limits.items()],
            "bias_lists": {"groups": {g: sorted(w) for g, w in lists.groups.items()},
                           "targets": {t: len(w) for t, w in lists.targets.items()}, "source": lists.source}}


def run_manifest(run_id: str, profile: str, seed: int, device: str, code_version: str, datasets: list[dict]) -> dict:
    return {"run_id": run_id, "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "profile": profile, "seed": seed, "device": device, "code_version": code_version,
            "packages": package_versions(),
            "datasets": [{"modality": d["modality"], "source": d["source"], "data_version": d["data_version"],
                          "files": [(f["path"], f["sha256"]) for f in d["provenance"]["files"][:20]],
                          "file_count": len(d["provenance"]["files"])} for d in datasets]}


def headline(context: dict) -> dict:
    """What the run index shows of a run: status, finding counts, each modality's leader, and the
    best family value of its first leaderboard metrics."""
    values, leaders = {}, {}
    for section in context["modalities"]:
        ranked = [r for r in section["leaderboard"]["rows"] if not r["reference"] and r["win_rate"] is not None]
        if ranked:
            leaders[section["name"]] = {"model": ranked[0]["model"], "win_rate": ranked[0]["win_rate"]}
        for metric in section["leaderboard"]["metrics"][:HEADLINE_METRICS]:
            cells = [r["cells"][metric["name"]] for r in ranked if r["cells"][metric["name"]]]
            if cells:
                best = min((c["value"] for c in cells), key=info(metric["name"]).sort_key)
                values[f'{section["name"]} {metric["label"]} {metric["arrow"]}'] = best
    return {"status": context["status"], "counts": context["counts"], "leaders": leaders, "values": values}
