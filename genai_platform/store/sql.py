"""Every DuckDB statement of the platform, read from the .sql files shipped in genai_platform/store/sql/.

A file runs whole (`sql("schema")`), or is split at `-- name: NAME` lines into named statements
(`sql("queries", "dataset_info")`). Files are read through importlib.resources, so an installed
wheel finds them as a checkout does. A modality from another package keeps its SQL in its own folder
(`SqlFolder`), read the same way.
"""

from __future__ import annotations

import re
import warnings
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

import duckdb
import pyarrow as pa

NAME_MARKER = re.compile(r"^-- name: (\w+)\s*$", flags=re.MULTILINE)


class SqlFolder:
    """A folder of .sql files (a path or an importlib.resources traversable); `label` names it in errors."""

    def __init__(self, folder: Traversable, label: str):
        self.folder, self.label = folder, label

    def statement(self, file: str, name: str | None = None) -> str:
        """The text of <folder>/<file>.sql, or of its statement marked `-- name: <name>`."""
        if name is None:
            return self._file_text(file)
        statements = self._named_statements(file)
        if name not in statements:
            raise LookupError(f"{self.label}/{file}.sql has no statement named {name!r}; "
                              f"it names {', '.join(statements) or 'none'}")
        return statements[name]

    def names(self, file: str) -> list[str]:
        """The named statements of <folder>/<file>.sql, in file order."""
        return list(self._named_statements(file))

    @cache
    def _file_text(self, file: str) -> str:
        path = self.folder / f"{file}.sql"
        if not path.is_file():
            raise FileNotFoundError(f"{self.label}/{file}.sql is missing: no SQL file named {file!r} there")
        return path.read_text(encoding="utf-8")

    @cache
    def _named_statements(self, file: str) -> dict[str, str]:
        parts = NAME_MARKER.split(self._file_text(file))
        return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


PLATFORM_SQL = SqlFolder(resources.files("genai_platform.store") / "sql", "genai_platform/store/sql")


def sql(file: str, name: str | None = None) -> str:
    """The text of store/sql/<file>.sql, or of its statement marked `-- name: <name>`."""
    return PLATFORM_SQL.statement(file, name)


def arrow_table(con: duckdb.DuckDBPyConnection, statement: str, parameters: dict | None = None) -> pa.Table:
    """The statement's result as an Arrow table (columns as buffers, no Python object per value)."""
    with warnings.catch_warnings():
        # DuckDB suggests con.sql(), which fails while a caller's earlier fetchone() left a result open;
        # the DB-API route costs one extra copy of the result's bytes
        warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
        return con.execute(statement, parameters or {}).to_arrow_table()


