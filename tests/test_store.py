"""The store: SQL looked up from the package, the schema created once and migrated, tables staged and swapped."""

import dagster as dg
import duckdb
import numpy as np
import pytest

from genai_platform.datasets.provenance import Provenance
from genai_platform.datasets.text import RawDocuments
from genai_platform.defs.database import PlatformDuckDB
from genai_platform.defs.preprocessing import text_corpus
from genai_platform.metrics.catalog import REFERENCES
from genai_platform.records import MetricRow
from genai_platform.store.schema import ensure_schema, schema_differences
from genai_platform.store.sql import sql, statement_names
from genai_platform.store.tables import (append_metrics, latest_metrics, previous_sample_run, read_image_samples,
                                         read_text_samples, sample_runs, store_image_samples, store_text_samples,
                                         write_raw_documents)

TEXT_TABLES = ("documents", "sentences", "char_vocabulary", "word_vocabulary")


def test_sql_is_looked_up_by_file_and_statement_name():
    assert sql("schema").count("CREATE TABLE IF NOT EXISTS") == 6
    assert statement_names("images_checks") == ["non_empty", "pixel_range", "no_nan", "no_train_test_overlap",
                                                "labels_in_range", "one_image_size"]
    assert sql("queries", "dataset_info").startswith("SELECT source, description")
    with pytest.raises(LookupError, match=r"queries\.sql has no statement named 'nonsense'; it names record_dataset, "):
        sql("queries", "nonsense")
    with pytest.raises(FileNotFoundError, match=r"genai_platform/store/sql/nonsense\.sql is missing"):
        sql("nonsense")


def test_ensure_schema_creates_the_tables_and_can_run_again():
    con = duckdb.connect()
    assert schema_differences(con) == [f"table {t} is missing" for t in
                                       ("datasets", "image_samples", "metric_comparisons", "metrics_history",
                                        "sample_runs", "text_samples")]
    ensure_schema(con)
    ensure_schema(con)
    assert schema_differences(con) == []


def test_a_family_keeps_the_samples_of_its_newest_two_runs():
    con = duckdb.connect()
    ensure_schema(con)
    for value, run in enumerate(("night-1", "night-2", "night-3")):
        store_image_samples(con, "vae", run, np.full((3, 1, 2, 2), value, np.float32))
        store_text_samples(con, "lstm", run, [{"kind": "free", "text": f"text of {run}"}])
    store_image_samples(con, "gan", "night-3", np.zeros((2, 1, 2, 2), np.float32))
    assert sample_runs(con, "image", "vae") == ["night-3", "night-2"] and previous_sample_run(con, "image", "gan") is None
    assert read_image_samples(con, "vae").max() == 2 and read_image_samples(con, "vae", "night-2").max() == 1
    assert read_text_samples(con, "lstm", previous_sample_run(con, "text", "lstm"))[0]["text"] == "text of night-2"
    assert con.execute("SELECT count(DISTINCT run_id) FROM image_samples WHERE family = 'vae'").fetchone()[0] == 2
    # a retried step draws its run's samples again: they replace, not add to, that run's
    store_image_samples(con, "vae", "night-3", np.full((4, 1, 2, 2), 7, np.float32))
    assert read_image_samples(con, "vae").shape[0] == 4 and sample_runs(con, "image", "vae") == ["night-3", "night-2"]
    with pytest.raises(LookupError, match="materialize samples_diffusion"):
        read_image_samples(con, "diffusion")


def _old_home(path):
    """A DuckDB file as versions before roles wrote it: reference rows under their label in a `family` column."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE metrics_history (run_id VARCHAR, recorded_at TIMESTAMP, modality VARCHAR, "
                "dataset VARCHAR, family VARCHAR, metric VARCHAR, value DOUBLE, sample_count INTEGER, "
                "data_version VARCHAR, code_version VARCHAR)")
    for subject in ["vae", *(reference.label for reference in REFERENCES.values())]:
        con.execute("INSERT INTO metrics_history VALUES ('old', TIMESTAMP '2024-01-01', 'image', 'digits', ?, 'fid', "
                    "1.0, 10, 'd1', 'c1')", [subject])
    con.close()


def _subjects(con):
    return dict(con.execute("SELECT subject, role FROM metrics_history WHERE run_id = 'old'").fetchall())


def test_ensure_schema_migrates_an_old_home(tmp_path):
    _old_home(tmp_path / "old.duckdb")
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    assert "table metrics_history lacks columns [subject VARCHAR, role VARCHAR, ci_low DOUBLE, ci_high DOUBLE] " \
           "and has unexpected [family VARCHAR]" in schema_differences(con)
    ensure_schema(con)
    assert schema_differences(con) == []
    assert _subjects(con) == {"vae": "model", "heldout": "reference", "noise": "reference",
                              "pixel_gaussian": "baseline", "unigram": "baseline", "training_data": "data",
                              "feature_extractor": "reference"}
    assert {key: reference.role for key, reference in REFERENCES.items()} == \
        {k: v for k, v in _subjects(con).items() if k != "vae"}
    append_metrics(con, "new", "image", "digits", "d2", "c2", [MetricRow("vae", "fid", 2.0, 20, 1.5, 2.5)])
    assert [(r["subject"], r["role"], r["ci_low"]) for r in latest_metrics(con, "image")] == [("vae", "model", 1.5)]


def test_a_reader_on_an_old_home_sees_the_migrated_schema(tmp_path):
    _old_home(tmp_path / "old.duckdb")
    with PlatformDuckDB(database=str(tmp_path / "old.duckdb")).read_connection() as con:
        assert schema_differences(con) == []
        assert _subjects(con)["heldout"] == "reference"


def test_the_resource_creates_the_schema_once_per_process_and_file(tmp_path):
    database = str(tmp_path / "home" / "genai.duckdb")
    with PlatformDuckDB(database=database).transaction() as con:
        assert schema_differences(con) == []
        con.execute("DROP TABLE text_samples")
    # a second resource on the same file does not run the schema again: it runs once per process and file
    with PlatformDuckDB(database=database).transaction() as con:
        assert schema_differences(con) == ["table text_samples is missing"]


def _documents(texts):
    return RawDocuments(texts=texts, row_refs=[f"corpus.txt:{i + 1}" for i in range(len(texts))],
                        provenance=Provenance(source="test", description="test documents"))


def _text_tables(database):
    """The four text tables' column types and sorted rows, and the names of every table."""
    con = duckdb.connect(database, read_only=True)
    try:
        contents = {table: (con.table(table).types, sorted(con.table(table).fetchall())) for table in TEXT_TABLES}
        return contents, {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    finally:
        con.close()


def _materialize_text_corpus(duckdb_resource, texts):
    with duckdb_resource.transaction() as con:
        write_raw_documents(con, _documents(texts))
    return dg.materialize([text_corpus], resources={"duckdb": duckdb_resource}, raise_on_error=False)


def test_text_tables_are_swapped_in_together_or_not_at_all(tmp_path):
    database = str(tmp_path / "genai.duckdb")
    resource = PlatformDuckDB(database=database)
    good = [f"Document number {i} says hello. It has two sentences!" for i in range(60)]
    first = _materialize_text_corpus(resource, good)
    assert first.success
    assert first.asset_materializations_for_node("text_corpus")[0].metadata["documents"].value == 60
    kept, names = _text_tables(database)
    assert len(kept["sentences"][1]) == 120 and not any(name.endswith("_staging") for name in names)

    # punctuation only: no word and no sentence, so two checks fail and none of the four tables changes
    result = _materialize_text_corpus(resource, ["." * (i + 1) for i in range(60)])
    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert {name for name, e in evaluations.items() if not e.passed} == {"vocabulary_size", "enough_test_sentences"}
    sentences = evaluations["enough_test_sentences"].metadata
    assert sentences["offending_count"].value > 0
    assert all(e.startswith("doc_id ") and "(corpus.txt:" in e for e in sentences["examples"].value)
    assert [e.split(" seen ")[0] for e in evaluations["vocabulary_size"].metadata["examples"].value] == \
        ['character "."']
    assert evaluations["non_empty"].passed and evaluations["non_empty"].metadata["examples"].value == []
    message = result.get_step_failure_events()[0].event_specific_data.error.cause.message
    assert "text_corpus failed 2 of 4 checks" in message and "vocabulary_size: 1 characters, 0 words" in message
    assert result.asset_materializations_for_node("text_corpus") == []
    assert _text_tables(database) == (kept, names)
