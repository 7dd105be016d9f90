"""A nightly run killed with SIGKILL while it holds the duckdb_write pool slot stays STARTED and blocks
every later run; the dead_runs sensor marks it failed and frees the slot, and the next run goes through.
Real processes: `dagster job execute` in its own session, killed with os.killpg(SIGKILL)."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from helpers import smoke_environment

from genai_platform.defs.database import DUCKDB_WRITE_POOL
from genai_platform.defs.runs import dead_runs, process_alive

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")


def _claimed(instance) -> set[str]:
    return instance.event_log_storage.get_concurrency_info(DUCKDB_WRITE_POOL).active_run_ids


@pytest.mark.slow
def test_a_killed_run_is_failed_its_pool_slot_freed_and_the_next_run_goes_through(tmp_path):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")  # the pool limit of 1
    env = {**smoke_environment(tmp_path), "DAGSTER_HOME": str(dagster_home)}
    # the instance first: two processes creating a fresh SQLite instance at once can both stamp its schedule
    # storage's alembic_version, and every later process then refuses the instance ("more than one head")
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    log = open(tmp_path / "killed_run.log", "wb")
    run = subprocess.Popen([DAGSTER, "job", "execute", "-m", "genai_platform.definitions", "-j", "nightly_retraining"],
                           cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 240
    while not _claimed(instance) and run.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert _claimed(instance), (tmp_path / "killed_run.log").read_text()[-2000:]
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    (killed,) = instance.get_runs()
    assert killed.status == dg.DagsterRunStatus.STARTED and _claimed(instance) == {killed.run_id}  # the wedge

    tick = dead_runs.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert killed.run_id in tick.skip_message
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    assert _claimed(instance) == set()
    assert dead_runs.evaluate_tick(dg.build_sensor_context(instance=instance)).skip_message == "no dead run"

    after = subprocess.run([DAGSTER, "asset", "materialize", "-m", "genai_platform.definitions", "--select",
                            "raw_text"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert after.returncode == 0, after.stdout[-2000:] + after.stderr[-2000:]


def test_a_live_process_is_not_reaped():
    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid)


def test_slots_a_failed_run_still_holds_are_freed(tmp_path):
    """dagster dev's code server marks a SIGKILLed run failed but leaves its pool slot claimed."""
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    storage = instance.event_log_storage
    storage.set_concurrency_slots(DUCKDB_WRITE_POOL, 1)
    for run_id, status in (("dead-run", dg.DagsterRunStatus.FAILURE), ("live-run", dg.DagsterRunStatus.STARTED)):
        instance.add_run(dg.DagsterRun(job_name="nightly_retraining", run_id=run_id, status=status))
    assert storage.claim_concurrency_slot(DUCKDB_WRITE_POOL, "dead-run", "samples_vae").is_claimed
    storage.claim_concurrency_slot(DUCKDB_WRITE_POOL, "live-run", "samples_gan")  # queued behind it
    assert _claimed(instance) == {"dead-run"}
    tick = dead_runs.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert "dead-run" in tick.skip_message and "live-run" not in tick.skip_message
    # the live run's queued step gets the slot
    assert storage.claim_concurrency_slot(DUCKDB_WRITE_POOL, "live-run", "samples_gan").is_claimed
