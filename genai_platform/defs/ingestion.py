"""Ingestion: raw images and raw text from the configured source into DuckDB, with provenance; a
sensor that requests a run when a configured source's content changes."""

import json
import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
from pydantic import Field

from genai_platform.datasets.image_sources import DEFAULT_IMAGE_SOURCE, load_images
from genai_platform.datasets.provenance import content_fingerprint, outside
from genai_platform.datasets.text_sources import DEFAULT_TEXT_SOURCE, load_documents
from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.defs.datasets import dataset_database, entry_for, partitions_for
from genai_platform.defs.metadata import markdown_table
from genai_platform.modalities.image import IMAGE
from genai_platform.modalities.text import TEXT
from genai_platform.store.tables import record_dataset, write_raw_documents, write_raw_images


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


RAW_ASSETS = {IMAGE.name: "raw_images", TEXT.name: "raw_text"}  # modality -> its ingestion asset


def _logged_notes(context, source: str, notes: list[str]) -> dg.MetadataValue:
    """What the loader changed or left out: a warning each in the log, and the list for the metadata."""
    for note in notes:
        context.log.warning(f"{source}: {note}")
    return dg.MetadataValue.md("\n".join(f"- {n}" for n in notes) or "none")


def source_folders(env: Mapping[str, str]) -> tuple[Path, ...]:
    """GENAI_SOURCE_FOLDERS (folders separated by os.pathsep), resolved and checked: the only places sources
    may come from; empty: anywhere. GENAI_IMAGE_SOURCE and GENAI_TEXT_SOURCE must then lie in one."""
    listed = [f for f in (env.get("GENAI_SOURCE_FOLDERS") or "").split(os.pathsep) if f.strip()]
    folders = tuple(Path(f.strip()).expanduser().resolve() for f in listed)
    for folder in folders:
        if not folder.is_dir():
            raise ValueError(f"GENAI_SOURCE_FOLDERS={env['GENAI_SOURCE_FOLDERS']!r}: {folder} is not a folder")
    for variable, default in WATCHED_SOURCES.items():
        source = env.get(variable) or default
        if source != default and (problem := outside(Path(source).expanduser().resolve(), folders)):
            raise ValueError(f"{variable}={source!r}: {problem}")
    return folders


def ingestion_assets(env: Mapping[str, str], datasets_path: Path | None) -> list[dg.AssetsDefinition]:
    """raw_images and raw_text. With a datasets file (`datasets_path`) a partition's source is its entry there,
    read when the step runs; without, the source is config defaulting to what env names when the code
    location loads, so the launchpad shows the effective source and a run reads only its config. Every
    source is refused outside GENAI_SOURCE_FOLDERS, when that names folders."""
    allowed = source_folders(env)

    if datasets_path is not None:
        class ImageSourceConfig(dg.Config):
            """No settings: the source is the partition's entry in the datasets file."""

        class TextSourceConfig(dg.Config):
            """No settings: the source and text field are the partition's entry in the datasets file."""

        def image_source(context, config) -> str:
            return entry_for(context, datasets_path, IMAGE.name).source

        def text_source(context, config) -> tuple[str, str]:
            entry = entry_for(context, datasets_path, TEXT.name)
            return entry.source, entry.text_field
    else:
        class ImageSourceConfig(dg.Config):
            source: str = Field(
                default=env.get("GENAI_IMAGE_SOURCE") or DEFAULT_IMAGE_SOURCE,
                description="'sklearn:digits', an image folder (class = sub-folder), an IDX images file or an .npz "
                "with 'images' (and 'labels'). Default: GENAI_IMAGE_SOURCE when the code location loaded, else "
                "sklearn:digits.",
            )

        class TextSourceConfig(dg.Config):
            source: str = Field(
                default=env.get("GENAI_TEXT_SOURCE") or DEFAULT_TEXT_SOURCE,
                description="'gensim:lee', a .txt (blank-line separated documents), .jsonl or .csv file. "
                "Default: GENAI_TEXT_SOURCE when the code location loaded, else gensim:lee.",
            )
            text_field: str = Field(
                default=env.get("GENAI_TEXT_FIELD") or "text",
                description="JSONL field or CSV column holding the text. "
                "Default: GENAI_TEXT_FIELD when the code location loaded, else 'text'.",
            )

        def image_source(context, config) -> str:
            return config.source

        def text_source(context, config) -> tuple[str, str]:
            return config.source, config.text_field

    @dg.asset(name=RAW_ASSETS[IMAGE.name], group_name="ingestion", pool=DUCKDB_WRITE_POOL, kinds={"duckdb"},
              partitions_def=partitions_for(datasets_path))
    def raw_images(context: dg.AssetExecutionContext, config: ImageSourceConfig, duckdb: PlatformDuckDB):
        """Raw images from the configured source, unnormalised, into the raw_images table."""
        duckdb = dataset_database(context, duckdb)
        duckdb.check_readable()  # a night's first steps: a damaged file fails here, before anything is written
        source = image_source(context, config)
        context.log.info(f"loading images from {source}")
        raw = load_images(source, allowed)  # any error is raised before the database is touched
        notes = _logged_notes(context, source, raw.notes)
        with duckdb.transaction() as con:
            write_raw_images(con, raw)
            record_dataset(con, IMAGE.name, raw.provenance)
        context.log.info(f"ingested {raw.provenance.rows} images of shape {raw.pixels.shape[1:]}")
        return dg.MaterializeResult(
            metadata={**_provenance_metadata(raw.provenance), "shape": str(tuple(raw.pixels.shape[1:])),
                      "pixel_type": str(raw.pixels.dtype), "scale": raw.scale,
                      "notes": notes},
            data_version=dg.DataVersion(raw.provenance.version),
        )

    @dg.asset(name=RAW_ASSETS[TEXT.name], group_name="ingestion", pool=DUCKDB_WRITE_POOL, kinds={"duckdb"},
              partitions_def=partitions_for(datasets_path))
    def raw_text(context: dg.AssetExecutionContext, config: TextSourceConfig, duckdb: PlatformDuckDB):
        """Raw documents from the configured source into the raw_documents table."""
        duckdb = dataset_database(context, duckdb)
        duckdb.check_readable()
        source, text_field = text_source(context, config)
        context.log.info(f"loading documents from {source}")
        raw = load_documents(source, text_field, allowed)
        notes = _logged_notes(context, source, raw.notes)
        with duckdb.transaction() as con:
            write_raw_documents(con, raw)
            record_dataset(con, TEXT.name, raw.provenance)
        context.log.info(f"ingested {raw.provenance.rows} documents")
        return dg.MaterializeResult(
            metadata={**_provenance_metadata(raw.provenance),
                      "characters": sum(len(t) for t in raw.texts), "notes": notes},
            data_version=dg.DataVersion(raw.provenance.version),
        )

    return [raw_images, raw_text]


WATCHED_SOURCES = {"GENAI_IMAGE_SOURCE": DEFAULT_IMAGE_SOURCE, "GENAI_TEXT_SOURCE": DEFAULT_TEXT_SOURCE}


def watched_paths(env: Mapping[str, str]) -> dict[str, Path]:
    """The configured sources that are files or folders (the bundled defaults never change)."""
    return {variable: Path(env[variable]).expanduser().resolve() for variable, bundled in WATCHED_SOURCES.items()
            if env.get(variable) and env[variable] != bundled}


def new_data_sensor(env: Mapping[str, str], job: dg.JobDefinition) -> dg.SensorDefinition:
    """Requests a run of `job` when the content hash of a configured source file or folder changes."""
    paths = watched_paths(env)

    @dg.sensor(name="new_data", job=job, minimum_interval_seconds=120,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Hashes the content of GENAI_IMAGE_SOURCE and GENAI_TEXT_SOURCE (a file, or every file "
               "of a folder) every 2 minutes and requests a run when one changed since it last looked; the bundled "
               "defaults are not watched. Its first look only records the hashes.")
    def new_data(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if not paths:
            return dg.SkipReason("only the bundled datasets are configured; nothing to watch")
        seen = json.loads(context.cursor) if context.cursor else {}
        now, missing = {}, []
        for variable, path in paths.items():
            if path.exists():
                now[variable] = content_fingerprint(path)
            else:
                missing.append(f"{variable}={path} does not exist")
        changed = [variable for variable, fingerprint in now.items() if variable in seen and seen[variable] != fingerprint]
        cursor = json.dumps({**seen, **now})
        if not changed:
            first = [variable for variable in now if variable not in seen]
            notes = ([f"first look at {', '.join(first)}: hashes recorded"] if first else []) + missing
            return dg.SensorResult(skip_reason="; ".join(notes) or "no source changed", cursor=cursor)
        context.log.info(f"new data in {', '.join(f'{v}={paths[v]}' for v in changed)}")
        run_key = "+".join(f"{variable}:{now[variable][:16]}" for variable in sorted(changed))
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run_key, tags={"genai/trigger": "new_data"})],
                               cursor=cursor)

    return new_data
