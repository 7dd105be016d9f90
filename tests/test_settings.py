"""Settings: read and checked when the code location loads, EnvVars where set, sources as ingestion config."""

import json

import dagster as dg
import numpy as np
import pytest
import torch

from genai_platform.definitions import build_definitions
from genai_platform.defs.ingestion import ingestion_assets
from genai_platform.defs.resources import RunSettings, resources_from_env
from genai_platform.families.registry import families

RESOURCE_VARIABLES = ("GENAI_PROFILE", "GENAI_SEED", "GENAI_DEVICE", "GENAI_PARALLEL_STEPS", "GENAI_FEATURE_EXTRACTOR",
                      "GENAI_HOME", "GENAI_REPORTS_DIR", "GENAI_ALERT_WEBHOOK")


@pytest.mark.parametrize("variable, value, allowed", [
    ("GENAI_PROFILE", "fast", "smoke, default, full"),
    ("GENAI_SEED", "seven", "a whole number from 0 to 4294967295"),
    ("GENAI_SEED", "-1", "a whole number from 0 to 4294967295"),
    ("GENAI_SEED", "4294967296", "a whole number from 0 to 4294967295"),
    ("GENAI_DEVICE", "tpu", "auto, cpu, cuda, cuda:N, mps"),
    ("GENAI_PARALLEL_STEPS", "0", "a whole number >= 1"),
    ("GENAI_PARALLEL_STEPS", "1.5", "a whole number >= 1"),
    ("GENAI_FEATURE_EXTRACTOR", "clip", "classifier, inception"),
    ("GENAI_ALERT_WEBHOOK", "hooks.example.com/x", "an http:// or https:// URL"),
    ("GENAI_NIGHTLY_SCHEDULE", "of", "on, running, 1, true, yes (on) or off, stopped, 0, false, no (off)"),
    ("GENAI_NIGHTLY_CRON", "every night", "standard cron expressions consisting of 5 fields"),
    ("GENAI_NIGHTLY_TIMEZONE", "Mars/Base", "Invalid execution timezone"),
    ("GENAI_DUCKDB_MEMORY", "lots", "a size such as 512MB or 2GB"),
    ("GENAI_EXECUTOR", "dask", "multiprocess, k8s"),
    ("GENAI_TRAINING_GPUS", "one", "a whole number >= 0"),
    ("GENAI_HOME", "memory://home", "memory:// lives inside one process"),
    ("GENAI_REPORTS_DIR", "nope://bucket/reports", "Protocol not known: nope"),
    ("GENAI_DUCKDB", "s3://bucket/genai.duckdb", "is not a local file: DuckDB writes to local disk"),
    ("GENAI_SOURCE_FOLDERS", "/no/such/folder", "/no/such/folder is not a folder"),
])
def test_a_bad_setting_stops_the_code_location_loading(variable, value, allowed):
    with pytest.raises(ValueError) as error:
        build_definitions({variable: value})
    assert f"{variable}={value!r}" in str(error.value) and allowed in str(error.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine with CUDA has the device")
def test_a_device_this_machine_lacks_stops_loading_unless_the_steps_run_elsewhere():
    for device in ("cuda", "cuda:3"):
        with pytest.raises(ValueError) as error:
            build_definitions({"GENAI_DEVICE": device})
        assert f"GENAI_DEVICE={device!r}" in str(error.value) and "CUDA is not available on this machine" in str(
            error.value)
    # under GENAI_EXECUTOR=k8s the steps run on the cluster's machines, which this one says nothing of
    assert resources_from_env({"GENAI_DEVICE": "cuda", "GENAI_EXECUTOR": "k8s"})["run_settings"].device == "cuda"


def test_a_home_reports_or_database_folder_that_is_a_file_stops_loading(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    for variable, values in (("GENAI_HOME", ("", "below")), ("GENAI_REPORTS_DIR", ("", "below")),
                             ("GENAI_DUCKDB", ("genai.duckdb",))):
        for value in (tmp_path / "file" / below for below in values):
            with pytest.raises(ValueError) as error:
                build_definitions({variable: str(value)})
            assert f"{variable}={str(value)!r}" in str(error.value) and f"{tmp_path / 'file'} is a file, not a " \
                "folder" in str(error.value)
    assert resources_from_env({"GENAI_HOME": str(tmp_path / "new" / "home")})["artifacts"].home.endswith("home")


def test_the_kubernetes_executor_keeps_retries_and_asks_a_gpu_for_each_training_step():
    job = build_definitions({"GENAI_EXECUTOR": "k8s", "GENAI_TRAINING_GPUS": "1", "GENAI_PARALLEL_STEPS": "8"}
                            ).resolve_job_def("nightly_retraining")
    config = job.executor_def.apply_config_mapping({}).value["config"]
    assert job.executor_def.name == "k8s" and config["max_concurrent"] == 8 and "enabled" in config["retries"]
    assert set(config["per_step_k8s_config"]) == {f"train_{family.name}" for family in families()}
    assert config["per_step_k8s_config"]["train_diffusion"]["container_config"]["resources"]["limits"] == \
        {"nvidia.com/gpu": 1}
    assert job.graph.node_named("train_vae").definition.retry_policy.max_retries == 2
    without_gpus = build_definitions({"GENAI_EXECUTOR": "k8s"}).resolve_job_def("nightly_retraining")
    assert without_gpus.executor_def.apply_config_mapping({}).value["config"]["per_step_k8s_config"] == {}
    assert build_definitions({}).resolve_job_def("nightly_retraining").executor_def.name == "multiprocess"


def test_good_settings_are_parsed():
    settings = resources_from_env({"GENAI_SEED": " 4294967295 ", "GENAI_DEVICE": "cuda:1", "GENAI_PARALLEL_STEPS": "4",
                                   "GENAI_FEATURE_EXTRACTOR": "inception", "GENAI_PROFILE": "full",
                                   "GENAI_EXECUTOR": "k8s"})["run_settings"]
    assert (settings.seed, settings.device, settings.parallel_steps, settings.feature_extractor, settings.profile) == \
        (4294967295, "cuda:1", 4, "inception", "full")
    assert resources_from_env({"GENAI_DEVICE": ""})["run_settings"].device == "auto"  # empty means unset
    assert resources_from_env({})["duckdb"].connection_config == {"memory_limit": "256MB"}
    assert resources_from_env({"GENAI_DUCKDB_MEMORY": "512MB"})["duckdb"].connection_config == {"memory_limit": "512MB"}


def test_a_run_config_override_is_checked_like_the_variable():
    with pytest.raises(ValueError, match="GENAI_FEATURE_EXTRACTOR='clip'"):
        RunSettings(feature_extractor="clip")
    with pytest.raises(dg.DagsterResourceFunctionError) as error:
        with dg.build_resources({"run_settings": RunSettings()},
                                resource_config={"run_settings": {"config": {"parallel_steps": 0}}}):
            pass
    assert "GENAI_PARALLEL_STEPS=0" in str(error.value.__cause__)


def test_set_variables_stay_env_vars_that_each_run_resolves_and_checks(monkeypatch, tmp_path):
    for variable in RESOURCE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("GENAI_PROFILE", "smoke")
    monkeypatch.setenv("GENAI_SEED", "7")
    monkeypatch.setenv("GENAI_HOME", str(tmp_path / "home"))
    resources = resources_from_env()
    settings, artifacts = resources["run_settings"], resources["artifacts"]
    assert isinstance(settings.profile, dg.EnvVar) and settings.profile.env_var_name == "GENAI_PROFILE"
    assert settings.seed.env_var_name == "GENAI_SEED"  # dg.EnvVar.int
    assert artifacts.home.env_var_name == "GENAI_HOME"
    assert (settings.device, settings.parallel_steps, artifacts.reports_dir) == ("auto", 2, "reports")  # unset
    # the DuckDB file's path is derived from GENAI_HOME, a value fixed at load
    assert resources["duckdb"].database == str(tmp_path / "home" / "genai.duckdb")

    with dg.build_resources({"run_settings": settings}) as run:
        assert (run.run_settings.profile, run.run_settings.seed) == ("smoke", 7)
    monkeypatch.setenv("GENAI_PROFILE", "fast")
    with pytest.raises(dg.DagsterResourceFunctionError) as error:
        with dg.build_resources({"run_settings": settings}):
            pass
    assert "GENAI_PROFILE='fast'" in str(error.value.__cause__)


def test_a_mapping_other_than_the_process_environment_is_copied_in():
    """A run resolves EnvVars from its own process environment, which a test's mapping is not."""
    settings = resources_from_env({"GENAI_PROFILE": "smoke", "GENAI_SEED": "7"})["run_settings"]
    assert (type(settings.profile), settings.profile, type(settings.seed), settings.seed) == (str, "smoke", int, 7)


def test_ingestion_sources_default_from_the_environment_at_load():
    defs = build_definitions({"GENAI_IMAGE_SOURCE": "/data/digits.npz", "GENAI_TEXT_SOURCE": "/data/news.jsonl",
                              "GENAI_TEXT_FIELD": "body"})
    assert defs.get_assets_def("raw_images").op.config_schema.default_value == {"source": "/data/digits.npz"}
    assert defs.get_assets_def("raw_text").op.config_schema.default_value == {"source": "/data/news.jsonl",
                                                                             "text_field": "body"}
    unset = build_definitions({})
    assert unset.get_assets_def("raw_images").op.config_schema.default_value == {"source": "sklearn:digits"}
    assert unset.get_assets_def("raw_text").op.config_schema.default_value == {"source": "gensim:lee",
                                                                              "text_field": "text"}


def test_ingestion_reads_its_config_not_the_environment_of_the_run(smoke_resources, monkeypatch, tmp_path):
    images, documents = tmp_path / "images.npz", tmp_path / "news.jsonl"
    np.savez(images, images=np.random.default_rng(0).random((40, 8, 8), dtype=np.float32))
    documents.write_text("".join(json.dumps({"body": f"document {i}"}) + "\n" for i in range(12)))
    assets = ingestion_assets({"GENAI_IMAGE_SOURCE": str(images), "GENAI_TEXT_SOURCE": str(documents),
                               "GENAI_TEXT_FIELD": "body"}, datasets_path=None)
    # after the code location loaded, the process environment names other sources
    monkeypatch.setenv("GENAI_IMAGE_SOURCE", "sklearn:digits")
    monkeypatch.setenv("GENAI_TEXT_SOURCE", "gensim:lee")
    monkeypatch.setenv("GENAI_TEXT_FIELD", "text")

    result = dg.materialize(assets, resources=smoke_resources)
    assert result.success
    image_metadata = result.asset_materializations_for_node("raw_images")[0].metadata
    text_metadata = result.asset_materializations_for_node("raw_text")[0].metadata
    assert (image_metadata["source"].value, image_metadata["rows"].value) == (str(images), 40)
    assert (text_metadata["source"].value, text_metadata["rows"].value) == (str(documents), 12)


def test_sources_outside_the_allowed_folders_are_refused_at_load_and_by_the_ingesting_step(smoke_resources, tmp_path):
    allowed, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    for folder in (allowed, elsewhere):
        folder.mkdir()
        (folder / "news.jsonl").write_text("".join(json.dumps({"text": f"document {i}"}) + "\n" for i in range(12)))
    env = {"GENAI_SOURCE_FOLDERS": str(allowed), "GENAI_TEXT_SOURCE": str(elsewhere / "news.jsonl")}
    with pytest.raises(ValueError) as error:
        build_definitions(env)
    assert f"GENAI_TEXT_SOURCE={str(elsewhere / 'news.jsonl')!r}: {elsewhere / 'news.jsonl'} is outside the folders " \
        f"sources may come from (GENAI_SOURCE_FOLDERS: {allowed})" in str(error.value)
    assets = ingestion_assets({**env, "GENAI_TEXT_SOURCE": str(allowed / "news.jsonl")}, datasets_path=None)
    assert dg.materialize(assets, resources=smoke_resources, selection=["raw_text"]).success
    # a launchpad override is checked by the step itself
    result = dg.materialize(assets, resources=smoke_resources, selection=["raw_text"], raise_on_error=False,
                            run_config={"ops": {"raw_text": {"config": {"source": str(elsewhere / "news.jsonl")}}}})
    assert "is outside the folders sources may come from" in \
        result.get_step_failure_events()[0].event_specific_data.error.cause.message
