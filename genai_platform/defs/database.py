"""The DuckDB resource: transactions for the one writer, read-only connections for readers."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

# Every asset that writes DuckDB runs in this pool; dagster.yaml limits pools to 1 slot.
DUCKDB_WRITE_POOL = "duckdb_write"
LOCK_WAIT_SECONDS = 120


class PlatformDuckDB(DuckDBResource):
    """dagster-duckdb's resource, plus transactions for writers and read-only readers.

    DuckDB allows one writing process; a reader that meets a writer's lock waits for it.
    """

    @contextmanager
    def transaction(self):
        """A read-write connection in one transaction: all of it commits, or none."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with self.get_connection() as con:
            try:  # get_connection() does not close the connection when the body raises
                con.begin()
                try:
                    yield con
                except BaseException:
                    con.rollback()
                    raise
                con.commit()
            finally:
                con.close()

    @contextmanager
    def read_connection(self):
        if not Path(self.database).exists():
            raise FileNotFoundError(f"DuckDB file {self.database} does not exist yet; materialize the ingestion assets first")
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                con = duckdb.connect(self.database, read_only=True)
                break
            except duckdb.IOException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        try:
            yield con
        finally:
            con.close()
