"""Ingestion: raw images and raw text from the configured source into DuckDB, with provenance."""

from collections.abc import Mapping

import dagster as dg
from pydantic import Field

from genai_platform.datasets.images import DEFAULT_IMAGE_SOURCE, load_images
from genai_platform.datasets.text import DEFAULT_TEXT_SOURCE, load_documents
from genai_platform.defs.database import DUCKDB_WRITE_POOL, PlatformDuckDB
from genai_platform.evaluation.image import IMAGE
from genai_platform.evaluation.text import TEXT
from genai_platform.store.tables import record_dataset, write_raw_documents, write_raw_images


def _provenance_metadata(provenance) -> dict:
    files = "\n".join(f"| {f.path} | {f.sha256[:16]}… | {f.bytes} |" for f in provenance.files[:50])
    more = f"\n\n…and {len(provenance.files) - 50} more files" if len(provenance.files) > 50 else ""
    return {
        "source": provenance.source,
        "rows": provenance.rows,
        "data_version": provenance.version,
        "files": dg.MetadataValue.md(f"| file | sha256 | bytes |\n|---|---|---|\n{files}{more}"),
    }


def ingestion_assets(env: Mapping[str, str]) -> list[dg.AssetsDefinition]:
    """raw_images and raw_text, their source config defaulting to what env names when the code location loads.

    The launchpad then shows the effective source as the default, and a run reads only its config.
    """

    class ImageSourceConfig(dg.Config):
        source: str = Field(
            default=env.get("GENAI_IMAGE_SOURCE") or DEFAULT_IMAGE_SOURCE,
            description="'sklearn:digits', an image folder (class = sub-folder), an IDX images file or an .npz with "
            "'images' (and 'labels'). Default: GENAI_IMAGE_SOURCE when the code location loaded, else sklearn:digits.",
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

    @dg.asset(group_name="ingestion", pool=DUCKDB_WRITE_POOL, kinds={"duckdb"})
    def raw_images(context: dg.AssetExecutionContext, config: ImageSourceConfig, duckdb: PlatformDuckDB):
        """Raw images from the configured source, unnormalised, into the raw_images table."""
        context.log.info(f"loading images from {config.source}")
        raw = load_images(config.source)  # any error is raised before the database is touched
        with duckdb.transaction() as con:
            write_raw_images(con, raw)
            record_dataset(con, IMAGE.name, raw.provenance)
        context.log.info(f"ingested {raw.provenance.rows} images of shape {raw.pixels.shape[1:]}")
        return dg.MaterializeResult(
            metadata={**_provenance_metadata(raw.provenance), "shape": str(tuple(raw.pixels.shape[1:]))},
            data_version=dg.DataVersion(raw.provenance.version),
        )

    @dg.asset(group_name="ingestion", pool=DUCKDB_WRITE_POOL, kinds={"duckdb"})
    def raw_text(context: dg.AssetExecutionContext, config: TextSourceConfig, duckdb: PlatformDuckDB):
        """Raw documents from the configured source into the raw_documents table."""
        context.log.info(f"loading documents from {config.source}")
        raw = load_documents(config.source, config.text_field)
        with duckdb.transaction() as con:
            write_raw_documents(con, raw)
            record_dataset(con, TEXT.name, raw.provenance)
        context.log.info(f"ingested {raw.provenance.rows} documents")
        return dg.MaterializeResult(
            metadata={**_provenance_metadata(raw.provenance),
                      "characters": sum(len(t) for t in raw.texts)},
            data_version=dg.DataVersion(raw.provenance.version),
        )

    return [raw_images, raw_text]
