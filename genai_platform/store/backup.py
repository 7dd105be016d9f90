"""The DuckDB file's integrity and its backups: every table read through (DuckDB checks each block's
checksum as it reads it), a consistent copy kept after every successful night, and a copy put back.

A backup is a copy of the file (and of its write-ahead log, when one is left) taken while this process holds
a read-only connection: DuckDB's file lock then keeps every writer out, so the copy is of one committed
state. It is verified like the live file before it counts, written under a temporary name, synced and
renamed (files.atomic_path), as a restored file is.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from genai_platform.errors import DamagedArtifact
from genai_platform.files import atomic_path
from genai_platform.store.sql import sql

BACKUP_FOLDER = "backups"  # beside the DuckDB file
DEFAULT_KEEP_BACKUPS = 3
RECOVERY = "restore the newest backup with `genai-platform restore` (`genai-platform restore --list` lists them)"


def table_problem(con: duckdb.DuckDBPyConnection) -> str | None:
    """Every value of every table read (a hash folded over each row): DuckDB's error for the first block whose
    checksum fails, or None when every table reads back whole."""
    try:
        for (table,) in con.execute(sql("queries", "table_names")).fetchall():
            # an identifier from the catalog, quoted; never a value from outside
            con.execute(f'SELECT count(*), bit_xor(hash(t)) FROM "{table}" AS t').fetchall()
    except duckdb.Error as error:
        return str(error)
    return None


def file_problem(path: Path) -> str | None:
    """Why the DuckDB file at `path` cannot be read whole (opened read-only: its write-ahead log is replayed
    in memory only), or None."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        return str(error)
    try:
        return table_problem(con)
    finally:
        con.close()


def check_readable(path: Path) -> None:
    """Raise DamagedArtifact naming the file and the recovery command when the file is damaged."""
    if path.exists() and (problem := file_problem(path)):
        raise DamagedArtifact(f"DuckDB file {path} is damaged ({problem}); nothing was written to it: {RECOVERY}")


def backups(database: Path) -> list[Path]:
    """The kept backups of the DuckDB file, newest first."""
    folder = database.parent / BACKUP_FOLDER
    return sorted(folder.glob(f"{database.stem}-*.duckdb"), reverse=True) if folder.is_dir() else []


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _utc_stamp() -> str:
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"


def back_up(database: Path, label: str, keep: int = DEFAULT_KEEP_BACKUPS) -> Path:
    """A verified copy of the DuckDB file in backups/ beside it, named by the UTC time and `label` (the run);
    the newest `keep` backups stay, older ones are deleted."""
    target = database.parent / BACKUP_FOLDER / f"{database.stem}-{_utc_stamp()}-{label}.duckdb"
    with atomic_path(target) as staging:
        try:
            con = duckdb.connect(str(database), read_only=True)  # holds writers off while the bytes are copied
            try:
                shutil.copyfile(database, staging)
                if _wal(database).exists():
                    shutil.copyfile(_wal(database), _wal(staging))
            finally:
                con.close()
            if problem := file_problem(staging):
                raise DamagedArtifact(f"the backup of {database} does not read back whole ({problem}); {database} "
                                      f"itself may be damaged: {RECOVERY}")
            con = duckdb.connect(str(staging))  # folds the copied log in, so the backup is one file
            con.execute("CHECKPOINT")
            con.close()
        finally:
            _wal(staging).unlink(missing_ok=True)
    for old in backups(database)[keep:]:
        old.unlink()
    return target


def restore(database: Path, backup: Path) -> Path | None:
    """Put `backup` in place of the DuckDB file, verified first; the file it replaces (and its write-ahead
    log) is kept beside it as <name>.damaged-<UTC time>. Returns that kept file's path, if there was one."""
    if problem := file_problem(backup):
        raise DamagedArtifact(f"backup {backup} does not read back whole ({problem}); choose another "
                              "(genai-platform restore --list)")
    kept = None
    with atomic_path(database) as staging:
        shutil.copyfile(backup, staging)
        if database.exists():  # moved aside only once the copy is whole
            kept = database.with_name(f"{database.name}.damaged-{_utc_stamp()}")
            os.replace(database, kept)
            if _wal(database).exists():
                os.replace(_wal(database), _wal(kept))
    return kept
