"""Faults made for real: a run's process killed alone, a read-only mount. Each checks the error the user
sees, that nothing good was lost, and that the next run succeeds."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import smoke_environment

from genai_platform.defs.database import LOCK_WAIT_SECONDS

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")


def _session_processes(session: int) -> list[str]:
    listing = subprocess.run(["ps", "-o", "pid=,args=", "-s", str(session)], capture_output=True, text=True).stdout
    return [line.strip() for line in listing.splitlines() if line.strip()]


def _wait_for(log: Path, text: str, run: subprocess.Popen, seconds: float) -> None:
    deadline = time.time() + seconds
    while text not in log.read_text(errors="replace"):
        assert run.poll() is None and time.time() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.2)


@pytest.mark.slow
def test_a_run_process_killed_alone_takes_its_forkserver_and_steps_with_it(tmp_path):
    """SIGKILL to the run's process only (not its process group): its forkserver and the training steps it
    forked end too (Linux parent-death signals), and the next run goes through."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**smoke_environment(tmp_path), "DAGSTER_HOME": str(dagster_home)}
    log = tmp_path / "killed.log"
    with open(log, "wb") as out:
        run = subprocess.Popen([DAGSTER, "job", "execute", "-m", "genai_platform.definitions", "-j",
                                "nightly_retraining"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        _wait_for(log, 'Started execution of step "train_', run, 300)
        assert any("multiprocessing.forkserver" in p for p in _session_processes(run.pid))
        run.send_signal(signal.SIGKILL)
        run.wait()
        deadline = time.time() + 15
        while (left := _session_processes(run.pid)) and time.time() < deadline:
            time.sleep(0.2)
        assert left == [], left
    finally:
        subprocess.run(["pkill", "-9", "-s", str(run.pid)])
    after = subprocess.run([DAGSTER, "asset", "materialize", "-m", "genai_platform.definitions", "--select",
                            "raw_text"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert after.returncode == 0, after.stdout[-2000:] + after.stderr[-2000:]


def _in_read_only_mount(folder: Path, code: str) -> subprocess.CompletedProcess:
    """`code` run by Python in a mount namespace where `folder` is a read-only bind mount of itself."""
    script = (f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
              f"exec {sys.executable} -c \"$0\"")
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


@pytest.fixture
def read_only(tmp_path):
    probe = _in_read_only_mount(tmp_path, f"open({str(tmp_path / 'probe')!r}, 'w')")
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"no read-only bind mount in a user namespace here: {probe.stderr[-300:]}")
    return tmp_path


def test_a_read_only_home_stops_loading_and_a_read_only_database_fails_at_once(read_only):
    home = read_only / "home"
    home.mkdir()
    database = home / "genai.duckdb"
    import duckdb
    duckdb.connect(str(database)).close()
    checked = _in_read_only_mount(read_only, f"""
        from genai_platform.definitions import build_definitions
        build_definitions({{"GENAI_HOME": {str(home)!r}}})""")
    assert f"GENAI_HOME={str(home)!r}" in checked.stderr and \
        f"{home} cannot be written (read-only file system or no permission)" in checked.stderr
    # a mount that turns read-only after loading: the writer's connection fails at once, not after the
    # LOCK_WAIT_SECONDS a lock held by another process gets
    written = _in_read_only_mount(read_only, f"""
        import time
        from genai_platform.defs.database import PlatformDuckDB
        started = time.monotonic()
        try:
            with PlatformDuckDB(database={str(database)!r}).transaction():
                pass
        finally:
            print(f"seconds {{time.monotonic() - started:.1f}}")""")
    seconds = float(written.stdout.split("seconds ")[1])
    assert written.returncode == 1 and seconds < LOCK_WAIT_SECONDS / 4, (seconds, written.stderr[-1000:])
    assert str(database) in written.stderr and "Read-only file system" in written.stderr
    assert os.access(database, os.W_OK)  # outside the namespace the file is as it was
