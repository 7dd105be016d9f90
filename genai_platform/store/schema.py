"""The persistent tables (sql/schema.sql): created once, and homes written by older versions migrated.

defs/database.py runs ensure_schema once per process and database file; writers create only their own
raw and staging tables.
"""

from __future__ import annotations

from functools import cache

import duckdb
import numpy as np
import pyarrow as pa

from genai_platform.errors import DataError
from genai_platform.metrics.catalog import REFERENCES
from genai_platform.store.sql import arrow_table, sql


def ensure_schema(con: duckdb.DuckDBPyConnection, location: str | None = None) -> None:
    """Create the persistent tables, or bring a home written by an older version to the current columns;
    `location` names the tables in an error (default: the database file's path)."""
    columns = _table_columns(con)
    labelled_references = "family" in columns.get("metrics_history", {})
    if labelled_references:
        con.execute(sql("migrate_metrics_history", "add_roles"))
    if columns.get("image_samples", {}).get("pixels") == "FLOAT[]":
        _migrate_image_samples(con)
    con.execute(sql("schema"))
    con.execute(sql("migrate_versions"))
    if "champion" in {r[0] for r in con.execute(sql("queries", "not_null_columns"), {"table": "promotions"}).fetchall()}:
        con.execute(sql("queries", "nullable_champion"))
    if labelled_references:  # after every ALTER: DuckDB 1.5 cannot alter a table it updated in the transaction
        _key_references(con)
    differences = schema_differences(con)
    if differences:
        location = location or f"DuckDB file {con.execute(sql('queries', 'database_path')).fetchone()[0]}"
        raise DataError(f"{location} has tables this version cannot migrate: {'; '.join(differences)}")


def schema_differences(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What keeps the database from the current schema, one phrase per table; empty when it is current."""
    actual = _table_columns(con)
    differences = []
    for table, expected in _current_schema().items():
        if table not in actual:
            differences.append(f"table {table} is missing")
            continue
        missing = [f"{name} {kind}" for name, kind in expected.items() if actual[table].get(name) != kind]
        extra = [f"{name} {kind}" for name, kind in actual[table].items() if expected.get(name) != kind]
        if missing or extra:
            differences.append(f"table {table} lacks columns [{', '.join(missing)}] "
                               f"and has unexpected [{', '.join(extra)}]")
    return differences


def _key_references(con: duckdb.DuckDBPyConnection) -> None:
    """Homes from before roles stored reference rows under their display label in a `family` column."""
    for key, reference in REFERENCES.items():
        con.execute(sql("migrate_metrics_history", "label_to_key"),
                    {"key": key, "role": reference.role, "label": reference.label})


def _migrate_image_samples(con: duckdb.DuckDBPyConnection) -> None:
    """Homes from before compact samples held each sample's pixels as a FLOAT[] list: rewritten as float32
    BLOBs through Arrow (the list's values are those bytes), one sample run at a time, into the table as
    schema.sql makes it, so kept champions keep their samples."""
    runs = con.execute(sql("migrate_image_samples", "runs")).fetchall()
    con.execute(sql("migrate_image_samples", "rename"))
    con.execute(sql("schema"))
    for family, run_id in runs:
        table = arrow_table(con, sql("migrate_image_samples", "read"), {"family": family, "run_id": run_id})
        pixels = table.column("pixels").combine_chunks().cast(pa.large_list(pa.float32()))
        values = np.ascontiguousarray(pixels.flatten().to_numpy(zero_copy_only=False), dtype=np.dtype("<f4"))
        offsets = (pixels.offsets.to_numpy().astype(np.int64) - pixels.offsets[0].as_py()) * 4  # bytes
        blobs = pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(pixels),
                                                 [None, pa.py_buffer(offsets), pa.py_buffer(values)])
        blobs.validate(full=True)
        con.register("image_samples_arrow", table.set_column(table.schema.get_field_index("pixels"), "pixels", blobs))
        try:
            con.execute(sql("migrate_image_samples", "insert"))
        finally:
            con.unregister("image_samples_arrow")
    con.execute(sql("migrate_image_samples", "drop_old"))


@cache
def _current_schema() -> dict[str, dict[str, str]]:
    """The columns schema.sql creates, read back from a scratch in-memory database."""
    with duckdb.connect() as scratch:
        scratch.execute(sql("schema"))
        return _table_columns(scratch)


def _table_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    columns: dict[str, dict[str, str]] = {}
    for table, column, kind in con.execute(sql("queries", "table_columns")).fetchall():
        columns.setdefault(table, {})[column] = kind
    return columns
