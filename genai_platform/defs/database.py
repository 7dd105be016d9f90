"""The DuckDB resource: transactions for the one writer, read-only connections for readers."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from genai_platform.datasets.catalog import check_name
from genai_platform.store.schema import ensure_schema, schema_differences

# Every asset that writes DuckDB runs in this pool; dagster.yaml limits pools to 1 slot.
DUCKDB_WRITE_POOL = "duckdb_write"
LOCK_WAIT_SECONDS = 120

# Database files whose schema this process has made (or found) current: ensure_schema runs once
# per process and file, not on every connection.
_schema_checked: set[str] = set()


@contextmanager
def _committed(con: duckdb.DuckDBPyConnection):
    """The body in one transaction on `con`: all of it commits, or none."""
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


class PlatformDuckDB(DuckDBResource):
    """dagster-duckdb's resource, plus transactions for writers and read-only readers.

    DuckDB allows one writing process; a connection that meets another process's lock waits
    for it. Before the first connection it hands out in a process, the resource brings the
    file to the current schema (store/schema.py), so writers never create the persistent tables
    themselves and readers of a home an older version wrote see the migrated tables.
    """

    def for_dataset(self, name: str) -> PlatformDuckDB:
        """The DuckDB file of one dataset partition: datasets/<name>/ beside this resource's file."""
        path = Path(self.database)
        return PlatformDuckDB(database=str(path.parent / "datasets" / check_name(name) / path.name),
                              connection_config=self.connection_config)

    @contextmanager
    def transaction(self):
        """A read-write connection in one transaction: all of it commits, or none."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            if self.database not in _schema_checked:
                with _committed(con):
                    ensure_schema(con)
                _schema_checked.add(self.database)
            with _committed(con):
                yield con
        finally:
            con.close()

    @contextmanager
    def read_connection(self):
        if not Path(self.database).exists():
            raise FileNotFoundError(f"DuckDB file {self.database} does not exist yet; "
                                    "materialize the ingestion assets first")
        con = self._connect(read_only=True)
        try:
            if self.database not in _schema_checked:
                if schema_differences(con):
                    # A read-only connection cannot migrate: do it once through a short write connection.
                    con.close()
                    writer = self._connect(read_only=False)
                    try:
                        with _committed(writer):
                            ensure_schema(writer)
                    finally:
                        writer.close()
                    con = self._connect(read_only=True)
                _schema_checked.add(self.database)
            yield con
        finally:
            con.close()

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """A connection, waiting up to LOCK_WAIT_SECONDS while another process holds the file's lock."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return duckdb.connect(self.database, read_only=read_only, config=self.connection_config)
            except duckdb.IOException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
