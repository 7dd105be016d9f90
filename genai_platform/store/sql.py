"""The SQL files shipped inside this package (store/sql/): every DuckDB statement lives there."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent / "sql"


@cache
def sql(name: str) -> str:
    path = SQL_DIR / f"{name}.sql"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: no SQL file named {name!r} ships with genai_platform.store")
    return path.read_text(encoding="utf-8")


@cache
def named_queries(name: str) -> dict[str, str]:
    """Queries of a file split at `-- name: NAME` markers, in file order."""
    parts = re.split(r"^-- name: (\w+)\s*$", sql(name), flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}
