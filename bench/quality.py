"""Quality of every family at the default profile on the bundled data, as one table.

    # the job on the bundled data (README, Quick start line 1), then:
    .venv/bin/python bench/quality.py [--home .genai]

Reads the latest evaluation of each modality from metrics_history. Image families: FID in
the feature classifier's space beside the real-vs-real floor, the naive baseline (each
pixel drawn independently from its training mean and sd) and the uniform-noise ceiling.
Text families: test bits per character beside the unigram baseline. Each image family's row gives
the training steps and seconds of the version scored (its manifest). Checks the targets: each family
beats its naive baseline; each image family is within 3x of the floor (unseen real data's FID).
Exits 1 when a target is missed. With --metrics, also prints every recorded metric of the
run (one row per metric, one column per model, 95% intervals in brackets).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genai_platform.metrics.catalog import (METRICS, NOISE, PIXEL_GAUSSIAN, TRAINING_COPIES, TRAINING_DATA, UNIGRAM, UNSEEN_REAL,  # noqa: E402
                                             subject_label)
from genai_platform.families.registry import families  # noqa: E402
from genai_platform.defs.database import PlatformDuckDB  # noqa: E402
from genai_platform.store.tables import latest_metrics  # noqa: E402

FLOOR_FACTOR = 3.0


def table(rows: list[dict], metric: str) -> dict[str, dict]:
    return {r["subject"]: r for r in rows if r["metric"] == metric}


def _cell(row: dict | None) -> str:
    if row is None:
        return ""
    interval = "" if row["ci_low"] is None else f" [{row['ci_low']:.3g}, {row['ci_high']:.3g}]"
    return f"{row['value']:.4g}{interval}"


def print_metric_table(rows: list[dict], models: list[str]) -> None:
    cells = {(r["subject"], r["metric"]): r for r in rows}
    models = [m for m in models if any(r["subject"] == m for r in rows)]
    print(f"\n| metric | {' | '.join(map(subject_label, models))} |\n|---|{'---|' * len(models)}")
    for metric, entry in METRICS.items():
        if any((m, metric) in cells for m in models):
            print(f"| {entry.label} {entry.arrow} | {' | '.join(_cell(cells.get((m, metric))) for m in models)} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=".genai", help="GENAI_HOME of the run")
    parser.add_argument("--metrics", action="store_true", help="also print every metric of the run")
    args = parser.parse_args()
    duckdb = PlatformDuckDB(database=str(Path(args.home).resolve() / "genai.duckdb"))
    with duckdb.read_connection() as con:
        image_rows, text_rows = latest_metrics(con, "image"), latest_metrics(con, "text")
        scored = {row["model_version"] for row in image_rows if row["model_version"]}
        trainings = {}  # version -> family -> its manifest's training record, for the versions scored
        for family, version, path in con.execute("SELECT family, version, path FROM model_versions").fetchall():
            manifest = Path(path) / "manifest.json"
            if version in scored and manifest.exists():
                trainings.setdefault(version, {})[family] = json.loads(manifest.read_text())["training"]
    failures = []

    fid = table(image_rows, "fid")
    floor, baseline = fid[UNSEEN_REAL]["value"], fid[PIXEL_GAUSSIAN]["value"]
    print(f"run {image_rows[0]['run_id']}, code {image_rows[0]['code_version']}, data {image_rows[0]['data_version']}")
    print("\n| image model | FID | x floor | beats baseline | n | steps | training s |\n|---|---|---|---|---|---|---|")
    references = (UNSEEN_REAL, TRAINING_COPIES, PIXEL_GAUSSIAN, NOISE)
    for name in [*references[:2], *[f.name for f in families("image")], *references[2:]]:
        row = fid[name]
        beats = "" if name in references else ("yes" if row["value"] < baseline else "NO")
        training = trainings.get(row["model_version"] or "", {}).get(name, {})
        cost = f"{training['steps']} | {training['seconds']:.0f}" if training else " | "
        print(f"| {subject_label(name)} | {row['value']:.1f} | {row['value'] / floor:.2f} | {beats} | "
              f"{row['sample_count']} | {cost} |")
        if beats == "NO":
            failures.append(f"{name} FID {row['value']:.1f} does not beat the pixel baseline {baseline:.1f}")
        if name not in references and row["value"] > FLOOR_FACTOR * floor:
            failures.append(f"{name} FID {row['value']:.1f} is over {FLOOR_FACTOR}x the floor {floor:.1f}")
    best = min((fid[f.name]["value"], f.name) for f in families("image"))

    bpc = table(text_rows, "bits_per_character")
    unigram = bpc[UNIGRAM]["value"]
    print("\n| text model | test bits/char | beats unigram | characters |\n|---|---|---|---|")
    for name in [*[f.name for f in families("text")], UNIGRAM]:
        row = bpc[name]
        beats = "" if name == UNIGRAM else ("yes" if row["value"] < unigram else "NO")
        print(f"| {subject_label(name)} | {row['value']:.3f} | {beats} | {row['sample_count']} |")
        if beats == "NO":
            failures.append(f"{name} bits/char {row['value']:.3f} does not beat the unigram {unigram:.3f}")

    if args.metrics:
        print_metric_table(image_rows, [f.name for f in families("image")] + list(references))
        print_metric_table(text_rows, [f.name for f in families("text")] + [TRAINING_DATA, UNIGRAM])
    print(f"\nbest image family: {best[1]} at {best[0] / floor:.2f}x the floor (target <= {FLOOR_FACTOR}x)")
    for failure in failures:
        print("MISSED:", failure)
    print("all targets met" if not failures else f"{len(failures)} target(s) missed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
