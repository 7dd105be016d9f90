"""How a modality's raw table becomes its clean, split tables: SQL that stages them, checks that judge
the staged tables, and the swap that puts them in place, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from genai_platform.store.sql import PLATFORM_SQL, SqlFolder, sql


@dataclass
class CheckOutcome:
    """One data check's result: what was found, how many rows break the rule, a few of them."""
    name: str
    passed: bool
    detail: str
    offending_count: int
    examples: list[str]


def run_checks(con: duckdb.DuckDBPyConnection, checks_file: str, folder: SqlFolder) -> list[CheckOutcome]:
    """Every check of <folder>/<checks_file>.sql, in file order: each a row (passed, detail, offending_count,
    examples)."""
    outcomes = []
    for name in folder.names(checks_file):
        passed, detail, offending_count, examples = con.execute(folder.statement(checks_file, name)).fetchone()
        outcomes.append(CheckOutcome(name, bool(passed), str(detail), int(offending_count), list(examples)))
    return outcomes


@dataclass(frozen=True)
class SqlPreprocessing:
    """A modality's preprocessing: `script`.sql in `folder` names the statements `stage` (build *_staging
    tables from `raw_table`), `swap_in` (replace the live tables with them), `stats` (one row for the log)
    and `restore_raw` (put <raw_table>_previous back); `checks`.sql holds the named checks, each described."""
    script: str
    checks: str
    raw_table: str
    check_descriptions: Mapping[str, str]
    folder: SqlFolder = PLATFORM_SQL

    def check_names(self) -> list[str]:
        return self.folder.names(self.checks)

    def stage(self, con: duckdb.DuckDBPyConnection) -> list[CheckOutcome]:
        """Build the staging tables and judge them."""
        con.execute(self.folder.statement(self.script, "stage"))
        return run_checks(con, self.checks, self.folder)

    def swap_in(self, con: duckdb.DuckDBPyConnection) -> dict:
        """Replace the live tables with the staged ones; the stats row."""
        con.execute(self.folder.statement(self.script, "swap_in"))
        cursor = con.execute(self.folder.statement(self.script, "stats"))
        return dict(zip([d[0] for d in cursor.description], cursor.fetchone()))

    def restore_previous_raw(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Yesterday's raw table back in place of the one a refused preprocessing read, when the ingestion kept
        it (as <raw table>_previous; the first ingestion has none): whether it was."""
        if not con.execute(sql("queries", "table_exists"), {"table": f"{self.raw_table}_previous"}).fetchone()[0]:
            return False
        con.execute(self.folder.statement(self.script, "restore_raw"))
        return True
