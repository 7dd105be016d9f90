"""Preprocessing: each modality's SQL (for images and text, in store/sql/) turns its raw table into clean,
split tables.

Each asset builds staging tables, runs every check on them, and swaps them in only when all
pass, in one transaction: when a check fails the transaction rolls back, so yesterday's tables
stay, every check result is recorded, and the asset fails loudly.
"""

from pathlib import Path

import dagster as dg

from genai_platform.errors import DataValidationError
from genai_platform.defs.datasets import dataset_database, partitions_for
from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.modalities import MODALITIES
from genai_platform.modalities.base import Modality
from genai_platform.store.preprocessing import CheckOutcome, SqlPreprocessing


def _check_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name=outcome.name, passed=outcome.passed, metadata={
        "detail": outcome.detail, "offending_count": outcome.offending_count,
        "examples": dg.MetadataValue.json(outcome.examples)})


class _Refused(Exception):
    """A staged table failed a check."""


def _stage_check_and_swap_in(duckdb: PlatformDuckDB, preprocessing: SqlPreprocessing):
    """Yields the materialization and every check result, or every check result and then raises.

    Why a generator that raises rather than returning failed blocking checks: Dagster records a
    materialization for an asset that returns, and only afterwards fails the step for a failed
    blocking check, which would claim tables that were never swapped in. Yielding the check
    results first records every evaluation (failed ones too, for the UI), and the raise fails the
    step with no materialization, after the staging transaction has rolled back and the raw table
    the refused data came in has given way to yesterday's.
    """
    try:
        with duckdb.transaction() as con:
            outcomes = preprocessing.stage(con)
            if failed := [o for o in outcomes if not o.passed]:
                raise _Refused  # rolls the staged tables back
            stats = preprocessing.swap_in(con)
    except _Refused:
        yield from (_check_result(o) for o in outcomes)
        with duckdb.transaction() as con:
            restored = preprocessing.restore_previous_raw(con)
        listing = "; ".join(f"{o.name}: {o.detail}" + (f" (e.g. {', '.join(o.examples)})" if o.examples else "")
                            for o in failed)
        raise DataValidationError(
            f"{preprocessing.script} failed {len(failed)} of {len(outcomes)} checks, so nothing was committed and "
            f"yesterday's tables are kept{', its raw table too' if restored else ''}: {listing}") from None
    yield dg.MaterializeResult(metadata=stats)
    yield from (_check_result(o) for o in outcomes)


def build_preprocessing_asset(modality: Modality, datasets_path: Path | None) -> dg.AssetsDefinition:
    preprocessing = modality.preprocessing
    name = modality.data_asset

    @dg.asset(name=name, group_name="preprocessing", deps=[modality.raw_asset], pool=DUCKDB_WRITE_POOL,
              kinds={"duckdb", "sql"}, partitions_def=partitions_for(datasets_path),
              check_specs=[dg.AssetCheckSpec(check, asset=name, blocking=True,
                                             description=preprocessing.check_descriptions.get(check))
                           for check in preprocessing.check_names()],
              # the datasheet's words on what preprocessing does, then how it is made safe
              description=f"{modality.report.preprocessing} Staged, checked by {preprocessing.checks}.sql and "
              "swapped in only when every check passes.")
    def preprocessed(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB):
        yield from _stage_check_and_swap_in(dataset_database(context, duckdb), preprocessing)

    return preprocessed


def preprocessing_assets(datasets_path: Path | None = None) -> list[dg.AssetsDefinition]:
    """Every modality's preprocessing asset (images, text_corpus, ...)."""
    return [build_preprocessing_asset(modality, datasets_path) for modality in MODALITIES.values()]
