"""Preprocessing: the SQL in store/sql/ turns raw tables into clean, split tables.

Each asset builds staging tables, runs every check on them, and swaps them in only when all
pass, in one transaction: when a check fails the transaction rolls back, so yesterday's tables
stay, every check result is recorded, and the asset fails loudly.
"""

from pathlib import Path

import dagster as dg

from genai_platform.errors import DataValidationError
from genai_platform.defs.datasets import dataset_database, partitions_for
from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.store.sql import sql, statement_names
from genai_platform.store.tables import CheckOutcome, run_checks

RAW_TABLES = {"images": "raw_images", "text_corpus": "raw_documents"}  # what each preprocessing reads
CHECK_DESCRIPTIONS = {
    "non_empty": "train and test splits both have rows",
    "pixel_range": "every normalised pixel lies in [0, 1]",
    "no_nan": "no pixel is NaN",
    "no_train_test_overlap": "no content hash is in both train and test",
    "labels_in_range": "labels are all present or all absent, and in [0, 1024)",
    "one_image_size": "every image has the same channels, height and width",
    "vocabulary_size": "the train character vocabulary has 2-5000 entries and words exist",
    "enough_test_sentences": "the test split has sentences to draw prompts from",
}


def _check_specs(asset_name: str, checks_file: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset_name, blocking=True, description=CHECK_DESCRIPTIONS[name])
            for name in statement_names(checks_file)]


def _check_result(outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name=outcome.name, passed=outcome.passed, metadata={
        "detail": outcome.detail, "offending_count": outcome.offending_count,
        "examples": dg.MetadataValue.json(outcome.examples)})


class _Refused(Exception):
    """A staged table failed a check."""


def restore_previous_raw_table(con, script: str) -> bool:
    """Yesterday's raw table back in place of the one a refused preprocessing read, when the raw asset kept
    it (as <raw table>_previous; the first ingestion has none): whether it was."""
    if not con.execute(sql("queries", "table_exists"), {"table": f"{RAW_TABLES[script]}_previous"}).fetchone()[0]:
        return False
    con.execute(sql(script, "restore_raw"))
    return True


def _stage_check_and_swap_in(duckdb: PlatformDuckDB, script: str, checks_file: str):
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
            con.execute(sql(script, "stage"))
            outcomes = run_checks(con, checks_file)
            if failed := [o for o in outcomes if not o.passed]:
                raise _Refused  # rolls the staged tables back
            con.execute(sql(script, "swap_in"))
            cursor = con.execute(sql(script, "stats"))
            stats = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
    except _Refused:
        yield from (_check_result(o) for o in outcomes)
        with duckdb.transaction() as con:
            restored = restore_previous_raw_table(con, script)
        listing = "; ".join(f"{o.name}: {o.detail}" + (f" (e.g. {', '.join(o.examples)})" if o.examples else "")
                            for o in failed)
        raise DataValidationError(
            f"{script} failed {len(failed)} of {len(outcomes)} checks, so nothing was committed and "
            f"yesterday's tables are kept{', its raw table too' if restored else ''}: {listing}") from None
    yield dg.MaterializeResult(metadata=stats)
    yield from (_check_result(o) for o in outcomes)


def preprocessing_assets(datasets_path: Path | None = None) -> list[dg.AssetsDefinition]:
    """images and text_corpus (partitioned by dataset with a datasets file)."""
    @dg.asset(group_name="preprocessing", deps=["raw_images"], pool=DUCKDB_WRITE_POOL, kinds={"duckdb", "sql"},
              check_specs=_check_specs("images", "images_checks"),
              partitions_def=partitions_for(datasets_path))
    def images(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB):
        """Images in [0, 1], content-hashed, deduplicated, split 80/10/10 by hash (store/sql/images.sql)."""
        yield from _stage_check_and_swap_in(dataset_database(context, duckdb), "images", "images_checks")


    @dg.asset(group_name="preprocessing", deps=["raw_text"], pool=DUCKDB_WRITE_POOL, kinds={"duckdb", "sql"},
              check_specs=_check_specs("text_corpus", "text_checks"),
              partitions_def=partitions_for(datasets_path))
    def text_corpus(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB):
        """Documents (NFC, whitespace), sentences, vocabularies, split by document (store/sql/text_corpus.sql)."""
        yield from _stage_check_and_swap_in(dataset_database(context, duckdb), "text_corpus", "text_checks")

    return [images, text_corpus]
