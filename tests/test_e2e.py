"""End to end: `dagster dev` on a free loopback port runs nightly_retraining launched over GraphQL."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dagster import DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT, RUN_TIMEOUT = 180, 600


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def test_dagster_dev_runs_nightly_retraining(smoke_env, tmp_path):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**smoke_env, "DAGSTER_HOME": str(dagster_home), "GENAI_NIGHTLY_SCHEDULE": "off"}
    port, log = _free_port(), tmp_path / "dagster_dev.log"
    dagster = Path(sys.executable).parent / "dagster"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-m", "genai_platform.definitions"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_up(port, proc, log)
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_id = client.submit_job_execution("nightly_retraining")
        deadline, status = time.monotonic() + RUN_TIMEOUT, None
        while time.monotonic() < deadline:
            status = client.get_run_status(run_id)
            if status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
                break
            time.sleep(2)
        assert status == DagsterRunStatus.SUCCESS, log.read_text()[-5000:]
        reports = tmp_path / "reports"
        for name in ("index.html", "model_comparison.html", "ethics.html"):
            assert (reports / name).stat().st_size > 1000, name
        assert (reports / "runs" / run_id / "model_comparison.html").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
