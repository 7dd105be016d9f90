"""The store: SQL looked up from the package, the schema created once and migrated, tables staged and swapped."""

from collections import Counter
from itertools import groupby

import dagster as dg
import duckdb
import numpy as np
import pytest

from genai_platform.datasets.provenance import Provenance
from genai_platform.datasets.text_sources import RawDocuments
from genai_platform.defs.database import PlatformDuckDB
from genai_platform.defs.preprocessing import preprocessing_assets
from genai_platform.metrics.catalog import REFERENCES
from genai_platform.records import Decision, MetricRow, ModelVersion
from genai_platform.store.schema import ensure_schema, schema_differences
from genai_platform.store.sql import PLATFORM_SQL, sql
from genai_platform.store.tables import (append_metrics, drop_image_sample_sets, drop_stale_samples, latest_metrics,
                                         read_image_samples, read_text_samples, store_image_samples,
                                         store_text_samples, version_sample_run, write_raw_documents)
from genai_platform.store.versions import (best_version, challenger, champion, choose_version, decisions, find_version,
                                           forget_version, record_decision, record_version, retired_versions,
                                           version_by_fingerprint, version_metrics, versions)

TEXT_TABLES = ("documents", "sentences", "char_vocabulary", "word_vocabulary")


def test_sql_is_looked_up_by_file_and_statement_name():
    assert sql("schema").count("CREATE TABLE IF NOT EXISTS") == 8
    assert PLATFORM_SQL.names("images_checks") == ["non_empty", "pixel_range", "no_nan", "no_train_test_overlap",
                                                "labels_in_range", "one_image_size"]
    assert sql("queries", "dataset_info").startswith("SELECT source, description")
    with pytest.raises(LookupError, match=r"queries\.sql has no statement named 'nonsense'; it names forget_dataset, record_dataset, "):
        sql("queries", "nonsense")
    with pytest.raises(FileNotFoundError, match=r"genai_platform/store/sql/nonsense\.sql is missing"):
        sql("nonsense")


def test_ensure_schema_creates_the_tables_and_can_run_again():
    con = duckdb.connect()
    assert schema_differences(con) == [f"table {t} is missing" for t in
                                       ("datasets", "image_samples", "metric_comparisons", "metrics_history",
                                        "model_versions", "promotions", "sample_runs", "text_samples")]
    ensure_schema(con)
    ensure_schema(con)
    assert schema_differences(con) == []


def _version(con, family, version, fingerprint="f", modality="image"):
    record_version(con, ModelVersion(family, modality, version, None, None, "digits", "d1", "c1", fingerprint,
                                     {"model": {}}, f"/models/{family}/versions/{version}"))


def test_versions_challenger_champion_and_retention():
    con = duckdb.connect()
    ensure_schema(con)
    assert challenger(con, "vae") is None and champion(con, "vae") is None
    for night in ("v1", "v2", "v3", "v4"):
        _version(con, "vae", night, fingerprint=f"f-{night}")
    assert challenger(con, "vae") == "v4" and [v.version for v in versions(con, "vae")] == ["v4", "v3", "v2", "v1"]
    # a training step that finds its fingerprint re-uses that version: it becomes the challenger again
    assert version_by_fingerprint(con, "vae", "f-v2") == "v2" and version_by_fingerprint(con, "vae", "other") is None
    choose_version(con, "vae", "v2")
    assert challenger(con, "vae") == "v2"
    record_decision(con, Decision("vae", "v1", None, "v1", "first", "first version of vae", "run-1"))
    record_decision(con, Decision("vae", "v3", "v1", "v1", "kept", "worse", "run-3"))
    assert champion(con, "vae") == "v1" and [d.decision for d in decisions(con, "vae")] == ["kept", "first"]
    # keep the newest 1, the challenger (v2) and every champion (v1): v3 goes... and v4 is the newest
    assert [v.version for v in retired_versions(con, "vae", keep_last=1)] == ["v3"]
    assert retired_versions(con, "vae", keep_last=4) == []
    forget_version(con, "vae", "v3")
    assert [v.version for v in versions(con, "vae")] == ["v4", "v2", "v1"]
    with pytest.raises(LookupError, match=r"vae has no kept version 'v3'; kept versions: v4, v2, v1"):
        find_version(con, "vae", "v3")
    assert find_version(con, "vae", "v1").path == "/models/vae/versions/v1"
    # a retried training step replaces its own row
    _version(con, "vae", "v4", fingerprint="f-v4b")
    assert [v.fingerprint for v in versions(con, "vae") if v.version == "v4"] == ["f-v4b"]


def test_samples_are_kept_per_version_newest_set_of_each_kept_version():
    con = duckdb.connect()
    ensure_schema(con)
    for value, version in enumerate(("v1", "v2")):
        _version(con, "vae", version)
        _version(con, "lstm", version, modality="text")
        store_image_samples(con, "vae", version, version, f"s-{version}", np.full((3, 1, 2, 2), value, np.float32))
        store_text_samples(con, "lstm", version, version, f"s-{version}", [{"kind": "free", "text": f"text of {version}"}])
    # the challenger's set by default, any set by the run that drew it
    assert read_image_samples(con, "vae").max() == 1 and read_image_samples(con, "vae", "v1").max() == 0
    assert read_text_samples(con, "lstm", "v1")[0]["text"] == "text of v1"
    assert version_sample_run(con, "image", "vae", "v1").fingerprint == "s-v1"
    # v2 sampled again by run-3 (new sampling code): only its newest set stays
    store_image_samples(con, "vae", "run-3", "v2", "s-v2b", np.full((4, 1, 2, 2), 7, np.float32))
    assert version_sample_run(con, "image", "vae", "v2").run_id == "run-3"
    assert con.execute("SELECT count(DISTINCT run_id) FROM image_samples WHERE family = 'vae'").fetchone()[0] == 2
    assert read_image_samples(con, "vae").shape[0] == 4
    # a retried step draws its run's set again: it replaces, not adds to, that run's
    store_image_samples(con, "vae", "run-3", "v2", "s-v2b", np.full((5, 1, 2, 2), 7, np.float32))
    assert read_image_samples(con, "vae").shape[0] == 5
    # a version retention removes takes its samples with it
    forget_version(con, "vae", "v1")
    drop_stale_samples(con, "image", "vae", drop_image_sample_sets)
    assert version_sample_run(con, "image", "vae", "v1") is None
    with pytest.raises(LookupError, match="materialize samples_diffusion"):
        read_image_samples(con, "diffusion")


def test_metrics_rows_name_the_model_version():
    con = duckdb.connect()
    ensure_schema(con)
    append_metrics(con, "run-1", "image", "digits", "d1", "c1",
                   [MetricRow("vae", "fid", 2.0, 20, 1.5, 2.5), MetricRow("heldout", "fid", 1.0, 20, role="reference")],
                   {"vae": "v1"})
    assert {(r["subject"], r["model_version"]) for r in latest_metrics(con, "image")} == {("vae", "v1"),
                                                                                          ("heldout", None)}
    assert version_metrics(con, "vae", "v1") == {"fid": (2.0, 1.5, 2.5)}


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
    assert "table metrics_history lacks columns [subject VARCHAR, role VARCHAR, ci_low DOUBLE, ci_high DOUBLE, " \
           "model_version VARCHAR] and has unexpected [family VARCHAR]" in schema_differences(con)
    ensure_schema(con)
    assert schema_differences(con) == []
    assert _subjects(con) == {"vae": "model", "unseen_real": "reference", "training_copies": "reference", "noise": "reference",
                              "pixel_gaussian": "baseline", "unigram": "baseline", "training_data": "data", "unseen_text": "data",
                              "feature_extractor": "reference"}
    assert {key: reference.role for key, reference in REFERENCES.items()} == \
        {k: v for k, v in _subjects(con).items() if k != "vae"}
    append_metrics(con, "new", "image", "digits", "d2", "c2", [MetricRow("vae", "fid", 2.0, 20, 1.5, 2.5)], {})
    assert [(r["subject"], r["role"], r["ci_low"]) for r in latest_metrics(con, "image")] == [("vae", "model", 1.5)]


def test_a_home_from_before_the_non_inferiority_gate_can_withhold_and_keeps_a_best_version():
    con = duckdb.connect()
    con.execute("CREATE TABLE promotions (family VARCHAR NOT NULL, decided_at TIMESTAMP NOT NULL, run_id VARCHAR "
                "NOT NULL, challenger VARCHAR, previous VARCHAR, champion VARCHAR NOT NULL, decision VARCHAR NOT NULL, "
                "reason VARCHAR NOT NULL)")
    con.execute("INSERT INTO promotions VALUES ('vae', TIMESTAMP '2026-01-01', 'r1', 'v1', NULL, 'v1', 'first', 'x')")
    ensure_schema(con)
    ensure_schema(con)  # the NOT NULL is dropped only where it is there (DuckLake refuses it elsewhere)
    assert schema_differences(con) == []
    assert best_version(con, "vae") == "v1"  # an old row has no best: its champion
    record_decision(con, Decision("gan", "g1", None, None, "withheld", "first version withheld", "r2"))
    assert champion(con, "gan") is None and decisions(con, "gan")[0].decision == "withheld"


def test_a_reader_on_an_old_home_sees_the_migrated_schema(tmp_path):
    _old_home(tmp_path / "old.duckdb")
    with PlatformDuckDB(database=str(tmp_path / "old.duckdb")).read_connection() as con:
        assert schema_differences(con) == []
        assert _subjects(con)["unseen_real"] == "reference"


def test_samples_kept_as_float_lists_by_an_older_version_become_blobs_with_the_same_values(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    ensure_schema(con)
    con.execute("DROP TABLE image_samples")
    con.execute("CREATE TABLE image_samples (family VARCHAR NOT NULL, run_id VARCHAR NOT NULL, sample_index INTEGER "
                "NOT NULL, channels INTEGER NOT NULL, height INTEGER NOT NULL, width INTEGER NOT NULL, "
                "pixels FLOAT[] NOT NULL)")
    rng = np.random.default_rng(0)
    old = {"run-1": rng.random((3, 1, 2, 3), dtype=np.float32), "run-2": rng.random((2, 1, 2, 3), dtype=np.float32)}
    for run_id, images in old.items():
        for i, image in enumerate(images):
            con.execute("INSERT INTO image_samples VALUES ('vae', ?, ?, 1, 2, 3, ?)", [run_id, i, image.ravel().tolist()])
        con.execute("INSERT INTO sample_runs (modality, family, run_id, drawn_at, version, fingerprint) "
                    "VALUES ('image', 'vae', ?, TIMESTAMP '2026-01-01', 'v1', 's1')", [run_id])
    assert "table image_samples lacks columns [pixels BLOB] and has unexpected [pixels FLOAT[]]" in \
        schema_differences(con)
    ensure_schema(con)
    assert schema_differences(con) == []
    for run_id, images in old.items():
        assert np.array_equal(read_image_samples(con, "vae", run_id), images)  # float32 kept bit for bit
    # the table is schema.sql's, NOT NULL constraints included
    assert con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'image_samples' "
                       "AND is_nullable = 'YES'").fetchone()[0] == 0


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
    text_corpus = preprocessing_assets()[1]
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


def test_vocabularies_count_what_python_counts_in_the_train_documents_long_ones_too(tmp_path):
    """The vocabularies are counted per document and then summed (linear in a document's length): the
    counts are Python's, characters being code points, words lower-cased letter, digit and ' runs."""
    resource = PlatformDuckDB(database=str(tmp_path / "genai.duckdb"))
    texts = [f"Dokument {i}: Ärger über café, it's naïve — 😀 e\u0301! Zwei Sätze. " * (1 + 5000 * (i == 7))
             for i in range(60)]
    assert _materialize_text_corpus(resource, texts).success
    with resource.read_connection() as con:
        train = [t for (t,) in con.execute("SELECT text FROM documents WHERE split = 'train'").fetchall()]
        chars = dict(con.execute("SELECT token, count FROM char_vocabulary").fetchall())
        words = dict(con.execute("SELECT token, count FROM word_vocabulary").fetchall())
    assert max(map(len, train)) > 100_000  # the long document is in the train split
    assert chars == Counter(character for text in train for character in text)
    in_word = lambda c: c.isalpha() or c.isnumeric() or c == "'"  # noqa: E731  \p{L}, \p{N} and '
    assert words == Counter("".join(run) for text in train for inside, run in groupby(text.lower(), in_word)
                            if inside)
