"""Several datasets per modality (GENAI_DATASETS): the datasets file, its partitions, the schedule and
sensor that request a run per dataset, and two image datasets trained, judged and reported apart."""

import json
import os
import re
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest
from sklearn.datasets import load_digits

from genai_platform.cli import main as cli
from genai_platform.datasets.datasets_file import (DatasetsFileError, SourceOption, Sources, entries_from_environment,
                                                   read_datasets_file)
from genai_platform.definitions import build_definitions
from genai_platform.defs.datasets import read_entries
from genai_platform.steps.reports import write_reports
from genai_platform.defs.resources import resources_from_env

MODALITIES = ("image", "text")
DATASETS_YAML = """datasets:
  - name: digits
    modality: image
    source: sklearn:digits
  - name: odd-digits
    modality: image
    source: odd.npz
    families:
      vae: {latent_dim: 3, steps: 12}
      gan:
  - name: lee
    modality: text
    source: gensim:lee
"""


def odd_digits(path: Path, count: int | None = None) -> Path:
    """The bundled digits of odd classes as an .npz of 8-bit images (a second real image dataset)."""
    digits = load_digits()
    odd = digits.target % 2 == 1
    images, labels = (digits.images[odd] * 255 / 16).astype(np.uint8), digits.target[odd]
    np.savez(path, images=images[:count], labels=labels[:count])
    return path


@pytest.fixture
def catalog(tmp_path) -> dict:
    odd_digits(tmp_path / "odd.npz")
    (tmp_path / "datasets.yaml").write_text(DATASETS_YAML)
    return {**os.environ, "GENAI_PROFILE": "smoke", "GENAI_SEED": "0", "GENAI_HOME": str(tmp_path / "home"),
            "GENAI_REPORTS_DIR": str(tmp_path / "reports"), "GENAI_DATASETS": str(tmp_path / "datasets.yaml")}


@pytest.mark.parametrize("text, message", [
    ("datasets: []", "non-empty list under 'datasets'"),
    ("datasets: [{name: a, modality: image}]", "entry 1 (a): missing source"),
    ("datasets: [{name: a, modality: audio, source: x}]", "modality 'audio' is not one of image, text"),
    ("datasets: [{name: A/b, modality: image, source: x}]", "'A/b' is not a dataset name"),
    ("datasets: [{name: a, modality: image, source: x}, {name: a, modality: text, source: y}]",
     "entry 2 (a): the name 'a' is used twice"),
    ("datasets: [{name: a, modality: image, source: x, text_field: t}]", "text_field applies to text datasets only"),
    ("datasets: [{name: a, modality: image, source: x, labels: y}]", "unknown field(s) labels"),
    ("datasets: [a: b: c]", "not valid YAML"),
    ("datasets: [{name: a, modality: text, source: 'sklearn:digits'}]", "'sklearn:digits' is not a bundled text dataset"),
    ("datasets: [{name: a, modality: image, source: x, families: [vae, lstm]}]",
     "entry 1 (a): 'lstm' is not a image family; the image families are diffusion, gan, gplvm, vae"),
    ("datasets: [{name: a, modality: image, source: x, families: {vae: {depth: 3}}}]",
     "entry 1 (a), family vae: unknown setting 'depth'; known: "),
    ("datasets: [{name: a, modality: image, source: x, families: {vae: {latent_dim: 2.5}}}]",
     "entry 1 (a), family vae, setting latent_dim: 2.5 is not an int"),
    ("datasets: [{name: a, modality: image, source: x, families: {gan: {max_seconds: yes}}}]",
     "entry 1 (a), family gan, setting max_seconds: True is not a float"),
    ("datasets: [{name: a, modality: image, source: x, families: [gan, diffusion]}]",
     "entry 1 (a): 'diffusion' starts from a trained 'vae' model, so families must list 'vae' too"),
    ("datasets: [{name: a, modality: image, source: x, families: []}]", "families must be a non-empty list"),
    ("datasets: [{name: a, modality: image, source: x, families: [{vae: {steps: 3}}]}]",
     "entry 1 (a): families as a list holds family names"),
    ("datasets: [{name: a, modality: image, source: x, families: {vae: {lr_schedule: bogus}}}]",
     "entry 1 (a), family vae: lr_schedule must be"),
])
def test_a_bad_datasets_file_is_refused_naming_the_file_and_entry(tmp_path, text, message):
    path = tmp_path / "datasets.yaml"
    path.write_text(text)
    with pytest.raises(DatasetsFileError, match=re.escape(message)) as error:
        read_entries(path)
    assert str(path) in str(error.value)
    with pytest.raises(ValueError, match="GENAI_DATASETS="):  # and the code location does not load
        build_definitions({"GENAI_DATASETS": str(path)})


def test_entries_resolve_relative_sources_against_the_file(catalog):
    entries = read_entries(Path(catalog["GENAI_DATASETS"]))
    folder = Path(catalog["GENAI_DATASETS"]).parent
    assert [(e.name, e.modality, e.source) for e in entries] == [
        ("digits", "image", "sklearn:digits"), ("odd-digits", "image", str(folder / "odd.npz")),
        ("lee", "text", "gensim:lee")]
    assert entries[0].families is None and entries[0].trains("gplvm")
    assert entries[1].families == ("vae", "gan") and not entries[1].trains("gplvm")
    assert entries[1].settings == {"vae": {"latent_dim": 3, "steps": 12}, "gan": {}}
    assert entries[0].watched_path is None and entries[1].watched_path == folder / "odd.npz"


def selected(request: dg.RunRequest) -> set[str]:
    return {key.to_user_string() for key in request.asset_selection}


def test_schedule_and_sensor_request_a_run_of_each_dataset_with_its_modality_only(catalog):
    defs = build_definitions(catalog)
    repository = defs.get_repository_def()
    with dg.instance_for_test() as instance:
        schedule = defs.resolve_schedule_def("nightly_retraining_schedule")
        requests = schedule.evaluate_tick(dg.build_schedule_context(instance=instance,
                                                                    repository_def=repository)).run_requests
        assert [r.partition_key for r in requests] == ["digits", "odd-digits", "lee"]
        assert instance.get_dynamic_partitions("datasets") == ["digits", "odd-digits", "lee"]
        image, text = selected(requests[0]), selected(requests[2])
        # odd-digits trains the two families its entry lists: the others' assets are not requested
        assert image - selected(requests[1]) == {f"{step}_{family}" for step in ("train", "samples", "champion")
                                                 for family in ("diffusion", "gplvm")}
        assert {"raw_images", "train_gan", "image_evaluation", "champion_vae", "model_comparison_report",
                "report_index"} <= image and not image & {"raw_text", "train_lstm", "text_evaluation"}
        assert {"raw_text", "train_textgan", "text_evaluation", "ethics_report"} <= text and "train_gan" not in text
        assert image == {k.to_user_string() for k in defs.resolve_job_def("image_datasets").asset_layer.selected_asset_keys}

    sensor = defs.resolve_sensor_def("new_data")
    with dg.instance_for_test() as instance:
        def tick(cursor):
            result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=repository))
            for request in result.dynamic_partitions_requests:
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            return result

        first = tick(None)  # every dataset is new: a partition and a run each
        assert [r.partition_key for r in first.run_requests] == ["digits", "odd-digits", "lee"]
        assert instance.get_dynamic_partitions("datasets") == ["digits", "odd-digits", "lee"]
        assert not tick(first.cursor).run_requests
        odd_digits(Path(catalog["GENAI_DATASETS"]).parent / "odd.npz", count=100)  # new data in one dataset
        changed = tick(first.cursor)
        assert [r.partition_key for r in changed.run_requests] == ["odd-digits"]
        assert selected(changed.run_requests[0]) == selected(first.run_requests[1]) < image
        with open(catalog["GENAI_DATASETS"], "a") as file:  # a dataset added to the file
            file.write("  - name: lee-again\n    modality: text\n    source: gensim:lee\n")
        added = tick(changed.cursor)
        assert [(r.partition_key, "train_lstm" in selected(r)) for r in added.run_requests] == [("lee-again", True)]
        assert "lee-again" in instance.get_dynamic_partitions("datasets")


@pytest.mark.e2e
def test_two_image_datasets_are_trained_judged_and_reported_apart(catalog, tmp_path, capsys):
    defs = build_definitions(catalog)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("datasets", ["digits", "odd-digits", "lee"])
        job = defs.resolve_job_def("image_datasets")
        # the smoke image models miss most classes, and a family with a failing finding has no headline value:
        # the class findings relaxed, each dataset has a best family to trend
        relaxed = {"resources": {"findings": {"config": {"thresholds": {"class_tv_distance": [1.0, 1.0],
                                                                        "missing_modes": [10, 10]}}}}}
        results = {name: job.execute_in_process(instance=instance, partition_key=name, run_config=relaxed)
                   for name in ("digits", "odd-digits")}
        wrong = defs.resolve_job_def("text_datasets").execute_in_process(
            instance=instance, partition_key="odd-digits", raise_on_error=False)
    runs = {name: result.run_id for name, result in results.items()}
    for result in results.values():  # the checks ran on the partition's own reports
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert checks["every_trained_family_reported"] and checks["declared_pairs_hold"], checks
    assert not wrong.success
    failure = next(e for e in wrong.all_events if e.event_type_value == "STEP_FAILURE")
    assert "dataset 'odd-digits' has modality image, so raw_text does not apply to it" in str(failure.event_specific_data.error)

    home, reports = tmp_path / "home", tmp_path / "reports"
    assert not (home / "genai.duckdb").exists()  # nothing in the one-dataset layout
    seen = {}
    for name, expected_rows in (("digits", 1797), ("odd-digits", int((load_digits().target % 2 == 1).sum()))):
        with duckdb.connect(str(home / "datasets" / name / "genai.duckdb"), read_only=True) as con:
            assert con.execute("SELECT row_count FROM datasets WHERE modality = 'image'").fetchone()[0] == expected_rows
            assert not con.execute("SELECT * FROM datasets WHERE modality = 'text'").fetchall()
            versions = con.execute("SELECT DISTINCT version FROM model_versions").fetchall()
            assert versions == [(runs[name],)]  # each dataset's models are its own run's
            trained = {r[0] for r in con.execute("SELECT family FROM model_versions").fetchall()}
            assert trained == ({"vae", "gan"} if name == "odd-digits" else {"vae", "gan", "diffusion", "gplvm"})
            assert {r[0] for r in con.execute("SELECT DISTINCT run_id FROM metrics_history").fetchall()} == {runs[name]}
        vae = json.loads((home / "datasets" / name / "models" / "vae" / "versions" / runs[name] / "manifest.json").read_text())
        # the entry's settings for the vae over the smoke profile's (latent_dim 4, 20 steps)
        assert (vae["model_config"]["latent_dim"], vae["training"]["steps"]) == ((3, 12) if name == "odd-digits" else (4, 20))
        report = json.loads((reports / "datasets" / name / "report.json").read_text())
        assert [m["name"] for m in report["modalities"]] == ["image"] and report["run_id"] == runs[name]
        seen[name] = report["modalities"][0]["data_version"]
        manifest = json.loads((reports / "runs" / runs[name] / "manifest.json").read_text())
        assert manifest["dataset"] == name
        comparison = (reports / "datasets" / name / "model_comparison.html").read_text()
        assert 'href="../../index.html"' in comparison
    assert seen["digits"] != seen["odd-digits"]

    index = (reports / "index.html").read_text()
    for name in ("digits", "odd-digits"):
        assert f'<tr data-dataset="{name}">' in index
        assert f'href="datasets/{name}/model_comparison.html"' in index and f'href="datasets/{name}/ethics.html"' in index
        assert re.search(rf'data-run="{runs[name]}"><td>[^<]*</td><td>{name}</td>', index)
        assert f"{name} · image FID" in index  # each dataset's trend is its own
    assert re.search(r'<tr data-dataset="lee">.*?no run yet', index, re.S)  # a partition that never ran
    assert 'href="model_comparison.html"' not in index  # the reports folder has no latest reports of its own

    assert cli(["--dataset", "odd-digits", "versions", "vae"], env=catalog) == 0
    assert runs["odd-digits"] in capsys.readouterr().out
    assert cli(["versions", "vae"], env=catalog) == 2
    assert "name the dataset with --dataset NAME" in capsys.readouterr().err
    assert cli(["--dataset", "..", "versions", "vae"], env=catalog) == 2
    assert "'..' is not a dataset name" in capsys.readouterr().err


def test_a_partition_that_is_not_a_dataset_name_fails_and_writes_nothing_outside(catalog, tmp_path):
    """Dagster's "Add partition" takes any string: a key like ../escape must not become a path."""
    defs = build_definitions(catalog)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("datasets", ["../escape"])
        result = dg.materialize(list(defs.assets), selection=["images"], partition_key="../escape",
                                instance=instance, resources=defs.resources, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "partition '../escape' is not a dataset name" in str(failure.event_specific_data.error)
    assert not (tmp_path / "home").exists() and not (tmp_path / "escape").exists()


def test_reports_need_an_ingested_dataset(tmp_path):
    resources = resources_from_env({"GENAI_HOME": str(tmp_path / "home"), "GENAI_REPORTS_DIR": str(tmp_path / "r")})
    with resources["duckdb"].transaction():
        pass  # the schema, and no dataset
    with pytest.raises(LookupError, match="no dataset has been ingested yet"):
        write_reports(resources["run_settings"].run_info("run"), resources["duckdb"], resources["artifacts"], {},
                      archive=True)
    assert not (tmp_path / "r").exists()


SIGNALS = Sources("GENAI_SIGNAL_SOURCE", None, "an .npz", (SourceOption("text_field", "values", "GENAI_SIGNAL_FIELD", "x"),))
WITH_SIGNALS = {"image": Sources("GENAI_IMAGE_SOURCE", "sklearn:digits", "images"),
                "text": Sources("GENAI_TEXT_SOURCE", "gensim:lee", "text",
                                (SourceOption("text_field", "text", "GENAI_TEXT_FIELD", "field"),)),
                "signal": SIGNALS}


def test_the_environment_names_one_dataset_per_modality_as_given():
    entries = {e.modality: e for e in entries_from_environment(
        {"GENAI_IMAGE_SOURCE": "gensim:lee", "GENAI_TEXT_SOURCE": "data/news.jsonl", "GENAI_TEXT_FIELD": "body"},
        WITH_SIGNALS)}
    assert set(entries) == {"image", "text"}  # signal: no variable and nothing bundled
    image, text = entries["image"], entries["text"]
    # another modality's bundled name is a path for this one (its loader or GENAI_SOURCE_FOLDERS refuses it)
    assert not image.bundled and image.watched_path == Path("gensim:lee").resolve()
    assert text.source == "data/news.jsonl" and text.options == {"text_field": "body"}  # as the launchpad shows it
    assert text.label == f"GENAI_TEXT_SOURCE={Path('data/news.jsonl').resolve()}"
    bundled = entries_from_environment({}, WITH_SIGNALS)
    assert [(e.source, e.bundled, e.watched_path) for e in bundled] == [("sklearn:digits", True, None),
                                                                       ("gensim:lee", True, None)]


def test_a_source_setting_two_modalities_share_is_accepted_for_both(tmp_path):
    path = tmp_path / "datasets.yaml"
    path.write_text("datasets:\n  - {name: a, modality: text, source: gensim:lee, text_field: body}\n"
                    "  - {name: b, modality: signal, source: b.npz, text_field: v}\n"
                    "  - {name: c, modality: image, source: c.npz, text_field: v}\n")
    with pytest.raises(DatasetsFileError, match=r"entry 3 \(c\): text_field applies to text and signal datasets only"):
        read_datasets_file(path, WITH_SIGNALS, {})
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    a, b = read_datasets_file(path, WITH_SIGNALS, {})
    assert a.options == {"text_field": "body"} and b.options == {"text_field": "v"}
