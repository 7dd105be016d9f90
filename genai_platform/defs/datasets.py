"""Several datasets per modality: the datasets file (GENAI_DATASETS) as Dagster dynamic partitions.

With a datasets file every asset is partitioned by dataset name. A dataset's tables, models, versions,
history and reports live in its own namespace (GENAI_HOME/datasets/<name>/ with its own DuckDB file,
GENAI_REPORTS_DIR/datasets/<name>/ for its latest reports), so one dataset's run never reads or
replaces another's; the run archive (reports/runs/<run id>/) and index.html are shared and list all.
A run of a dataset materializes what is downstream of its modality's raw asset, less the assets of the
families its entry does not train (those do nothing when run by hand). Without the file, the
environment variables (GENAI_IMAGE_SOURCE, GENAI_TEXT_SOURCE) name one dataset per modality and
nothing is partitioned.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

from genai_platform.datasets.datasets_file import (DatasetEntry, DatasetsFileError, FamilyOptions, Sources, check_name,
                                                   dataset_entry, entries_from_environment, read_datasets_file)
from genai_platform.datasets.provenance import content_fingerprint
from genai_platform.defs.database import PlatformDuckDB
from genai_platform.defs.resources import ArtifactStore
from genai_platform.modalities import MODALITIES
from genai_platform.families.registry import Family, families

DATASETS = dg.DynamicPartitionsDefinition(name="datasets")
PARTITION_TAG = "dagster/partition"  # the tag Dagster puts on a run of one partition
TRIGGER_TAG = "genai/trigger"


def family_options() -> dict[str, FamilyOptions]:
    """What a datasets-file entry may say of each registered family."""
    return {f.name: FamilyOptions(f.modality.name, f.setting_types(), f.check_settings,
                                  f.pretrained.family if f.pretrained else None) for f in families()}


def modality_sources() -> dict[str, Sources]:
    return {name: modality.sources for name, modality in MODALITIES.items()}


def read_entries(path: Path) -> list[DatasetEntry]:
    return read_datasets_file(path, modality_sources(), family_options())


def read_entry(path: Path, name: str) -> DatasetEntry:
    return dataset_entry(path, name, modality_sources(), family_options())


def environment_entries(env: Mapping[str, str]) -> list[DatasetEntry]:
    """The one-dataset layout's datasets: each modality's from its source variable, else its bundled one."""
    return entries_from_environment(env, modality_sources())


def datasets_file(env: Mapping[str, str]) -> Path | None:
    """GENAI_DATASETS, resolved and read once now so that a bad file stops the code location loading."""
    if not (setting := (env.get("GENAI_DATASETS") or "").strip()):
        return None
    path = Path(setting).expanduser().resolve()
    try:
        read_entries(path)
    except DatasetsFileError as error:
        raise ValueError(f"GENAI_DATASETS={setting!r}: {error}") from None
    return path


def partitions_for(datasets_path: Path | None) -> dg.DynamicPartitionsDefinition | None:
    """Every asset's partitions: a dataset each with a datasets file, none without one."""
    return None if datasets_path is None else DATASETS


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
        entry = read_entry(path, context.partition_key)
    except DatasetsFileError as error:
        raise dg.Failure(str(error), allow_retries=False) from None
    if entry.modality != modality:
        raise dg.Failure(f"dataset {entry.name!r} has modality {entry.modality}, so {context.asset_key.to_user_string()} "
                         f"does not apply to it: run the {entry.modality}_datasets job for it (the schedule and "
                         "the new_data sensor select its modality's assets)", allow_retries=False)
    return entry


def family_settings(context: dg.AssetExecutionContext, datasets_path: Path | None, family: Family) -> dict | None:
    """The settings the step's dataset gives `family` ({}: none, or no datasets file); None when its entry
    lists families and `family` is not one of them."""
    if datasets_path is None or not context.has_partition_key:
        return {}
    entry = entry_for(context, datasets_path, family.modality.name)
    return dict(entry.settings.get(family.name, {})) if entry.trains(family.name) else None


def entry_families(datasets_path: Path | None, dataset: str | None) -> list[Family]:
    """The families `dataset` trains: those its datasets-file entry lists, or every registered one (no list,
    no datasets file, or the one-dataset layout)."""
    if datasets_path is None or dataset is None:
        return families()
    entry = read_entry(datasets_path, dataset)
    return [f for f in families() if entry.trains(f.name)]


def not_trained_here(context: dg.AssetExecutionContext, family: str) -> str:
    """Why a family's step does nothing on this dataset, logged; for its metadata."""
    reason = (f"dataset {context.partition_key!r} does not train {family}: its entry in the datasets file lists "
              "the families to train, and not this one")
    context.log.info(reason)
    return reason


FAMILY_TAG = "genai/family"  # the tag of a family's own assets (train_, samples_, champion_)


def run_request(entry: DatasetEntry, keys_by_modality: Mapping[str, Sequence[dg.AssetKey]],
                family_of: Mapping[dg.AssetKey, str], trigger: str, run_key: str) -> dg.RunRequest:
    """A run of `entry`'s modality's assets, less those of families its entry does not train (`family_of`:
    asset key -> family, for the families' own assets)."""
    keys = [key for key in keys_by_modality[entry.modality] if key not in family_of or entry.trains(family_of[key])]
    return dg.RunRequest(partition_key=entry.name, asset_selection=keys, run_key=run_key, tags={TRIGGER_TAG: trigger})


def missing_partitions(instance: dg.DagsterInstance, entries: list[DatasetEntry]) -> list[str]:
    """The names of the entries that have no partition yet."""
    known = set(instance.get_dynamic_partitions(DATASETS.name))
    return [entry.name for entry in entries if entry.name not in known]


def nightly_requests(path: Path, keys_by_modality: Mapping[str, Sequence[dg.AssetKey]],
                     family_of: Mapping[dg.AssetKey, str]):
    """The schedule's evaluation with a datasets file: a run of every dataset in it (partitions added as needed)."""

    def requests(context: dg.ScheduleEvaluationContext):
        entries = read_entries(path)
        if new := missing_partitions(context.instance, entries):
            context.instance.add_dynamic_partitions(DATASETS.name, new)
            context.log.info(f"added dataset partitions {', '.join(new)} from {path}")
        for entry in entries:
            yield run_request(entry, keys_by_modality, family_of, "schedule", run_key=entry.name)  # unique in a tick

    return requests


def new_data_sensor(job: dg.JobDefinition, env: Mapping[str, str], datasets_path: Path | None,
                    keys_by_modality: Mapping[str, Sequence[dg.AssetKey]] | None = None,
                    family_of: Mapping[dg.AssetKey, str] | None = None) -> dg.SensorDefinition:
    """new_data: hashes every dataset's source file or folder every 2 minutes and requests a run when one
    changed since it last looked. With a datasets file (re-read each time) a dataset new to it also gets a
    partition and a run of its modality's assets (`keys_by_modality`, less its untrained families' by
    `family_of`); without one, the environment's datasets are fixed, bundled ones are not watched, and the
    first look only records the hashes."""
    if datasets_path is not None and (keys_by_modality is None or family_of is None):
        raise TypeError("the datasets file's new_data sensor needs keys_by_modality and family_of")
    if datasets_path is None:
        fixed = [entry for entry in environment_entries(env) if entry.watched_path is not None]
        entries, description = (lambda: fixed), (
            f"Hashes the content of {', '.join(m.sources.variable for m in MODALITIES.values())} (a file, or every "
            "file of a folder) every 2 minutes and requests a run when one changed since it last looked; the bundled "
            "defaults are not watched. Its first look only records the hashes.")
    else:
        entries, description = (lambda: read_entries(datasets_path)), (
            f"Reads the datasets file {datasets_path} every 2 minutes: a dataset new to it gets a partition and a run "
            "of its modality's assets, and so does a dataset whose source file or folder changed since it last "
            "looked (bundled sources never change). A removed entry's partition, models and reports stay.")

    def requests_for(changed: list[tuple[DatasetEntry, str, str]]) -> list[dg.RunRequest]:
        """(entry, cursor key, fingerprint) of each changed dataset: a run of each dataset's partition, or without
        a datasets file one run of the whole job, keyed by every changed source."""
        if datasets_path is not None:
            return [run_request(entry, keys_by_modality, family_of, "new_data", f"{key}:{fingerprint[:16]}")
                    for entry, key, fingerprint in changed]
        run_key = "+".join(f"{key}:{fingerprint[:16]}" for _, key, fingerprint in sorted(changed, key=lambda c: c[1]))
        return [dg.RunRequest(run_key=run_key, tags={TRIGGER_TAG: "new_data"})] if changed else []

    @dg.sensor(name="new_data", job=job, minimum_interval_seconds=120, default_status=dg.DefaultSensorStatus.RUNNING,
               description=description)
    def new_data(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        current = entries()
        if not current:
            return dg.SensorResult(skip_reason="only the bundled datasets are configured; nothing to watch")
        seen = json.loads(context.cursor) if context.cursor else {}
        now, changed, first, notes = {}, [], [], []
        for entry in current:
            key, watched = entry.origin or entry.name, entry.watched_path  # the variable, or the dataset's name
            if watched is not None and not watched.exists():
                notes.append(f"{entry.label} does not exist")
                continue
            now[key] = content_fingerprint(watched) if watched is not None else entry.source
            if key not in seen and datasets_path is None:
                first.append(key)
            elif seen.get(key) != now[key]:
                why = "new dataset" if key not in seen else "new data"
                context.log.info(f"{why}: {entry.label} ({entry.modality})")
                changed.append((entry, key, now[key]))
        requests = requests_for(changed)
        new = missing_partitions(context.instance, current) if datasets_path is not None else []
        notes = ([f"first look at {', '.join(first)}: hashes recorded"] if first else []) + notes
        return dg.SensorResult(
            run_requests=requests, cursor=json.dumps({**seen, **now}),
            dynamic_partitions_requests=[DATASETS.build_add_request(new)] if new else [],
            skip_reason=None if requests else "; ".join(notes) or (
                "no source changed" if datasets_path is None else "no dataset is new or changed"))

    return new_data
