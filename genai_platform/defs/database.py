"""The DuckDB resource: transactions for the one writer, read-only connections for readers; the tables in
a local DuckDB file (the default) or in a DuckLake that many machines share (a PostgreSQL catalog)."""

from __future__ import annotations

import importlib.util
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field, PrivateAttr, field_validator

from genai_platform.datasets.datasets_file import check_name
from genai_platform.store.backup import check_readable
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


def is_lock_conflict(error: duckdb.Error) -> bool:
    """Whether DuckDB refused the file because another process holds its lock: the one I/O error that
    waiting can end."""
    return "Could not set lock on file" in str(error)


class PlatformDuckDB(DuckDBResource):
    """dagster-duckdb's resource, plus transactions for writers and read-only readers.

    DuckDB allows one writing process; a connection that meets another process's lock waits
    for it. Before the first connection it hands out in a process, the resource brings the
    file to the current schema (store/schema.py), so writers never create the persistent tables
    themselves and readers of a home an older version wrote see the migrated tables.

    With `lake_catalog`, the tables live in a DuckLake instead: its catalog in PostgreSQL, its data
    as Parquet files under `lake_data`, which every machine reaches. Each connection is an in-memory
    DuckDB that attaches the lake and uses it, so the same SQL runs on either store, and DuckLake's
    snapshots give each transaction all of its writes or none, across processes and machines.
    """

    lake_catalog: str = Field(default="", description="GENAI_TABLES_CATALOG: a DuckLake catalog in PostgreSQL "
                              "('postgres:dbname=genai host=... user=...', libpq keywords) for tables that many "
                              "machines share; empty: the local DuckDB file `database`")
    lake_data: str = Field(default="", description="GENAI_TABLES_DATA: the folder where the DuckLake writes its "
                           "Parquet files (every machine must reach it); required with GENAI_TABLES_CATALOG")
    # the dataset partition whose tables these are: its own DuckLake schema (a local file has its own file)
    _lake_schema: str = PrivateAttr(default="")

    @field_validator("lake_catalog")
    @classmethod
    def _postgres_catalog(cls, value: str) -> str:
        if value and not value.startswith("postgres:"):
            raise ValueError(f"lake_catalog {value!r} is not a PostgreSQL DuckLake catalog ('postgres:dbname=...')")
        return value

    @field_validator("lake_data")
    @classmethod
    def _absolute_folder(cls, value: str) -> str:
        if value and not Path(value).is_absolute():
            raise ValueError(f"lake_data {value!r} is not an absolute folder path")
        return value.rstrip("/") + "/" if value else value

    def for_dataset(self, name: str) -> PlatformDuckDB:
        """The tables of one dataset partition: the DuckDB file datasets/<name>/ beside this resource's file,
        or the DuckLake schema <name>."""
        if self.lake_catalog:
            lake = PlatformDuckDB(database=self.database, connection_config=self.connection_config,
                                  lake_catalog=self.lake_catalog, lake_data=self.lake_data)
            lake._lake_schema = check_name(name)
            return lake
        path = Path(self.database)
        return PlatformDuckDB(database=str(path.parent / "datasets" / check_name(name) / path.name),
                              connection_config=self.connection_config)

    @property
    def location(self) -> str:
        """Where the tables are, for messages (never the catalog string, which may hold a password)."""
        if self.lake_catalog:
            return f"the DuckLake schema {self._lake_schema or 'main'}"
        return f"DuckDB file {self.database}"

    def check_readable(self) -> None:
        """Every table of the local DuckDB file reads back whole (store/backup.py), before a night writes to
        it; a damaged file fails naming itself and the recovery command. A DuckLake's Parquet files and
        catalog are not read through here."""
        if not self.lake_catalog:
            check_readable(Path(self.database))

    @property
    def _tables_key(self) -> str:
        """These tables, for the once-per-process schema check."""
        return f"{self.lake_catalog}#{self._lake_schema}" if self.lake_catalog else self.database

    @contextmanager
    def transaction(self):
        """A read-write connection in one transaction: all of it commits, or none."""
        if not self.lake_catalog:
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with self._one_writer():
            con = self._connect(read_only=False)
            try:
                if self._tables_key not in _schema_checked:
                    with _committed(con):
                        ensure_schema(con, self.location)
                    _schema_checked.add(self._tables_key)
                with _committed(con):
                    yield con
            finally:
                con.close()

    @contextmanager
    def read_connection(self):
        """A connection for reading; on a DuckLake, all its statements read one snapshot."""
        if not self.lake_catalog and not Path(self.database).exists():
            raise FileNotFoundError(f"DuckDB file {self.database} does not exist yet; "
                                    "materialize the ingestion assets first")
        con = self._connect(read_only=True)
        try:
            if self._tables_key not in _schema_checked:
                if schema_differences(con):
                    # A read-only connection cannot migrate: a short write transaction does, once.
                    con.close()
                    with self.transaction():
                        pass
                    con = self._connect(read_only=True)
                _schema_checked.add(self._tables_key)
            if self.lake_catalog:
                con.begin()  # else every statement would read the newest snapshot, writers' commits between
            yield con
        finally:
            con.close()  # ends a reader's transaction too

    @contextmanager
    def _one_writer(self):
        """On a DuckLake, one writing transaction at a time across every process and machine, as a DuckDB
        file's lock gives on one: a PostgreSQL advisory lock in the catalog's database, waited for up to
        LOCK_WAIT_SECONDS. DuckLake alone fails one of two transactions that delete rows of one Parquet
        file, and lets two that insert a modality's first `datasets` row both commit. The lock belongs to
        the session, so a killed process's lock goes with its connection."""
        if not self.lake_catalog:
            yield
            return
        try:
            import psycopg2  # the [ducklake] extra's
        except ImportError:
            raise ValueError("the DuckLake table store needs psycopg2: pip install 'genai-platform[ducklake]'") from None
        session = psycopg2.connect(self.lake_catalog.removeprefix("postgres:"))
        try:
            with session.cursor() as cursor:
                cursor.execute("SET lock_timeout = %s", (f"{LOCK_WAIT_SECONDS}s",))
                cursor.execute("SELECT pg_advisory_lock(%s)", (LAKE_WRITER_LOCK,))
            yield
        finally:
            session.close()

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """A connection, waiting up to LOCK_WAIT_SECONDS while another process holds the file's lock; any
        other I/O error (a read-only or missing folder, no permission, a damaged file) fails at once."""
        if self.lake_catalog:
            return self._connect_lake(writer=not read_only)
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return duckdb.connect(self.database, read_only=read_only, config=self.connection_config)
            except duckdb.IOException as error:
                if not is_lock_conflict(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _connect_lake(self, writer: bool) -> duckdb.DuckDBPyConnection:
        """A cursor of this process's in-memory DuckDB with the lake attached, using the lake (or the
        dataset's schema in it: a writer, holding the writers' lock, makes it; a reader needs it made)."""
        key = (self.lake_catalog, self.lake_data, tuple(sorted(self.connection_config.items())))
        if key not in _attached_lakes:  # loading the extensions and attaching takes 0.3 s: once per process
            _attached_lakes[key] = self._attach_lake()
        con = _attached_lakes[key].cursor()
        try:
            if self._lake_schema:
                if writer:
                    con.execute(f'CREATE SCHEMA IF NOT EXISTS {LAKE}."{self._lake_schema}"')
                elif not con.execute("SELECT count(*) FROM duckdb_schemas() WHERE database_name = $lake AND "
                                     "schema_name = $schema", {"lake": LAKE, "schema": self._lake_schema}).fetchone()[0]:
                    raise FileNotFoundError(f"{self.location} does not exist yet; materialize the ingestion "
                                            "assets first")
                con.execute(f'USE {LAKE}."{self._lake_schema}"')
            else:
                con.execute(f"USE {LAKE}")
        except BaseException:
            con.close()
            raise
        return con

    def _attach_lake(self) -> duckdb.DuckDBPyConnection:
        if not self.lake_data:
            raise ValueError("a DuckLake needs lake_data (GENAI_TABLES_DATA), the folder of its Parquet files")
        con = duckdb.connect(config=self.connection_config)
        try:
            for extension in LAKE_EXTENSIONS:
                con.execute(f"LOAD '{lake_extension(extension)}'")
            # literals: ATTACH takes no prepared parameters (both values are checked when the code location loads)
            con.execute(f"ATTACH 'ducklake:{_sql_text(self.lake_catalog)}' AS {LAKE} "
                        f"(DATA_PATH '{_sql_text(self.lake_data)}', DATA_INLINING_ROW_LIMIT 0)")
        except BaseException:
            con.close()
            raise
        return con


# per process: (catalog, data path, settings) -> an in-memory DuckDB with that lake attached (made in the step's
# own process, never before a fork)
_attached_lakes: dict[tuple, duckdb.DuckDBPyConnection] = {}
LAKE = "platform"  # the attached lake's name in every connection
LAKE_WRITER_LOCK = 0x67656E6169  # the advisory lock key of the lake's writers ("genai")
# the DuckLake extension and the catalog's, from their pip packages (built for one DuckDB release each)
LAKE_EXTENSIONS = {"ducklake": "duckdb_extension_ducklake", "postgres_scanner": "duckdb_extension_postgres_scanner"}


def lake_extension(name: str) -> Path:
    """The extension file of `name` that its pip package ships for the installed DuckDB."""
    package = LAKE_EXTENSIONS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ValueError(f"the DuckLake table store needs {package.replace('_', '-')}: "
                         "pip install 'genai-platform[ducklake]'")
    path = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        built = sorted(p.name for p in (Path(spec.origin).parent / "extensions").glob("v*"))
        raise ValueError(f"{package.replace('_', '-')} ships {name} for DuckDB {', '.join(built) or 'no release'}, "
                         f"not the installed {duckdb.__version__}: pip install 'genai-platform[ducklake]'")
    return path


def _sql_text(value: str) -> str:
    """`value` inside single quotes of a SQL literal."""
    return value.replace("'", "''")
