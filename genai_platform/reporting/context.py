"""Everything the report templates show, gathered from DuckDB and the model manifests."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from genai_platform.evaluation import CEILING, FLOOR, PIXEL_BASELINE, SWEEP_BLEU, TRAINING_DATA, UNIGRAM_BASELINE
from genai_platform.metrics.bias import gender_word_lists
from genai_platform.metrics.catalog import METRICS, info
from genai_platform.models.registry import families
from genai_platform.reporting.plots import class_histograms, image_grid, loss_curves, quality_diversity
from genai_platform.store import (dataset_info, image_class_names, latest_metrics, read_image_samples,
                                  read_image_split, read_text_samples)
from genai_platform.training.families import read_manifest
from genai_platform.training.loop import SINGLE_PHASE

PACKAGES = ("torch", "dagster", "duckdb", "numpy", "scipy", "scikit-learn", "sacrebleu", "gensim", "jinja2")
GRID_IMAGES = 64
TEXT_EXAMPLES = 8
REFERENCE_ROWS = (FLOOR, PIXEL_BASELINE, CEILING, UNIGRAM_BASELINE, TRAINING_DATA)


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
    models = [f for f in family_names if any(r["family"] == f for r in rows)]
    models += sorted({r["family"] for r in rows} - set(models))
    cells = {(r["family"], r["metric"]): r for r in rows}
    best = {}
    for metric in metrics:
        candidates = [(info(metric).sort_key(cells[(m, metric)]["value"]), m) for m in family_names if (m, metric) in cells]
        if len(candidates) > 1 and info(metric).direction != "none":
            best[metric] = min(candidates)[1]
    return {
        "metrics": [{"name": m, "label": info(m).label, "arrow": info(m).arrow, "direction": info(m).direction,
                     "definition": info(m).definition, "reference": info(m).reference} for m in metrics],
        "rows": [{"model": model, "reference": model not in family_names,
                  "cells": {m: cells.get((model, m)) for m in metrics},
                  "best": {m for m in metrics if best.get(m) == model}} for model in models],
    }


def against_base(rows: list[dict], family, base: str) -> dict:
    """An experimental family beside the family it starts from, metric by metric, winner named."""
    values = {(r["family"], r["metric"]): r["value"] for r in rows}
    lines = []
    for metric in sorted({r["metric"] for r in rows if r["family"] == family.name}):
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


def gather(con, model_dir: Callable[[str], Path], details_path: Callable[[str], Path], run: dict) -> dict:
    """The shared context of the comparison and ethics reports."""
    modalities, all_families = [], []
    for modality in ("image", "text"):
        group = families(modality)
        rows = latest_metrics(con, modality)
        details_file = details_path(modality)
        details = json.loads(details_file.read_text("utf-8")) if details_file.exists() else {}
        dataset = dataset_info(con, modality)
        section = {"name": modality, "dataset": dataset, "rows": rows,
                   "run_id": rows[0]["run_id"] if rows else None,
                   "table": _metric_table(rows, [f.name for f in group]),
                   "grids": {}, "texts": {}, "details": details, "plots": {}}
        curves = {}
        for family in group:
            manifest = read_manifest(model_dir(family.name))
            for phase, curve in manifest["training"]["loss_curves"].items():
                curves[family.name if phase == SINGLE_PHASE else f"{family.name} ({phase})"] = curve
            all_families.append({
                "family": family, "manifest": manifest, "dataset": dataset,
                "metrics": [r for r in rows if r["family"] == family.name],
            })
            if modality == "image":
                section["grids"][family.title] = image_grid(read_image_samples(con, family.name)[:GRID_IMAGES])
            else:
                samples = read_text_samples(con, family.name)
                section["texts"][family.title] = {
                    "continuations": [s for s in samples if s["kind"] == "continuation"][:TEXT_EXAMPLES],
                    "free": [s for s in samples if s["kind"] == "free"][:TEXT_EXAMPLES]}
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
                section["plots"]["classes"] = class_histograms(histograms, names)
        modalities.append(section)
    lists = gender_word_lists()
    return {"run": run, "modalities": modalities, "families": all_families,
            "bias_lists": {"groups": {g: sorted(w) for g, w in lists.groups.items()},
                           "targets": {t: len(w) for t, w in lists.targets.items()}, "source": lists.source},
            "reference_rows": REFERENCE_ROWS}


def run_manifest(run_id: str, profile: str, seed: int, device: str, code_version: str, datasets: list[dict]) -> dict:
    return {"run_id": run_id, "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "profile": profile, "seed": seed, "device": device, "code_version": code_version,
            "packages": package_versions(),
            "datasets": [{"modality": d["modality"], "source": d["source"], "data_version": d["data_version"],
                          "files": [(f["path"], f["sha256"]) for f in d["provenance"]["files"][:20]],
                          "file_count": len(d["provenance"]["files"])} for d in datasets]}


def headline(context: dict) -> dict[str, float]:
    """The best family value of each table metric, for the run index."""
    out = {}
    for section in context["modalities"]:
        for metric in section["table"]["metrics"]:
            values = [r["cells"][metric["name"]]["value"] for r in section["table"]["rows"]
                      if not r["reference"] and r["cells"][metric["name"]]]
            if values and metric["direction"] != "none":
                out[f'{section["name"]} {metric["label"]}'] = float(min(values, key=info(metric["name"]).sort_key))
    return out
