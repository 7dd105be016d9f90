"""Platform overhead: each family trained through its Dagster asset against the same model,
data and steps in a bare PyTorch loop, side by side in one run.

    .venv/bin/python bench/overhead.py [--families vae,gan] [--scale 1.0] [--repeats 3]

The asset's time is the whole in-process materialization (resource set-up, DuckDB read,
the loop with its checkpoints and loss curves, safetensors and manifest written). The
bare loop gets the training tensor already in memory and writes nothing. Both use the
default profile's model and optimizer settings at a reduced step count (BENCH_STEPS), the
same seed and the same number of torch threads; the order alternates between repeats and
the medians are compared (single runs on a shared 2-core machine vary by 10-25%).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genai_platform.definitions import defs  # noqa: E402
from genai_platform.defs.resources import resources_from_env  # noqa: E402
from genai_platform.families.registry import build_model, families, family_named, load_family, pretrained_config  # noqa: E402
from genai_platform.store.versions import challenger  # noqa: E402

# about 20 s of training each on 2 cores
BENCH_STEPS = {"vae": 2400, "gan": 1000, "diffusion": 300, "gplvm": 2500, "lstm": 400, "transformer": 200,
               "textgan": 60}
ASSETS = list(defs.assets)


def materialize(resources, selection: list[str], run_config: dict | None = None) -> float:
    started = time.perf_counter()
    dg.materialize(ASSETS, resources=resources, selection=selection, run_config=run_config)
    return time.perf_counter() - started


def run_config(name: str, steps: int) -> dict:
    # a fixed step count, so both loops take the same steps whatever the machine's speed
    settings = {"steps": steps, "max_seconds": 0.0, "log_every": max(1, steps // 10),
                "checkpoint_every": max(1, steps // 4)}
    return {"ops": {f"train_{name}": {"config": settings}}}


def bare_loop(name: str, steps: int, duckdb, artifacts) -> float:
    """The family's model trained by a plain PyTorch loop: AdamW per phase, same batches and seed."""
    family = family_named(name)
    model_config, training = family.settings("default")
    training = dataclasses.replace(training, steps=steps)
    base = family.pretrained.family if family.pretrained else None
    with duckdb.read_connection() as con:
        data = family.modality.load_training_data(con)
        base_version = challenger(con, base) if base else None
    pretrained = (load_family(family_named(base), artifacts.version_dir(base, base_version), torch.device("cpu"))[0]
                  if base else None)
    model_config = pretrained_config(family, model_config, pretrained)
    started = time.perf_counter()
    torch.manual_seed(training.seed)
    model = build_model(family, model_config, data, pretrained)
    groups = model.training_phases()
    optimizers = {phase: torch.optim.AdamW(params, lr=training.learning_rate, weight_decay=training.weight_decay,
                                           betas=(training.beta1, training.beta2)) for phase, params in groups.items()}
    average = [p.detach().clone() for p in model.parameters()] if training.ema_decay else None
    sampler, generator = family.batch_sampler(data.tensor, model_config), torch.Generator().manual_seed(training.seed)
    losses = []
    model.train()
    for step in range(steps):
        batch = sampler(generator, training.batch_size)
        for phase, optimizer in optimizers.items():
            for group in optimizer.param_groups:
                group["lr"] = training.learning_rate * training.lr_factor(step, steps)
            loss = model.training_loss(batch, phase)
            optimizer.zero_grad()
            loss.backward()
            if training.grad_clip:
                torch.nn.utils.clip_grad_norm_(groups[phase], training.grad_clip)
            optimizer.step()
            losses.append(loss.detach())
        if average is not None:
            torch._foreach_lerp_(average, [p.detach() for p in model.parameters()], 1 - training.ema_decay)
    model.finish_training(data.tensor, training.seed)  # as fit() does after the loop
    torch.stack(losses).tolist()
    return time.perf_counter() - started


def _seconds(times: list[float]) -> str:
    return " ".join(f"{t:.2f}" for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", default=",".join(f.name for f in families()))
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every family's step count")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the median is reported")
    args = parser.parse_args()
    names = args.families.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GENAI_HOME": f"{tmp}/home", "GENAI_REPORTS_DIR": f"{tmp}/reports",
               "GENAI_PROFILE": "default", "GENAI_PARALLEL_STEPS": "1"}
        resources = resources_from_env(env)
        materialize(resources, ["raw_images", "raw_text", "images", "text_corpus"])
        pretrained = {family_named(n).pretrained for n in names} - {None}
        for name in pretrained:  # trained untimed, so the timed family can start from it
            materialize(resources, [f"train_{name}"], run_config(name, 50))
        print(f"torch threads: {torch.get_num_threads()}, CPU cores: {os.cpu_count()}", flush=True)
        rows = []
        for name in names:
            steps = max(1, round(BENCH_STEPS[name] * args.scale))
            asset_times, bare_times = [], []
            for repeat in range(args.repeats):
                runs = [("asset", lambda: materialize(resources, [f"train_{name}"], run_config(name, steps))),
                        ("bare", lambda: bare_loop(name, steps, resources["duckdb"], resources["artifacts"]))]
                for kind, measure in runs if repeat % 2 == 0 else runs[::-1]:
                    (asset_times if kind == "asset" else bare_times).append(measure())
            asset, bare = statistics.median(asset_times), statistics.median(bare_times)
            rows.append((name, steps, asset, bare, asset_times, bare_times))
            print(f"{name}: asset {_seconds(asset_times)}, bare loop {_seconds(bare_times)}, "
                  f"ratio of medians {asset / bare:.3f}", flush=True)
    print("\n| family | steps | asset, median (s) | bare loop, median (s) | ratio | asset runs | bare runs |"
          "\n|---|---|---|---|---|---|---|")
    for name, steps, asset, bare, asset_times, bare_times in rows:
        print(f"| {name} | {steps} | {asset:.2f} | {bare:.2f} | {asset / bare:.3f} | {_seconds(asset_times)} | "
              f"{_seconds(bare_times)} |")


if __name__ == "__main__":
    main()
