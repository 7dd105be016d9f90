"""Ingestion: each modality's raw data from its dataset's source into DuckDB, with provenance.

One asset per modality (its raw_asset), made from the modality plug-in. With a datasets file a partition's
source is its entry there, read when the step runs; without one, the environment names one dataset per
modality (the default entries), shown as the asset's config so that the launchpad shows, and may change,
the effective source. Every source is refused outside GENAI_SOURCE_FOLDERS when that names folders.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from genai_platform.datasets.datasets_file import DatasetEntry
from genai_platform.datasets.provenance import outside
from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.defs.datasets import dataset_database, entry_for, environment_entries, partitions_for
from genai_platform.defs.metadata import markdown_table
from genai_platform.modalities import MODALITIES
from genai_platform.modalities.base import Modality
from genai_platform.store.tables import record_dataset


def _provenance_metadata(provenance) -> dict:
    shown = provenance.files[:50]
    return {
        "source": provenance.source,
        "rows": provenance.rows,
        "data_version": provenance.version,
        "files": markdown_table(("file", "sha256", "bytes"), [(f.path, f"{f.sha256[:16]}…", f.bytes) for f in shown]
                                + ([(f"…and {len(provenance.files) - len(shown)} more files", "", "")]
                                   if len(provenance.files) > len(shown) else [])),
    }


def _logged_notes(context, source: str, notes: list[str]) -> dg.MetadataValue:
    """What the loader changed or left out: a warning each in the log, and the list for the metadata."""
    for note in notes:
        context.log.warning(f"{source}: {note}")
    return dg.MetadataValue.md("\n".join(f"- {n}" for n in notes) or "none")


def source_folders(env: Mapping[str, str]) -> tuple[Path, ...]:
    """GENAI_SOURCE_FOLDERS (folders separated by os.pathsep), resolved and checked: the only places sources
    may come from; empty: anywhere. Each modality's source variable (GENAI_IMAGE_SOURCE, ...) must then name
    a place in one."""
    listed = [f for f in (env.get("GENAI_SOURCE_FOLDERS") or "").split(os.pathsep) if f.strip()]
    folders = tuple(Path(f.strip()).expanduser().resolve() for f in listed)
    for folder in folders:
        if not folder.is_dir():
            raise ValueError(f"GENAI_SOURCE_FOLDERS={env['GENAI_SOURCE_FOLDERS']!r}: {folder} is not a folder")
    for entry in environment_entries(env):
        if entry.watched_path is not None and (problem := outside(entry.watched_path, folders)):
            raise ValueError(f"{entry.origin}={entry.source!r}: {problem}")
    return folders


def _source_config(modality: Modality, default: DatasetEntry | None) -> dict:
    """The asset's config schema: the source and its settings, defaulting to the environment's entry; none with
    a datasets file (`default` None), whose entry the step reads."""
    if default is None:
        return {}
    sources = modality.sources
    where = "when the code location loaded"
    return {
        "source": dg.Field(str, default_value=default.source, description=(
            f"{sources.description}. Default: {sources.variable} {where}, else {sources.bundled}.")),
        **{o.name: dg.Field(str, default_value=default.options[o.name], description=(
            f"{o.description}. Default: {o.variable} {where}, else {o.default!r}.")) for o in sources.options},
    }


def build_ingestion_asset(modality: Modality, default: DatasetEntry | None, datasets_path: Path | None,
                          allowed: tuple[Path, ...]) -> dg.AssetsDefinition:
    option_names = [o.name for o in modality.sources.options]

    @dg.asset(name=modality.raw_asset, group_name="ingestion", pool=DUCKDB_WRITE_POOL, kinds={"duckdb"},
              config_schema=_source_config(modality, default), partitions_def=partitions_for(datasets_path),
              description=f"Raw {modality.name} data from the dataset's source, unnormalised, into DuckDB "
              f"({modality.preprocessing.raw_table}), with every source file's hash.")
    def ingestion(context: dg.AssetExecutionContext, duckdb: PlatformDuckDB):
        duckdb = dataset_database(context, duckdb)
        duckdb.check_readable()  # a night's first steps: a damaged file fails here, before anything is written
        if datasets_path is not None:
            entry = entry_for(context, datasets_path, modality.name)
            source, options = entry.source, entry.options
        else:
            source, options = context.op_config["source"], {name: context.op_config[name] for name in option_names}
        context.log.info(f"loading {modality.name} data from {source}")
        raw = modality.load_raw(source, options, allowed)  # any error is raised before the database is touched
        notes = _logged_notes(context, source, raw.notes)
        with duckdb.transaction() as con:
            modality.write_raw(con, raw)
            record_dataset(con, modality.name, raw.provenance)
        line, summary = modality.raw_summary(raw)
        context.log.info(line)
        return dg.MaterializeResult(metadata={**_provenance_metadata(raw.provenance), **summary, "notes": notes},
                                    data_version=dg.DataVersion(raw.provenance.version))

    return ingestion


def ingestion_assets(env: Mapping[str, str], datasets_path: Path | None) -> list[dg.AssetsDefinition]:
    """Every modality's ingestion asset (raw_images, raw_text, ...)."""
    allowed = source_folders(env)
    if datasets_path is not None:
        return [build_ingestion_asset(modality, None, datasets_path, allowed) for modality in MODALITIES.values()]
    defaults = {e.modality: e for e in environment_entries(env)}
    for modality in MODALITIES.values():
        if modality.name not in defaults:
            raise ValueError(f"{modality.sources.variable} is not set and the {modality.name} modality has no bundled "
                             "dataset: name its source there, or list datasets in a datasets file (GENAI_DATASETS)")
    return [build_ingestion_asset(modality, defaults[modality.name], None, allowed) for modality in MODALITIES.values()]
