"""The shared table store: every table of the smoke job in a DuckLake whose catalog is a real PostgreSQL server
the test starts on loopback (Debian's postgresql package) and whose data is Parquet files in a folder; no
DuckDB file anywhere. Another process (a second machine's view) reads the versions back through the CLI."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import materialize, smoke_environment
from postgres_server import psql

from genai_platform.defs.resources import resources_from_env

pytestmark = pytest.mark.e2e
CATALOG_DATABASE = "tables"


@pytest.fixture(scope="module")
def lake_env(postgres, tmp_path_factory) -> dict:
    psql(postgres, "postgres", f"CREATE DATABASE {CATALOG_DATABASE}")
    root = tmp_path_factory.mktemp("lake")
    return {**smoke_environment(root),
            "GENAI_TABLES_CATALOG": f"postgres:dbname={CATALOG_DATABASE} host=127.0.0.1 port={postgres} user=postgres",
            "GENAI_TABLES_DATA": str(root / "lake"), "_ROOT": str(root), "_PORT": str(postgres)}


def process_env(lake_env: dict) -> dict:
    """The environment of another process using the lake (without the fixture's own keys)."""
    return {key: value for key, value in lake_env.items() if not key.startswith("_")}


def catalog_rows(env: dict, query: str) -> list[str]:
    return psql(int(env["_PORT"]), CATALOG_DATABASE, query)


def test_the_smoke_job_keeps_every_table_in_a_ducklake_on_postgresql(lake_env):
    root = Path(lake_env["_ROOT"])
    result = materialize(resources_from_env(lake_env))
    assert result.success
    assert not list(root.rglob("*.duckdb")) and not list(root.rglob("*.duckdb.wal"))  # no local table store
    assert list((root / "lake").rglob("*.parquet"))  # the data, as Parquet files in the shared folder
    tables = set(catalog_rows(lake_env, "SELECT table_name FROM ducklake_table WHERE end_snapshot IS NULL"))
    assert {"datasets", "images", "documents", "metrics_history", "model_versions", "promotions",
            "image_samples"} <= tables
    assert int(catalog_rows(lake_env, "SELECT count(*) FROM ducklake_snapshot")[0]) > 20  # one per committed transaction
    # another process, as on another machine: the versions and the champion through the command line
    listing = subprocess.run([sys.executable, "-m", "genai_platform.cli", "versions", "lstm"],
                             env=process_env(lake_env),
                             capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr[-2000:]
    assert "champion" in listing.stdout and result.run_id in listing.stdout


def test_each_dataset_partition_is_a_schema_of_the_lake(lake_env):
    duckdb = resources_from_env(lake_env)["duckdb"]
    with duckdb.for_dataset("mnist").transaction() as con:  # the schema, made current
        con.execute("INSERT INTO datasets VALUES ('image', 'x', 'd', 'v', 1, '{}', now()::TIMESTAMP)")
    with duckdb.for_dataset("mnist").read_connection() as con:
        assert con.execute("SELECT source FROM datasets").fetchall() == [("x",)]
    with duckdb.for_dataset("other").transaction():
        pass  # its schema and empty tables
    with duckdb.for_dataset("other").read_connection() as con:
        assert con.execute("SELECT count(*) FROM datasets").fetchone() == (0,)
    assert "mnist" in catalog_rows(lake_env, "SELECT schema_name FROM ducklake_schema WHERE end_snapshot IS NULL")


def test_writers_take_turns_readers_read_one_snapshot_and_a_missing_dataset_is_not_made(lake_env):
    """Two DuckLake transactions that delete rows of one Parquet file conflict, so writers take turns on a
    PostgreSQL advisory lock (as on a DuckDB file's lock); a reader's statements all read the snapshot it
    began on; a reader of a dataset with no tables yet gets an error and creates nothing."""
    store = resources_from_env(lake_env)["duckdb"].for_dataset("turns")
    with store.transaction() as con:
        con.execute("INSERT INTO datasets VALUES ('image', 'a', 'd', 'v', 1, '{}', now()::TIMESTAMP)")
    spans = {}

    def write(name: str, source: str):
        with store.transaction() as con:
            started = time.monotonic()
            con.execute("DELETE FROM datasets WHERE modality = 'image'")
            con.execute("INSERT INTO datasets VALUES ('image', $source, 'd', 'v', 1, '{}', now()::TIMESTAMP)",
                        {"source": source})
            time.sleep(0.5)
        spans[name] = (started, time.monotonic())

    writers = [threading.Thread(target=write, args=(name, name)) for name in ("b", "c")]
    with store.read_connection() as reader:
        before = reader.execute("SELECT source FROM datasets").fetchall()
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        assert reader.execute("SELECT source FROM datasets").fetchall() == before == [("a",)]
    (first, second) = sorted(spans.values())
    # the second writer began after the first committed (each holds its turn 0.5 s; the margin is the first
    # thread's way from its commit to its clock reading, longer on a busy machine)
    assert second[0] >= first[1] - 0.25
    with store.read_connection() as con:
        assert len(con.execute("SELECT source FROM datasets").fetchall()) == 1
    with pytest.raises(FileNotFoundError, match="the DuckLake schema typo does not exist yet"):
        with resources_from_env(lake_env)["duckdb"].for_dataset("typo").read_connection():
            pass
    assert "typo" not in catalog_rows(lake_env, "SELECT schema_name FROM ducklake_schema WHERE end_snapshot IS NULL")


KILLED_WRITER = """
import os, time
from genai_platform.defs.resources import resources_from_env
store = resources_from_env(os.environ)["duckdb"]
with store.for_dataset("killed").transaction() as con:
    con.execute("INSERT INTO datasets VALUES ('text', 'half-written', 'd', 'v', 1, '{}', now()::TIMESTAMP)")
    print("inside", flush=True)
    time.sleep(120)
"""


def test_a_writer_killed_mid_transaction_leaves_nothing_and_frees_the_lock(lake_env):
    """SIGKILL of a process holding the writers' lock inside a lake transaction: its rows never appear, and the
    next writer gets the lock at once (it went with the killed process's PostgreSQL session)."""
    store = resources_from_env(lake_env)["duckdb"].for_dataset("killed")
    with store.transaction() as con:
        con.execute("INSERT INTO datasets VALUES ('image', 'kept', 'd', 'v', 1, '{}', now()::TIMESTAMP)")
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER], env=process_env(lake_env),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "inside"
    finally:
        writer.kill()
        writer.wait()
    started = time.monotonic()
    with store.transaction() as con:
        waited = time.monotonic() - started
        assert con.execute("SELECT modality, source FROM datasets").fetchall() == [("image", "kept")]
    assert waited < 10


@pytest.mark.parametrize("settings, message", [
    ({"GENAI_TABLES_CATALOG": "sqlite:catalog.db", "GENAI_TABLES_DATA": "lake"}, "not a PostgreSQL DuckLake catalog"),
    ({"GENAI_TABLES_CATALOG": "postgres:dbname=x"}, "GENAI_TABLES_DATA is not"),
    ({"GENAI_TABLES_CATALOG": "postgres:dbname=x", "GENAI_TABLES_DATA": "s3://bucket/lake"}, "httpfs"),
])
def test_a_bad_table_store_setting_stops_the_code_location(settings, message):
    with pytest.raises(ValueError, match=message):
        resources_from_env({**os.environ, **settings})
