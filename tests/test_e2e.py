"""End to end: `dagster dev` on a free loopback port, on the session's smoke home, runs nightly_retraining
launched over GraphQL: a night that retrains the vae, killed with SIGKILL in the promotion, loses nothing,
and the next one completes and writes the reports (test_wheel.py trains every family from scratch in a
whole run; test_kills.py kills `dagster job execute` at other stages)."""

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import dagster as dg
from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient
from helpers import free_port, home_state, kill_process_tree, wait_for_step_start

from genai_platform.defs.runs import run_worker_pid

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT, RUN_TIMEOUT = 180, 600


def _wait_until_up(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"dagster dev exited early:\n{log.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"dagster dev did not answer on port {port}:\n{log.read_text()[-3000:]}")


RETRAIN_VAE = {"ops": {"train_vae": {"config": {"steps": 30}}}}


def _finished(client: DagsterGraphQLClient, run_id: str) -> DagsterRunStatus | None:
    deadline, status = time.monotonic() + RUN_TIMEOUT, None
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id)
        if status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
            break
        time.sleep(2)
    return status


def test_dagster_dev_runs_nightly_retraining_and_survives_kill_9(smoke_run, smoke_env, tmp_path):
    for folder in ("home", "reports"):
        shutil.copytree(smoke_run.root / folder, tmp_path / folder)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**smoke_env, "DAGSTER_HOME": str(dagster_home), "GENAI_NIGHTLY_SCHEDULE": "off"}
    port, log = free_port(), tmp_path / "dagster_dev.log"
    dagster = Path(sys.executable).parent / "dagster"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-m", "genai_platform.definitions"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_up(port, proc, log)
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        # kill -9 the run worker and its step processes in the promotion; the dead_runs sensor, or the next run's
        # start, fails the run and frees its pool slots: the next night completes
        instance = dg.DagsterInstance.from_config(str(dagster_home))
        before = home_state(tmp_path)
        killed = client.submit_job_execution("nightly_retraining", run_config=RETRAIN_VAE)
        wait_for_step_start(instance, "champion_vae", RUN_TIMEOUT, lambda: proc.poll() is None)
        kill_process_tree(run_worker_pid(instance, killed))
        assert home_state(tmp_path)["champion"] == before["champion"]
        after = client.submit_job_execution("nightly_retraining", run_config=RETRAIN_VAE)
        assert _finished(client, after) == DagsterRunStatus.SUCCESS, log.read_text()[-5000:]
        assert client.get_run_status(killed) == DagsterRunStatus.FAILURE
        assert home_state(tmp_path)["champion"] == before["champion"]
        reports = tmp_path / "reports"
        for name in ("index.html", "model_comparison.html", "ethics.html"):
            assert (reports / name).stat().st_size > 1000, name
        assert (reports / "runs" / after / "model_comparison.html").exists()
        assert f'data-run="{after}"' in (reports / "index.html").read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
