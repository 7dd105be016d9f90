"""Ingestion: raw images and raw text from the configured source into DuckDB, with provenance."""

import os

import dagster as dg
from pydantic import Field

from genai_platform.datasets.images import DEFAULT_IMAGE_SOURCE, load_images
from genai_platform.datasets.text import DEFAULT_TEXT_SOURCE, load_documents
from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.store.tables import record_dataset, write_raw_documents, write_raw_images


class ImageSourceConfig(dg.Config):
    source: str | None = Field(
        default=None,
        description="'sklearn:digits', an image folder (class = sub-folder), an IDX images file "
        "or an .npz with 'images' (and 'labels'). Empty: GENAI_IMAGE_SOURCE, else sklearn:digits.",
    )


class TextSourceConfig(dg.Config):
    source: str | None = Field(
        default=None,
        description="'gensim:lee', a .txt (blank-line separated documents), .jsonl or .csv file. "
        "Empty: GENAI_TEXT_SOURCE, else gensim:lee.",
    )
    text_field: str | None = Field(
        default=None, description="JSONL field or CSV column holding the text. Empty: GENAI_TEXT_FIELD, else 'text'."
    )


def _provenance_metadata(provenance) -> dict:
    files = "\n".join(f"| {f.path} | {f.sha256[:16]}… | {f.bytes} |" for f in provenance.files[:50])
    more = f"\n\n…and {len(provenance.files) - 50} more files" if len(provenance.files) > 50 else ""
    return {
        "source": provenance.source,
        "rows": provenance.rows,
        "data_version": provenance.version,
        "files": dg.MetadataValue.md(f"| file | sha256 | bytes |\n|---|---|---|\n{files}{more}"),
    }


@dg.asset(group_name="ingestion", pool=DUCKDB_WRITE_POOL, kinds={"duckdb"})
def raw_images(context: dg.AssetExecutionContext, config: ImageSourceConfig, duckdb: PlatformDuckDB):
    """Raw images from the configured source, unnormalised, into the raw_images table."""
    source = config.source or os.environ.get("GENAI_IMAGE_SOURCE") or DEFAULT_IMAGE_SOURCE
    context.log.info(f"loading images from {source}")
    raw = load_images(source)  # any error is raised before the database is touched
    with duckdb.transaction() as con:
        write_raw_images(con, raw)
        record_dataset(con, "image", raw.provenance)
    context.log.info(f"ingested {raw.provenance.rows} images of shape {raw.pixels.shape[1:]}")
    return dg.MaterializeResult(
        metadata={**_provenance_metadata(raw.provenance), "shape": str(tuple(raw.pixels.shape[1:]))},
        data_version=dg.DataVersion(raw.provenance.version),
    )


@dg.asset(group_name="ingestion", pool=DUCKDB_WRITE_POOL, kinds={"duckdb"})
def raw_text(context: dg.AssetExecutionContext, config: TextSourceConfig, duckdb: PlatformDuckDB):
    """Raw documents from the configured source into the raw_documents table."""
    source = config.source or os.environ.get("GENAI_TEXT_SOURCE") or DEFAULT_TEXT_SOURCE
    field = config.text_field or os.environ.get("GENAI_TEXT_FIELD") or "text"
    context.log.info(f"loading documents from {source}")
    raw = load_documents(source, field)
    with duckdb.transaction() as con:
        write_raw_documents(con, raw)
        record_dataset(con, "text", raw.provenance)
    context.log.info(f"ingested {raw.provenance.rows} documents")
    return dg.MaterializeResult(
        metadata={**_provenance_metadata(raw.provenance),
                  "characters": sum(len(t) for t in raw.texts)},
        data_version=dg.DataVersion(raw.provenance.version),
    )
