"""Dagster resources: artifact store and run settings (DuckDB: defs/database.py), from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Self

import torch
from dagster import ConfigurableResource, EnvVar, PipesSubprocessClient
from pydantic import Field, PrivateAttr, ValidationError, ValidationInfo, field_validator

from genai_platform.datasets.datasets_file import check_name
from genai_platform.defs.database import LAKE_EXTENSIONS, PlatformDuckDB, lake_extension
from genai_platform.files import ArtifactPath, artifact_path, folder_problem, is_local, location_problem
from genai_platform.marking.c2pa_signing import c2pa_signer_settings
from genai_platform.marking.key import WatermarkKey, check_key_setting, watermark_key
from genai_platform.fingerprints import package_version
from genai_platform.notify import check_webhook_url, post_message
from genai_platform.records import FEATURE_SPACES, PROFILES
from genai_platform.reporting.inputs import RunInfo, read_run
from genai_platform.training.device import device_problem, select_device
from genai_platform.verdicts.thresholds import DEFAULT_THRESHOLDS, Threshold, thresholds

DEVICES = "auto, cpu, cuda, cuda:N, mps"
MAX_SEED = 2**32 - 1  # numpy's seeds are 0 to 2^32 - 1
DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
# dagster exports EnvVar but not the class that EnvVar.int returns
INT_ENV_VAR = type(EnvVar.int("ANY"))


class EnvironmentResource(ConfigurableResource):
    """A resource whose fields each default from one environment variable (VARIABLES: field -> variable)."""

    VARIABLES: ClassVar[dict[str, str]]

    @classmethod
    def checked_from_env(cls, env: Mapping[str, str]) -> Self:
        """The values env sets (unset or empty: the field's default), validated now; a bad one is a ValueError
        whose first line is the validator's message (naming the variable), not pydantic's count of errors."""
        try:
            return cls(**{field: env[variable] for field, variable in cls.VARIABLES.items() if env.get(variable)})
        except ValidationError as error:
            raise ValueError("; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """checked_from_env, with each variable the process environment sets kept as a dg.EnvVar field.

        The UI then names the variable rather than a copy of its value, and a run resolves it (and
        the validators check it again) when it starts. A run resolves EnvVars from its own process
        environment only, so any other mapping (a test's) is copied in as values.
        """
        checked = cls.checked_from_env(env)
        if env is not os.environ:
            return checked
        return cls(**{field: EnvVar.int(variable) if cls.model_fields[field].annotation is int else EnvVar(variable)
                      for field, variable in cls.VARIABLES.items() if env.get(variable)})

    @classmethod
    def invalid_setting(cls, field: str, value, expected: str) -> ValueError:
        return ValueError(f"{cls.VARIABLES[field]}={value!r} ({cls.__name__}.{field}) is not {expected}")


def _is_env_var(value) -> bool:
    """A dg.EnvVar field before a run resolves it: the validators see the resolved value then."""
    return isinstance(value, (EnvVar, INT_ENV_VAR))


def _integer(value, minimum: int | None = None) -> int | None:
    """value (an int, or a string from the environment) as an int; None if it is not a whole number >= minimum."""
    text = str(value).strip()
    if not re.fullmatch(r"-?\d+", text) or (minimum is not None and int(text) < minimum):
        return None
    return int(text)


class ArtifactStore(EnvironmentResource):
    """Where models, checkpoints and reports live: local folders, or fsspec URLs (s3://bucket/prefix) that
    steps on several machines share."""

    VARIABLES: ClassVar[dict[str, str]] = {"home": "GENAI_HOME", "reports_dir": "GENAI_REPORTS_DIR"}

    home: str = Field(default=".genai", description="GENAI_HOME: models, checkpoints (and, when local, the DuckDB "
                      "file); a folder or an fsspec URL such as s3://bucket/prefix")
    reports_dir: str = Field(default="reports", description="GENAI_REPORTS_DIR: where the HTML reports are written; "
                             "a folder or an fsspec URL")
    # the dataset (a GENAI_DATASETS partition) whose namespace this is, set by for_dataset; not a setting
    _dataset: str = PrivateAttr(default="")

    @field_validator("home", "reports_dir", mode="before")
    @classmethod
    def _shared_location(cls, value, info: ValidationInfo):
        if not _is_env_var(value) and (problem := location_problem(str(value))):
            raise cls.invalid_setting(info.field_name, value, f"a folder or an fsspec URL every step can reach: "
                                      f"{problem}")
        return value

    def for_dataset(self, name: str) -> ArtifactStore:
        """This store narrowed to one dataset: its models under <home>/datasets/<name>, its latest reports
        under <reports_dir>/datasets/<name>; the run archive and the index stay shared."""
        store = ArtifactStore(home=self.home, reports_dir=self.reports_dir)
        store._dataset = check_name(name)
        return store

    @property
    def dataset(self) -> str | None:
        """The dataset this store is narrowed to; None in the one-dataset layout."""
        return self._dataset or None

    @property
    def root(self) -> ArtifactPath:
        home = artifact_path(self.home)
        return home / "datasets" / self._dataset if self._dataset else home

    def model_dir(self, name: str) -> ArtifactPath:
        return self.root / "models" / name

    def version_dir(self, family: str, version: str) -> ArtifactPath:
        """A kept model version of a family (the version id is the run id that trained it)."""
        return self.model_dir(family) / "versions" / version

    def checkpoint_path(self, name: str) -> ArtifactPath:
        return self.root / "checkpoints" / f"{name}.pt"

    def details_path(self, modality: str) -> ArtifactPath:
        return self.root / "evaluation" / f"{modality}.json"

    @property
    def reports(self) -> ArtifactPath:
        """The reports folder: index.html and the run archive (runs/<run id>/), shared by every dataset."""
        return artifact_path(self.reports_dir)

    def watermark_key(self, env: Mapping[str, str] = os.environ, create: bool = True) -> WatermarkKey:
        """The deployment's one key, whichever dataset this store is narrowed to (marking/key.py); made in a local
        home that has none when `create`."""
        return watermark_key(env, self.home, create)

    @property
    def latest_reports(self) -> ArtifactPath:
        """Where this dataset's latest comparison and ethics reports are written."""
        return self.reports / "datasets" / self._dataset if self._dataset else self.reports


class RunSettings(EnvironmentResource):
    """Profile, seed, device, parallelism and image feature space for every training and evaluation step."""

    VARIABLES: ClassVar[dict[str, str]] = {
        "profile": "GENAI_PROFILE", "seed": "GENAI_SEED", "device": "GENAI_DEVICE",
        "parallel_steps": "GENAI_PARALLEL_STEPS", "feature_extractor": "GENAI_FEATURE_EXTRACTOR"}

    profile: str = Field(default="default", description="GENAI_PROFILE: smoke, default or full")
    seed: int = Field(default=0, description="GENAI_SEED: seeds every model, sampler and split")
    device: str = Field(default="auto", description="GENAI_DEVICE: auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps")
    parallel_steps: int = Field(default=2, description="GENAI_PARALLEL_STEPS: steps a run executes at once; "
                                "each step's torch gets CPU cores / this many threads")
    feature_extractor: str = Field(
        default="classifier", description="GENAI_FEATURE_EXTRACTOR: feature space of FID, KID, precision/recall "
        "and density/coverage: classifier (the in-project CNN, any image size) or inception (Inception-v3, "
        "images of 28 px and up; pip install 'genai-platform[inception]')")

    @field_validator("profile", "feature_extractor", mode="before")
    @classmethod
    def _one_of_the_known_names(cls, value, info: ValidationInfo):
        known = {"profile": PROFILES, "feature_extractor": FEATURE_SPACES}[info.field_name]
        if not _is_env_var(value) and value not in known:
            raise cls.invalid_setting(info.field_name, value, f"one of {', '.join(known)}")
        return value

    @field_validator("seed", "parallel_steps", mode="before")
    @classmethod
    def _whole_number(cls, value, info: ValidationInfo):
        if _is_env_var(value):
            return value
        minimum, maximum = {"seed": (0, MAX_SEED), "parallel_steps": (1, None)}[info.field_name]
        if (number := _integer(value, minimum)) is None or (maximum is not None and number > maximum):
            raise cls.invalid_setting(info.field_name, value, f"a whole number >= {minimum}" if maximum is None
                                      else f"a whole number from {minimum} to {maximum}")
        return number

    @field_validator("device", mode="before")
    @classmethod
    def _known_device(cls, value):
        if not _is_env_var(value) and not (isinstance(value, str) and DEVICE_PATTERN.fullmatch(value)):
            raise cls.invalid_setting("device", value, f"one of {DEVICES}")
        return value

    def run_info(self, run_id: str) -> RunInfo:
        """What the reports say of the run `run_id`: these settings, the device and the release."""
        return read_run(run_id, self.profile, self.seed, str(self.setup_torch()), package_version())

    def setup_torch(self) -> torch.device:
        """The step's device, with torch's CPU threads sized to this step's share of the cores.

        Parallel steps each using every core oversubscribe them, and OpenMP's spin-waiting
        then slows training by 10x (measured: 2 steps x 2 threads on 2 cores).
        """
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.parallel_steps))
        return select_device(self.device)


class FindingThresholds(ConfigurableResource):
    """The pass/warn/fail thresholds of bias and memorization findings, for the reports and the champion
    gate alike; set in the launchpad as resources: {findings: {config: {thresholds: ...}}}."""

    thresholds: dict[str, list[float]] = Field(
        default_factory=dict,
        description="Overrides of the findings' thresholds: metric name -> [warn, fail]; a value at or above "
        "warn warns, at or above fail fails (absolute value for sentiment gaps; for the watermark's detection "
        "rates, where higher is better, below warn warns and below fail fails); a failing finding blocks the "
        "family's promotion. Defaults: " + "; ".join(f"{m} [{t.warn:g}, {t.fail:g}]"
                                                      for m, t in DEFAULT_THRESHOLDS.items()))

    def limits(self) -> dict[str, Threshold]:
        return thresholds(self.thresholds)


class Alerts(EnvironmentResource):
    """Where run failures, failing findings, regressions and self-test violations are announced."""

    VARIABLES: ClassVar[dict[str, str]] = {"webhook_url": "GENAI_ALERT_WEBHOOK"}

    webhook_url: str = Field(default="", description="GENAI_ALERT_WEBHOOK: a Slack-compatible incoming webhook "
                             "(http or https) that gets a JSON {\"text\": ...} message per alert; empty: no alerts "
                             "and no network traffic")

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _http_url(cls, value):
        if not _is_env_var(value) and value:
            try:
                check_webhook_url(value)
            except ValueError:
                raise cls.invalid_setting("webhook_url", value, "an http:// or https:// URL") from None
        return value

    def send(self, text: str, log) -> None:
        """Post `text` when a webhook is configured; a delivery failure is logged as a warning."""
        if not self.webhook_url:
            return
        problem = post_message(self.webhook_url, text)
        if problem:
            log.warning(f"alert not delivered to GENAI_ALERT_WEBHOOK: {problem}")


DEFAULT_DUCKDB_MEMORY = "256MB"
MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def duckdb_from_env(env: Mapping[str, str]) -> PlatformDuckDB:
    """The DuckDB file (GENAI_DUCKDB, or genai.duckdb in a local GENAI_HOME), its buffer pool capped at
    GENAI_DUCKDB_MEMORY.

    DuckDB's own default is 80% of the machine's memory, which it fills with cached pages when it
    may; capped, it spills to disk instead and leaves the memory to the training steps beside it."""
    memory = (env.get("GENAI_DUCKDB_MEMORY") or DEFAULT_DUCKDB_MEMORY).strip()
    if not MEMORY_SIZE.fullmatch(memory):
        raise ValueError(f"GENAI_DUCKDB_MEMORY={memory!r} is not a size such as 512MB or 2GB")
    # the file's path may be derived from GENAI_HOME, so it is a value fixed here, not an EnvVar
    home = artifact_path(ArtifactStore.checked_from_env(env).home)
    if catalog := (env.get("GENAI_TABLES_CATALOG") or "").strip():
        return PlatformDuckDB(database=":memory:", connection_config={"memory_limit": memory},
                              lake_catalog=lake_catalog_from_env(catalog), lake_data=lake_data_from_env(env))
    if database := (env.get("GENAI_DUCKDB") or "").strip():
        path = artifact_path(database)
        if not is_local(path):
            raise ValueError(f"GENAI_DUCKDB={database!r} is not a local file: DuckDB writes to local disk")
        if problem := folder_problem(path.parent):
            raise ValueError(f"GENAI_DUCKDB={database!r} is not a file in a folder that can be written: {problem}")
    elif is_local(home):
        path = home / "genai.duckdb"
    else:
        raise ValueError(f"GENAI_HOME={env['GENAI_HOME']!r} is not a local folder, so the DuckDB file cannot live in "
                         "it: set GENAI_DUCKDB to a local path for it")
    return PlatformDuckDB(database=str(path), connection_config={"memory_limit": memory})


def check_device_here(env: Mapping[str, str]) -> None:
    """GENAI_DEVICE names a device this machine has, where the steps run on it (not under GENAI_EXECUTOR=k8s,
    whose steps run on the cluster's machines)."""
    device = RunSettings.checked_from_env(env).device
    local = (env.get("GENAI_EXECUTOR") or "multiprocess").strip().lower() != "k8s"
    if local and (problem := device_problem(device)):
        raise RunSettings.invalid_setting("device", device, f"a device of this machine: {problem}")


def lake_catalog_from_env(catalog: str) -> str:
    """GENAI_TABLES_CATALOG, checked: a PostgreSQL catalog, and the DuckLake extensions installed."""
    if not catalog.startswith("postgres:"):
        raise ValueError(f"GENAI_TABLES_CATALOG={catalog!r} is not a PostgreSQL DuckLake catalog "
                         "('postgres:dbname=... host=... user=...')")
    try:
        for extension in LAKE_EXTENSIONS:
            lake_extension(extension)
    except ValueError as error:
        raise ValueError(f"GENAI_TABLES_CATALOG is set: {error}") from None
    return catalog


def lake_data_from_env(env: Mapping[str, str]) -> str:
    """GENAI_TABLES_DATA, checked: a folder path (every machine must mount it at the same path)."""
    data = (env.get("GENAI_TABLES_DATA") or "").strip()
    if not data:
        raise ValueError("GENAI_TABLES_CATALOG is set but GENAI_TABLES_DATA is not: name the folder every machine "
                         "reaches where the DuckLake writes its Parquet files")
    if not is_local(artifact_path(data)):
        raise ValueError(f"GENAI_TABLES_DATA={data!r} is not a folder: object storage needs DuckDB's httpfs "
                         "extension, which this package does not install")
    return str(Path(data).expanduser().resolve())


def resources_from_env(env: Mapping[str, str] = os.environ) -> dict:
    """Every resource, its settings validated now: a bad value stops the code location loading."""
    artifacts = ArtifactStore.from_env(env)
    check_device_here(env)
    check_key_setting(env, env.get("GENAI_HOME") or ArtifactStore.model_fields["home"].default)
    c2pa_signer_settings(env)  # signing asked for and impossible stops loading
    return {
        "duckdb": duckdb_from_env(env),
        "artifacts": artifacts,
        "run_settings": RunSettings.from_env(env),
        "alerts": Alerts.from_env(env),
        "findings": FindingThresholds(),
        "pipes_client": PipesSubprocessClient(),  # starts torchrun for a training with processes > 1
    }
