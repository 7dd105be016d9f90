"""kill -9 at any point of a nightly run leaves the previous champion, the tables and the reports intact,
and the next run completes with no clean-up by hand. Real processes: `dagster job execute` in its own
session, SIGKILLed (process group) as a chosen step starts, on the production instance: run, event-log and
schedule storage in a PostgreSQL server the test starts on loopback (dagster-postgres, the README's
dagster.yaml). `dagster dev` on the default instance is in test_e2e.py."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from helpers import home_state, smoke_environment, wait_for_step_start
from postgres_server import DATABASE, postgres_instance_yaml, psql

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")
# a retrained vae, so the night writes a new version, new samples and a promotion decision
RETRAIN_VAE = "ops:\n  train_vae:\n    config:\n      steps: 30\n"
# a DuckDB write holding the duckdb_write pool slot (preprocessing); training; the report writing (test_e2e
# kills one in the promotion; a DuckDB write outside the pool, like the samples, is one transaction as these are)
KILL_AT = ("images", "train_vae", "reports")


def test_kill_9_at_each_stage_on_a_postgres_instance_loses_nothing_and_the_next_run_completes(smoke_run, postgres,
                                                                                            tmp_path):
    for folder in ("home", "reports"):
        shutil.copytree(smoke_run.root / folder, tmp_path / folder)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(postgres_instance_yaml(postgres))
    (tmp_path / "retrain_vae.yaml").write_text(RETRAIN_VAE)
    # the schedule off by default, so starting it is a state the schedule storage must keep
    env = {**smoke_environment(tmp_path), "DAGSTER_HOME": str(dagster_home), "GENAI_NIGHTLY_SCHEDULE": "off"}
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

    # the runs, their events and the schedule's state are PostgreSQL's, read back by Dagster and by psql
    started = subprocess.run([DAGSTER, "schedule", "start", "nightly_retraining_schedule", "-m",
                              "genai_platform.definitions"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
    try:
        assert [type(s).__name__ for s in (instance.run_storage, instance.event_log_storage,
                                           instance.schedule_storage)] == \
            ["PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"]
        (completed,) = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]))
        succeeded = {r.event_log_entry.dagster_event.step_key
                     for r in instance.get_records_for_run(completed.run_id, limit=100000).records
                     if r.event_log_entry.dagster_event
                     and r.event_log_entry.dagster_event.event_type == dg.DagsterEventType.STEP_SUCCESS}
        assert {"raw_images", "train_vae", "train_lstm", "champion_vae", "reports"} <= succeeded
        assert instance.get_latest_materialization_event(dg.AssetKey("model_comparison_report")).run_id == \
            completed.run_id
        schedules = {state.name: state.status.value for state in instance.all_instigator_state()}
        assert schedules["nightly_retraining_schedule"] == "RUNNING"
    finally:
        instance.dispose()
    assert psql(postgres, DATABASE, "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status") == [
        f"FAILURE|{len(KILL_AT)}", "SUCCESS|1"]
