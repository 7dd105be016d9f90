"""Helpers the tests share: the smoke-run environment and an in-process materialization."""

import dataclasses
import json
import os
import signal
import socket
import time
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import torch

from genai_platform.definitions import build_definitions
from genai_platform.families.registry import FAMILIES, load_family
from genai_platform.store.schema import schema_differences
from genai_platform.store.versions import champion
from genai_platform.models.classifier import ClassifierConfig, ImageClassifier
from genai_platform.models.shapes import ImageShape

# torch threads for work a test does in its own process: the cores shared among the pytest-xdist workers
# (a pool larger than its share of the cores can run 10x slower beside other work)
TEST_THREADS = max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))

# the bundled data, whatever GENAI_*_SOURCE the shell running the tests sets
BUNDLED_SOURCES = {"GENAI_IMAGE_SOURCE": "sklearn:digits", "GENAI_TEXT_SOURCE": "gensim:lee"}


def smoke_environment(root: Path) -> dict:
    """Environment of a smoke-profile run on the bundled data in a GENAI_HOME and reports folder under root."""
    return {**os.environ, "GENAI_PROFILE": "smoke", "GENAI_HOME": str(root / "home"),
            "GENAI_REPORTS_DIR": str(root / "reports"), "GENAI_SEED": "0", **BUNDLED_SOURCES}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server a test starts on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def materialize(resources, selection=None, run_config=None, raise_on_error=True, instance=None):
    """Every asset and check of the code location on these resources, ingesting the bundled data."""
    defs = build_definitions(BUNDLED_SOURCES)
    return dg.materialize(list(defs.assets) + list(defs.asset_checks), resources=resources, selection=selection,
                          run_config=run_config, raise_on_error=raise_on_error, instance=instance)


def quick_digit_classifier(pixels: np.ndarray, labels: np.ndarray) -> ImageClassifier:
    """A feature classifier for 8x8 digits trained in seconds (the default profile's takes minutes)."""
    torch.manual_seed(0)
    model = ImageClassifier(ClassifierConfig(channels=16, feature_dim=32), ImageShape(1, 8, 8), num_classes=10)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = torch.from_numpy(pixels), torch.from_numpy(labels)
    generator = torch.Generator().manual_seed(0)
    for _ in range(300):
        batch = torch.randint(len(x), (128,), generator=generator)
        optimiser.zero_grad()
        model.training_loss((x[batch], y[batch])).backward()
        optimiser.step()
    return model.eval()


def wait_for_step_start(instance: dg.DagsterInstance, step_key: str, timeout: float, alive) -> str:
    """The id of the run whose step `step_key` has started (polled in the instance's event log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert alive(), f"the run ended before {step_key} started"
        for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_START).records
            if any(r.event_log_entry.step_key == step_key for r in records):
                return run.run_id
        time.sleep(0.05)
    raise TimeoutError(f"step {step_key} did not start within {timeout} s")


def kill_process_tree(pid: int) -> None:
    """SIGKILL `pid` and every process below it (a run worker and its step processes)."""
    children = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(status.parent.name))
    doomed, pending = [], [pid]
    while pending:
        current = pending.pop()
        doomed.append(current)
        pending += children.get(current, [])
    for victim in doomed:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def home_state(root: Path, family: str = "vae") -> dict:
    """What a crash must never lose, read back: the DuckDB file at the current schema (its write-ahead log
    replayed), the family's champion loadable from its version folder, and complete reports."""
    deadline = time.monotonic() + 60
    while True:  # a killed process's lock goes when the kernel has finished tearing it down
        try:
            con = duckdb.connect(str(root / "home" / "genai.duckdb"))
            break
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        assert schema_differences(con) == []
        serving = champion(con, family)
        rows = con.execute("SELECT count(*) FROM metrics_history").fetchone()[0]
    finally:
        con.close()
    load_family(FAMILIES[family], root / "home" / "models" / family / "versions" / serving, torch.device("cpu"))
    html = (root / "reports" / "model_comparison.html").read_text("utf-8")
    assert html.rstrip().endswith("</html>")
    json.loads((root / "reports" / "report.json").read_text("utf-8"))
    return {"champion": serving, "metrics_rows": rows}


class Crash(RuntimeError):
    pass


def crashing_at(batches, call: int):
    """The same batches, but the `call`-th draw raises, as if the process died there."""
    calls = {"n": 0}

    def sample(generator, batch_size, shard):
        calls["n"] += 1
        if calls["n"] == call:
            raise Crash("killed")
        return batches(generator, batch_size, shard)

    return dataclasses.replace(batches, draw=sample)
