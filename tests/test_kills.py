"""kill -9 at any point of a nightly run leaves the previous champion, the tables and the reports intact,
and the next run completes with no clean-up by hand. Real processes: `dagster job execute` in its own
session, SIGKILLed (process group) as a chosen step starts; `dagster dev` is in test_e2e.py."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from helpers import home_state, smoke_environment, wait_for_step_start

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")
# a retrained vae, so the night writes a new version, new samples and a promotion decision
RETRAIN_VAE = "ops:\n  train_vae:\n    config:\n      steps: 30\n"
# training; a DuckDB write (the samples); the promotion; the report writing
KILL_AT = ("train_vae", "samples_vae", "champion_vae", "reports")


def test_kill_9_at_each_stage_loses_nothing_and_the_next_run_completes(smoke_run, tmp_path):
    for folder in ("home", "reports"):
        shutil.copytree(smoke_run.root / folder, tmp_path / folder)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    (tmp_path / "retrain_vae.yaml").write_text(RETRAIN_VAE)
    env = {**smoke_environment(tmp_path), "DAGSTER_HOME": str(dagster_home)}
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    before = home_state(tmp_path)
    killed = []
    for step in KILL_AT:
        with open(tmp_path / f"killed_at_{step}.log", "wb") as log:
            run = subprocess.Popen([DAGSTER, "job", "execute", "-m", "genai_platform.definitions", "-j",
                                    "nightly_retraining", "-c", str(tmp_path / "retrain_vae.yaml")],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            killed.append(wait_for_step_start(instance, step, 300, lambda: run.poll() is None))
        finally:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
        after = home_state(tmp_path)  # raises if the DuckDB file, the champion or the reports are damaged
        # the smoke vae's findings fail: a decision, committed or not, keeps the champion
        assert after["champion"] == before["champion"], step
        assert after["metrics_rows"] >= before["metrics_rows"], step
    # each run failed the dead runs before it as it started; the last one killed is still STARTED
    assert [instance.get_run_by_id(r).status for r in killed] == (
        [dg.DagsterRunStatus.FAILURE] * (len(KILL_AT) - 1) + [dg.DagsterRunStatus.STARTED])

    # no clean-up by hand: the next run fails the dead ones as it starts, takes their pool slots and completes
    after = subprocess.run([DAGSTER, "job", "execute", "-m", "genai_platform.definitions", "-j", "nightly_retraining",
                            "-c", str(tmp_path / "retrain_vae.yaml")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert after.returncode == 0, after.stdout[-3000:] + after.stderr[-3000:]
    assert [instance.get_run_by_id(r).status for r in killed] == [dg.DagsterRunStatus.FAILURE] * len(KILL_AT)
    final = home_state(tmp_path)
    assert final["champion"] == before["champion"] and final["metrics_rows"] > before["metrics_rows"]
