"""Preprocessing: the SQL in sql/ turns raw tables into clean, split tables.

The checks run inside the same transaction as the transformation: when one fails the
transaction rolls back, so the previous good tables stay, and the asset fails loudly.
"""

import dagster as dg

from genai_platform.errors import DataValidationError
from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.store.sql import named_queries, sql
from genai_platform.store.tables import query, run_checks

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
            for name in named_queries(checks_file)]


def _transform_and_check(context, duckdb: PlatformDuckDB, script: str, checks_file: str, stats_query: str):
    with duckdb.transaction() as con:
        con.execute(sql(script))
        outcomes = run_checks(con, checks_file)
        failed = [o for o in outcomes if not o.passed]
        if failed:
            listing = "; ".join(f"{o.name}: {o.detail}" for o in failed)
            raise DataValidationError(
                f"{script} failed {len(failed)} check(s), nothing was committed and the previous "
                f"tables are kept: {listing}")
        stats = dict(zip([d[0] for d in con.execute(stats_query).description], con.fetchone()))
    for o in outcomes:
        context.log.info(f"check {o.name}: {o.detail}")
    return stats, [dg.AssetCheckResult(check_name=o.name, passed=True, metadata={"detail": o.detail})
                   for o in outcomes]


@dg.asset(group_name="preprocessing", deps=["raw_images"], pool=DUCKDB_WRITE_POOL, kinds={"duckdb", "sql"},
          check_specs=_check_specs("images", "images_checks"))
def images(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB):
    """Images in [0, 1], content-hashed, deduplicated, split 80/10/10 by hash (sql/images.sql)."""
    stats, checks = _transform_and_check(context, duckdb, "images", "images_checks", query("image_stats"))
    return dg.MaterializeResult(metadata=stats, check_results=checks)


@dg.asset(group_name="preprocessing", deps=["raw_text"], pool=DUCKDB_WRITE_POOL, kinds={"duckdb", "sql"},
          check_specs=_check_specs("text_corpus", "text_checks"))
def text_corpus(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB):
    """Documents (NFC, whitespace), sentences, vocabularies, split by document (sql/text_corpus.sql)."""
    stats, checks = _transform_and_check(context, duckdb, "text_corpus", "text_checks", query("text_stats"))
    return dg.MaterializeResult(metadata=stats, check_results=checks)
