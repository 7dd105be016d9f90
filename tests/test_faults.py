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

import dagster as dg
import duckdb
import pytest
from helpers import home_state, materialize, smoke_environment

from genai_platform.cli import main as cli
from genai_platform.datasets.text_sources import lee_corpus_path
from genai_platform.defs.database import LOCK_WAIT_SECONDS
from genai_platform.defs.resources import resources_from_env
from genai_platform.store.backup import backups
from genai_platform.store.versions import champion

ROOT = Path(__file__).resolve().parent.parent
DAGSTER = str(Path(sys.executable).parent / "dagster")
RETRAIN_VAE = {"ops": {"train_vae": {"config": {"steps": 30}}}}


def _session_processes(session: int) -> list[str]:
    """The live processes of a session, as "pid: command line" (read from /proc: `ps` cuts its lines to
    $COLUMNS, which CI sets). A zombie has ended; it waits for init to reap it."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # the fields after the command's name in parentheses: state, ppid, pgrp, session, ...
            state, _, _, sid = stat.read_text().rpartition(")")[2].split()[:4]
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):  # ended while being read
            continue
        if int(sid) == session and state != "Z":
            found.append(f"{stat.parent.name}: {command.strip()}")
    return found


def _processes_left_after(session: int, seconds: float = 15) -> list[str]:
    """The session's processes once they have had `seconds` to end: a step process or multiprocessing's resource
    tracker exits on its own once its parent is gone, a moment after the run's process (a leak stays)."""
    deadline = time.time() + seconds
    while (left := _session_processes(session)) and time.time() < deadline:
        time.sleep(0.2)
    return left


def _dagster_in_session(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """`dagster ARGS` on the code location, in a session of its own, its output to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen([DAGSTER, *args, "-m", "genai_platform.definitions"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _materialize_with_the_cli(selection: str, env: dict) -> subprocess.CompletedProcess:
    """`dagster asset materialize --select SELECTION`, run to its end."""
    return subprocess.run([DAGSTER, "asset", "materialize", "-m", "genai_platform.definitions", "--select", selection],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


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
    run = _dagster_in_session(["job", "execute", "-j", "nightly_retraining"], env, log)
    try:
        _wait_for(log, 'Started execution of step "train_', run, 300)
        running = _session_processes(run.pid)
        assert any("multiprocessing.forkserver" in p for p in running), running
        run.send_signal(signal.SIGKILL)
        run.wait()
        assert _processes_left_after(run.pid) == []
    finally:
        subprocess.run(["pkill", "-9", "-s", str(run.pid)])
    after = _materialize_with_the_cli("raw_text", env)
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


def _damage(path: Path) -> None:
    """Overwrite 64 bytes in the middle of a file, as a bad sector or a stray write would."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    path.write_bytes(bytes(data))


def test_a_damaged_champion_is_caught_and_the_newest_intact_earlier_one_serves(smoke_run, tmp_path, capsys):
    """A champion's weights overwritten mid-file: the CLI names the file (status 2), the night's evaluation
    goes on without comparing with it, its promotion fails its ERROR check naming family, version and file, and
    the earlier intact champion serves."""
    for folder in ("home", "reports"):
        shutil.copytree(smoke_run.root / folder, tmp_path / folder)
    env = smoke_environment(tmp_path)
    resources = resources_from_env(env)
    first = home_state(tmp_path)["champion"]
    assert materialize(resources, selection=["train_vae"], run_config=RETRAIN_VAE).success
    assert cli(["promote", "vae"], env) == 0
    with duckdb.connect(str(tmp_path / "home" / "genai.duckdb"), read_only=True) as con:
        second = champion(con, "vae")
    assert second != first
    weights = tmp_path / "home" / "models" / "vae" / "versions" / second / "model.safetensors"
    _damage(weights)
    capsys.readouterr()

    assert cli(["sample", "vae", "-n", "4", "--out", str(tmp_path / "s.png")], env) == 2
    error = capsys.readouterr().err
    assert f"the model kept in {weights.parent} is damaged: {weights} has SHA-256" in error and "Traceback" not in error

    # a night with a new challenger: the evaluation cannot load the damaged champion, says so and skips the
    # comparisons with it, so the night goes on to the promotion step, which checks what serves
    night = materialize(resources, selection=["train_vae", "samples_vae", "image_evaluation"],
                        run_config={"ops": {"train_vae": {"config": {"steps": 23}}}})
    assert night.success
    with duckdb.connect(str(tmp_path / "home" / "genai.duckdb"), read_only=True) as con:
        assert not con.execute("SELECT count(*) FROM metric_comparisons WHERE run_id = ? AND baseline_run_id = ?",
                               [night.run_id, second]).fetchone()[0]
        assert con.execute("SELECT count(*) FROM metrics_history WHERE run_id = ? AND subject = 'vae' AND "
                           "metric = 'nll_bound'", [night.run_id]).fetchone()[0] == 1  # the challenger's own row
    capsys.readouterr()

    # the night's promotion (here: asked to keep the damaged version serving) falls back
    result = materialize(resources, selection=["champion_vae"], raise_on_error=False,
                         run_config={"ops": {"champion_vae": {"config": {"rollback_to": second}}}})
    (intact,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "champion_intact"]
    assert not intact.passed and intact.severity == dg.AssetCheckSeverity.ERROR
    assert str(weights) in intact.description
    metadata = result.asset_materializations_for_node("champion_vae")[0].metadata
    assert metadata["decision"].value == "fallback" and metadata["champion"].value == first
    assert f"version {second} is damaged: {weights}" in metadata["reason"].value
    assert cli(["sample", "vae", "-n", "4", "--out", str(tmp_path / "s.png")], env) == 0
    assert (tmp_path / "s.png").exists()


def test_a_damaged_database_fails_the_first_step_and_a_backup_restores_the_nights(smoke_run, tmp_path, capsys):
    """genai.duckdb cut to half after good nights: the night's first step fails at once naming the file and
    the recovery command; `genai-platform restore` puts the newest backup back (the damaged file kept beside
    it) and the next night succeeds."""
    for folder in ("home", "reports"):
        shutil.copytree(smoke_run.root / folder, tmp_path / folder)
    env = smoke_environment(tmp_path)
    database = tmp_path / "home" / "genai.duckdb"
    assert len(backups(database)) == 1  # the session's night kept one, before its families were promoted by hand
    assert materialize(resources_from_env(env), selection=["database_backup"]).success  # as a night ends
    served = home_state(tmp_path)["champion"]
    os.truncate(database, database.stat().st_size // 2)

    started = time.monotonic()
    result = materialize(resources_from_env(env), raise_on_error=False)
    failure = result.get_step_failure_events()[0]
    assert failure.step_key in ("raw_images", "raw_text") and time.monotonic() - started < 60
    message = failure.event_specific_data.error.cause.message
    assert f"DuckDB file {database} is damaged" in message and "genai-platform restore" in message
    assert {e.step_key for e in result.get_step_failure_events()} <= {"raw_images", "raw_text"}

    capsys.readouterr()
    assert cli(["restore", "--list"], env) == 0
    assert backups(database)[0].name in capsys.readouterr().out
    assert cli(["restore", "--generation", "3"], env) == 2
    assert cli(["restore"], env) == 0
    assert "the file it replaced is kept as" in capsys.readouterr().out
    (damaged,) = database.parent.glob("genai.duckdb.damaged-*")
    assert damaged.stat().st_size < database.stat().st_size
    assert home_state(tmp_path)["champion"] == served
    assert materialize(resources_from_env(env)).success
    assert len(backups(database)) == 3


@pytest.mark.slow
def test_a_run_stopped_with_sigterm_mid_step_leaves_no_process_and_the_tables_it_had(smoke_run, tmp_path):
    """SIGTERM to `dagster asset materialize` while text_corpus preprocesses a 20 MB document: the run ends,
    no step process outlives it, yesterday's text tables stay, and the next run goes through."""
    for folder in ("home", "reports"):
        shutil.copytree(smoke_run.root / folder, tmp_path / folder)
    lee = [line for line in lee_corpus_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    joined = " ".join(lee)
    long_line = (joined + " ") * (20_000_000 // len(joined))
    source = tmp_path / "long.txt"
    source.write_text("\n\n".join(lee) + "\n\n" + long_line + "\n", encoding="utf-8")
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    env = {**smoke_environment(tmp_path), "DAGSTER_HOME": str(dagster_home), "GENAI_TEXT_SOURCE": str(source)}
    database = tmp_path / "home" / "genai.duckdb"
    with duckdb.connect(str(database), read_only=True) as con:
        documents = con.execute("SELECT count(*) FROM documents").fetchone()[0]
    log = tmp_path / "stopped.log"
    run = _dagster_in_session(["asset", "materialize", "--select", "raw_text,text_corpus"], env, log)
    try:
        _wait_for(log, 'Started execution of step "text_corpus"', run, 300)
        time.sleep(1)
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=120)
        assert 'Finished execution of step "text_corpus"' not in log.read_text(errors="replace")
        assert _processes_left_after(run.pid) == []
    finally:
        subprocess.run(["pkill", "-9", "-s", str(run.pid)])
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM documents").fetchone()[0] == documents
    after = _materialize_with_the_cli("raw_text,text_corpus", smoke_environment(tmp_path) | {
        "DAGSTER_HOME": str(dagster_home)})
    assert after.returncode == 0, after.stdout[-2000:] + after.stderr[-2000:]
