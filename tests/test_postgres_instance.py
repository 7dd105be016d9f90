"""The Dagster instance on PostgreSQL (dagster-postgres): run, event-log and schedule storage in a real
PostgreSQL server the test starts on loopback (Debian's postgresql package; README, Quick start line 2
installs it), with the nightly job run by `dagster job execute` against it."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from helpers import free_port, smoke_environment

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")
DATABASE = "dagster"


def _postgres_bin() -> Path:
    """The folder of initdb and pg_ctl: Debian keeps them off PATH, under /usr/lib/postgresql/<version>/bin."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists():
            return folder
    if found := shutil.which("pg_ctl"):
        return Path(found).parent
    pytest.fail("no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql package "
                "(README, Quick start line 2 does)")


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server on 127.0.0.1 with trust authentication; yields its port."""
    binaries = _postgres_bin()
    # postgres refuses to run as root; as root it runs as Debian's postgres user, in a folder that user owns
    as_server_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="genai-postgres-"))
    folder.chmod(0o755)
    if as_server_user:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()

    def server(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_server_user, *command], capture_output=True, text=True, timeout=120, check=True)

    server(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync")
    server(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-o",
           f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "start")
    try:
        server(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", DATABASE)
        yield port
    finally:
        server(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def postgres_instance_yaml(port: int) -> str:
    """The README's dagster.yaml for PostgreSQL, pointed at the test's server."""
    return f"""storage:
  postgres:
    postgres_db:
      username: postgres
      password: ""
      hostname: 127.0.0.1
      db_name: {DATABASE}
      port: {port}
      # SQLAlchemy 2.1 reads a bare postgresql:// with psycopg 3; dagster-postgres installs psycopg2
      scheme: postgresql+psycopg2
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def test_the_nightly_job_runs_with_run_event_log_and_schedule_storage_in_postgres(postgres, tmp_path):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(postgres_instance_yaml(postgres))
    env = {**smoke_environment(tmp_path), "DAGSTER_HOME": str(dagster_home), "GENAI_NIGHTLY_SCHEDULE": "off"}
    run = subprocess.run([DAGSTER, "job", "execute", "-m", "genai_platform.definitions", "-j", "nightly_retraining"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    started = subprocess.run([DAGSTER, "schedule", "start", "nightly_retraining_schedule", "-m",
                              "genai_platform.definitions"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        assert [type(s).__name__ for s in (instance.run_storage, instance.event_log_storage,
                                           instance.schedule_storage)] == \
            ["PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"]
        (record,) = instance.get_runs()
        assert record.job_name == "nightly_retraining" and record.status == dg.DagsterRunStatus.SUCCESS
        succeeded = {r.event_log_entry.dagster_event.step_key
                     for r in instance.get_records_for_run(record.run_id, limit=100000).records
                     if r.event_log_entry.dagster_event
                     and r.event_log_entry.dagster_event.event_type == dg.DagsterEventType.STEP_SUCCESS}
        assert {"raw_images", "train_vae", "train_lstm", "champion_vae", "reports"} <= succeeded
        assert instance.get_latest_materialization_event(dg.AssetKey("model_comparison_report")).run_id == record.run_id
        schedules = {state.name: state.status.value for state in instance.all_instigator_state()}
        assert schedules["nightly_retraining_schedule"] == "RUNNING"
    finally:
        instance.dispose()
    # read back by the server's own client, not through Dagster
    runs = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(postgres), "-U", "postgres", "-d", DATABASE, "-tAc",
                           "SELECT count(*) FROM runs WHERE status = 'SUCCESS'"], capture_output=True, text=True,
                          timeout=60, check=True)
    assert runs.stdout.strip() == "1"
    assert (tmp_path / "reports" / "index.html").exists()
