"""Several datasets per modality: the datasets file (GENAI_DATASETS) as Dagster dynamic partitions.

With a datasets file every asset is partitioned by dataset name. A dataset's tables, models, versions,
history and reports live in its own namespace (GENAI_HOME/datasets/<name>/ with its own DuckDB file,
GENAI_REPORTS_DIR/datasets/<name>/ for its latest reports), so one dataset's run never reads or
replaces another's; the run archive (reports/runs/<run id>/) and index.html are shared and list all.
A run of a dataset materializes what is downstream of its modality's raw asset. Without the file, the
environment variables (GENAI_IMAGE_SOURCE, GENAI_TEXT_SOURCE) name one dataset per modality and
nothing is partitioned.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

from genai_platform.datasets.catalog import (DatasetEntry, DatasetsFileError, check_name, dataset_entry,
                                             read_datasets_file)
from genai_platform.datasets.provenance import content_fingerprint
from genai_platform.defs.database import PlatformDuckDB
from genai_platform.defs.resources import ArtifactStore
from genai_platform.evaluation import MODALITIES

DATASETS = dg.DynamicPartitionsDefinition(name="datasets")
PARTITION_TAG = "dagster/partition"  # the tag Dagster puts on a run of one partition
TRIGGER_TAG = "genai/trigger"


def datasets_file(env: Mapping[str, str]) -> Path | None:
    """GENAI_DATASETS, resolved and read once now so that a bad file stops the code location loading."""
    if not (setting := (env.get("GENAI_DATASETS") or "").strip()):
        return None
    path = Path(setting).expanduser().resolve()
    try:
        read_datasets_file(path, tuple(MODALITIES))
    except DatasetsFileError as error:
        raise ValueError(f"GENAI_DATASETS={setting!r}: {error}") from None
    return path


def partitioned(defs: dg.Definitions) -> dg.Definitions:
    """defs with every asset partitioned by dataset."""
    with warnings.catch_warnings():  # map_asset_specs is marked preview in Dagster 1.13
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=lambda spec: spec.replace_attributes(partitions_def=DATASETS))


def dataset_name(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str | None:
    """The dataset a step works on; None in the one-dataset layout (no partitions)."""
    if isinstance(context, dg.AssetExecutionContext):
        name = context.partition_key if context.has_partition_key else None
    else:
        name = context.run.tags.get(PARTITION_TAG)
    if name is None:
        return None
    try:  # a partition added by hand in the UI takes any string
        return check_name(name)
    except ValueError as error:
        raise dg.Failure(f"partition {error}: add datasets through the datasets file", allow_retries=False) from None


def dataset_database(context, duckdb: PlatformDuckDB) -> PlatformDuckDB:
    """The DuckDB file of the step's dataset (the resource itself without partitions)."""
    name = dataset_name(context)
    return duckdb if name is None else duckdb.for_dataset(name)


def dataset_stores(context, duckdb: PlatformDuckDB, artifacts: ArtifactStore) -> tuple[PlatformDuckDB, ArtifactStore]:
    """The DuckDB file and artifact store of the step's dataset (the resources themselves without partitions)."""
    name = dataset_name(context)
    return (duckdb, artifacts) if name is None else (duckdb.for_dataset(name), artifacts.for_dataset(name))


def entry_for(context: dg.AssetExecutionContext, path: Path, modality: str) -> DatasetEntry:
    """The datasets file's entry of the step's partition, read now (an edit needs no reload); a Failure
    without retries when the partition's dataset is of another modality."""
    try:
        entry = dataset_entry(path, context.partition_key, tuple(MODALITIES))
    except DatasetsFileError as error:
        raise dg.Failure(str(error), allow_retries=False) from None
    if entry.modality != modality:
        raise dg.Failure(f"dataset {entry.name!r} has modality {entry.modality}, so {context.asset_key.to_user_string()} "
                         f"does not apply to it: run the {entry.modality}_datasets job for it (the schedule and "
                         "the new_data sensor select its modality's assets)", allow_retries=False)
    return entry


def run_request(entry: DatasetEntry, keys_by_modality: Mapping[str, Sequence[dg.AssetKey]], trigger: str,
                run_key: str | None = None) -> dg.RunRequest:
    return dg.RunRequest(partition_key=entry.name, asset_selection=list(keys_by_modality[entry.modality]),
                         run_key=run_key, tags={TRIGGER_TAG: trigger})


def missing_partitions(instance: dg.DagsterInstance, entries: list[DatasetEntry]) -> list[str]:
    """The names of the entries that have no partition yet."""
    known = set(instance.get_dynamic_partitions(DATASETS.name))
    return [entry.name for entry in entries if entry.name not in known]


def nightly_requests(path: Path, keys_by_modality: Mapping[str, Sequence[dg.AssetKey]]):
    """The schedule's evaluation with a datasets file: a run of every dataset in it (partitions added as needed)."""

    def requests(context: dg.ScheduleEvaluationContext):
        entries = read_datasets_file(path, tuple(MODALITIES))
        if new := missing_partitions(context.instance, entries):
            context.instance.add_dynamic_partitions(DATASETS.name, new)
            context.log.info(f"added dataset partitions {', '.join(new)} from {path}")
        for entry in entries:
            yield run_request(entry, keys_by_modality, "schedule", run_key=entry.name)  # unique within a tick

    return requests


def datasets_sensor(path: Path, job: dg.JobDefinition,
                    keys_by_modality: Mapping[str, Sequence[dg.AssetKey]]) -> dg.SensorDefinition:
    """new_data with a datasets file: a new entry gets a partition and a run; a changed source a run."""

    @dg.sensor(name="new_data", job=job, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Reads the datasets file {path} every 2 minutes: a dataset new to it gets a partition and "
               "a run of its modality's assets, and so does a dataset whose source file or folder changed since it "
               "last looked (bundled sources never change). A removed entry's partition, models and reports stay.")
    def new_data(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        entries = read_datasets_file(path, tuple(MODALITIES))
        seen = json.loads(context.cursor) if context.cursor else {}
        now, requests, notes = {}, [], []
        for entry in entries:
            watched = entry.watched_path
            if watched is not None and not watched.exists():
                notes.append(f"{entry.name}: {watched} does not exist")
                continue
            now[entry.name] = content_fingerprint(watched) if watched is not None else entry.source
            if seen.get(entry.name) != now[entry.name]:
                why = "new dataset" if entry.name not in seen else "new data"
                context.log.info(f"{why}: {entry.name} ({entry.modality}) from {entry.source}")
                requests.append(run_request(entry, keys_by_modality, "new_data",
                                            run_key=f"{entry.name}:{now[entry.name][:16]}"))
        new = missing_partitions(context.instance, entries)
        return dg.SensorResult(
            run_requests=requests, cursor=json.dumps({**seen, **now}),
            dynamic_partitions_requests=[DATASETS.build_add_request(new)] if new else [],
            skip_reason=None if requests else "; ".join(notes) or "no dataset is new or changed")

    return new_data
