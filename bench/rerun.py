"""Nothing retrained for nothing: a full nightly run, then the same night again (same data, code and
config), then a night where one family's config changed, side by side in one benchmark run.

    .venv/bin/python bench/rerun.py [--profile default] [--changed vae]

Each night is a real `dagster job execute` of nightly_retraining (process start, every step, the
reports) on one fresh GENAI_HOME and DAGSTER_HOME. The unchanged night should re-use every model,
sample set, feature extractor, evaluation and self-test; the issue's target is at most 10% of the
full night. The slowest steps of each night are printed from the instance's event log.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")
BUNDLED = {"GENAI_IMAGE_SOURCE": "sklearn:digits", "GENAI_TEXT_SOURCE": "gensim:lee"}


def night(env: dict, config: Path | None, log: Path) -> float:
    command = [DAGSTER, "job", "execute", "-m", "genai_platform.definitions", "-j", "nightly_retraining"]
    started = time.perf_counter()
    with open(log, "wb") as out:
        done = subprocess.run(command + (["-c", str(config)] if config else []), cwd=ROOT, env=env, stdout=out,
                              stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the run failed; see {log}")
    return seconds


def slowest_steps(instance: dg.DagsterInstance, count: int = 5) -> str:
    run = instance.get_runs(limit=1)[0]
    starts, spans = {}, []
    for record in instance.get_records_for_run(run.run_id).records:
        event = record.event_log_entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = record.event_log_entry.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS and event.step_key in starts:
            spans.append((record.event_log_entry.timestamp - starts[event.step_key], event.step_key))
    return ", ".join(f"{step} {seconds:.1f} s" for seconds, step in sorted(spans, reverse=True)[:count])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="default", choices=("smoke", "default", "full"))
    parser.add_argument("--changed", default="vae", help="the family whose config the third night changes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="genai-rerun-"))
    dagster_home = work / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, **BUNDLED, "GENAI_PROFILE": args.profile, "GENAI_HOME": str(work / "home"),
           "GENAI_REPORTS_DIR": str(work / "reports"), "GENAI_SEED": "0", "DAGSTER_HOME": str(dagster_home),
           "GENAI_NIGHTLY_SCHEDULE": "off"}
    changed = work / "changed.yaml"
    changed.write_text(f"ops:\n  train_{args.changed}:\n    config:\n      learning_rate: 0.00099\n")
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    rows = []
    for name, config in (("full", None), ("unchanged", None), (f"{args.changed} changed", changed)):
        print(f"{name} night ...", flush=True)
        seconds = night(env, config, work / f"{name.replace(' ', '_')}.log")
        rows.append((name, seconds, slowest_steps(instance)))
    full = rows[0][1]
    print(f"\nprofile {args.profile}, {os.cpu_count()} cores, home {work}")
    print("| night | seconds | of the full night | slowest steps |\n|---|---|---|---|")
    for name, seconds, steps in rows:
        print(f"| {name} | {seconds:.1f} | {seconds / full:.3f} | {steps} |")


if __name__ == "__main__":
    main()
