"""database_backup: after a night whose every step succeeded, a verified copy of the DuckDB file is kept
(store/backup.py); `genai-platform restore` puts one back."""

import time
from pathlib import Path

import dagster as dg
from pydantic import Field

from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.defs.datasets import dataset_database, partitions_for
from genai_platform.store.backup import DEFAULT_KEEP_BACKUPS, back_up


class BackupConfig(dg.Config):
    keep_backups: int = Field(default=DEFAULT_KEEP_BACKUPS, ge=1, description="Backups of the DuckDB file kept "
                              "(the newest this many, in backups/ beside it).")


def backup_asset(datasets_path: Path | None = None) -> dg.AssetsDefinition:
    """database_backup (partitioned by dataset with a datasets file)."""
    # in the write pool: its read-only connection holds DuckDB's lock while the file is copied
    @dg.asset(group_name="reports", deps=["model_comparison_report", "ethics_report"], pool=DUCKDB_WRITE_POOL,
              kinds={"duckdb"},
              partitions_def=partitions_for(datasets_path))
    def database_backup(context: dg.AssetExecutionContext, config: BackupConfig, duckdb: PlatformDuckDB):
        """A verified copy of the DuckDB file in backups/ beside it, once the night's reports are written; the
        newest `keep_backups` are kept. A DuckLake keeps its own snapshots: nothing is copied."""
        duckdb = dataset_database(context, duckdb)
        if duckdb.lake_catalog:
            context.log.info("the tables are in a DuckLake: back up its PostgreSQL catalog and Parquet folder instead")
            return dg.MaterializeResult(metadata={"backup": "none (DuckLake)"})
        database = Path(duckdb.database)
        started = time.perf_counter()
        path = back_up(database, context.run_id.split("-")[0], config.keep_backups)
        seconds, size = time.perf_counter() - started, path.stat().st_size
        context.log.info(f"backed up {database} to {path} ({size:,} bytes, {seconds:.1f} s)")
        return dg.MaterializeResult(metadata={"backup": dg.MetadataValue.path(str(path)), "bytes": size,
                                              "seconds": round(seconds, 2)})

    return database_backup
