"""Reads and writes of the platform's DuckDB tables; every statement comes from store/sql/.

Functions take an open connection so the caller decides the transaction; the persistent tables
exist already (store/schema.py, run by the DuckDB resource).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from genai_platform.datasets.image_sources import RawImages
from genai_platform.datasets.provenance import Provenance
from genai_platform.datasets.text_sources import RawDocuments
from genai_platform.errors import DataError
from genai_platform.records import Comparison, ImageSplit, MetricRow
from genai_platform.store.sql import arrow_table, sql



PIXEL_TYPES = {"uint8": np.uint8, "uint16": np.uint16, "float32": np.float32}  # raw_images.dtype -> numpy


def write_raw_images(con: duckdb.DuckDBPyConnection, raw: RawImages) -> None:
    """The raw pixels in their own type, one BLOB per image, through one Arrow table (no Python per pixel)."""
    n, c, h, w = raw.pixels.shape
    dtype = next((name for name, kind in PIXEL_TYPES.items() if raw.pixels.dtype == kind), None)
    if dtype is None:
        raise TypeError(f"raw pixels of type {raw.pixels.dtype}; expected one of {', '.join(PIXEL_TYPES)}")
    flat = np.ascontiguousarray(raw.pixels.reshape(n, -1)).astype(raw.pixels.dtype.newbyteorder("<"), copy=False)
    floating = np.issubdtype(flat.dtype, np.floating)
    labels = None if raw.labels is None else pa.array(raw.labels.astype(np.int32))
    class_names = (pa.DictionaryArray.from_arrays(labels, pa.array(raw.class_names))
                   if labels is not None and raw.class_names else pa.nulls(n, pa.string()))
    table = pa.table({
        "row_id": pa.array(np.arange(n, dtype=np.int32)),
        "label": labels if labels is not None else pa.nulls(n, pa.int32()),
        "class_name": class_names,
        "source_file": pa.array(raw.row_files, pa.string()),
        "pixels": pixel_blobs(flat),
        "low": pa.array(np.nanmin(flat, axis=1).astype(np.float64) if n else np.zeros(0)),
        "high": pa.array(np.nanmax(flat, axis=1).astype(np.float64) if n else np.zeros(0)),
        "has_nan": pa.array(np.isnan(flat).any(axis=1) if floating else np.zeros(n, dtype=bool)),
    })
    con.register("raw_images_arrow", table)  # the name raw_images.sql reads
    try:
        con.execute(sql("raw_images", "create"), {"channels": c, "height": h, "width": w, "dtype": dtype,
                                                  "scale": raw.scale})
    finally:
        con.unregister("raw_images_arrow")


def pixel_blobs(flat: np.ndarray) -> pa.FixedSizeBinaryArray:
    """One binary value per row of the contiguous little-endian [N, pixels] array, sharing its memory."""
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(flat.shape[1] * flat.itemsize), len(flat),
                                                [None, pa.py_buffer(flat)])


def image_pixels(column: pa.ChunkedArray, dtype: str, shape: tuple[int, int, int], scale: float) -> np.ndarray:
    """[N, C, H, W] float32 in [0, 1] from a BLOB column of raw pixels, without a Python object per row."""
    if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
        raise DataError(f"pixels stored as {column.type}, written by an older version of the platform: "
                        "materialize raw_images and images again (sample tables are migrated when opened)")
    parts = []
    for chunk in column.chunks:
        offsets = np.frombuffer(chunk.buffers()[1], np.int64 if pa.types.is_large_binary(chunk.type) else np.int32)
        offsets = offsets[chunk.offset: chunk.offset + len(chunk) + 1]
        parts.append(np.frombuffer(chunk.buffers()[2], np.uint8)[offsets[0]:offsets[-1]] if len(chunk) else
                     np.zeros(0, np.uint8))
    raw = np.concatenate(parts).view(np.dtype(PIXEL_TYPES[dtype]).newbyteorder("<"))
    pixels = raw.reshape(-1, *shape).astype(np.float32)
    pixels /= np.float32(scale)
    return pixels


def write_raw_documents(con: duckdb.DuckDBPyConnection, raw: RawDocuments) -> None:
    table = pa.table({"doc_id": pa.array(np.arange(len(raw.texts), dtype=np.int32)),
                      "source_ref": pa.array(raw.row_refs, pa.string()), "text": pa.array(raw.texts, pa.string())})
    con.register("raw_documents_arrow", table)  # the name raw_documents.sql reads
    try:
        con.execute(sql("raw_documents"))
    finally:
        con.unregister("raw_documents_arrow")


def record_dataset(con: duckdb.DuckDBPyConnection, modality: str, provenance: Provenance) -> None:
    con.execute(sql("queries", "forget_dataset"), {"modality": modality})
    con.execute(sql("queries", "record_dataset"), {
        "modality": modality, "source": provenance.source, "description": provenance.description,
        "data_version": provenance.version, "row_count": provenance.rows,
        "provenance": provenance.to_json(),
    })


def ingested_modalities(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The modalities with an ingested dataset in this database."""
    return {row[0] for row in con.execute(sql("queries", "ingested_modalities")).fetchall()}


def dataset_info(con: duckdb.DuckDBPyConnection, modality: str) -> dict:
    row = con.execute(sql("queries", "dataset_info"), {"modality": modality}).fetchone()
    if row is None:
        raise LookupError(f"no {modality} dataset has been ingested yet; materialize its ingestion asset first")
    keys = ("source", "description", "data_version", "row_count", "provenance", "ingested_at")
    info = dict(zip(keys, row))
    info["provenance"] = json.loads(info["provenance"])
    return info


def read_image_split(con: duckdb.DuckDBPyConnection, split: str) -> ImageSplit:
    table = arrow_table(con, sql("queries", "image_split"), {"split": split})
    if table.num_rows == 0:
        raise LookupError(f"the images table has no {split!r} rows")
    first = {name: table.column(name)[0].as_py() for name in ("channels", "height", "width", "dtype", "scale")}
    pixels = image_pixels(table.column("pixels"), first["dtype"],
                          (first["channels"], first["height"], first["width"]), first["scale"])
    labels = table.column("label")
    return ImageSplit(pixels=pixels,
                      labels=None if labels.null_count == len(labels) else labels.to_numpy().astype(np.int64),
                      content_hashes=table.column("content_hash").to_pylist())


def image_class_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(sql("queries", "image_class_names")).fetchall()
    if not rows:
        return []
    names = {label: name for label, name in rows}
    return [names.get(i) or str(i) for i in range(max(names) + 1)]


def read_documents(con: duckdb.DuckDBPyConnection, split: str) -> list[str]:
    return [r[0] for r in con.execute(sql("queries", "documents"), {"split": split}).fetchall()]


def read_sentences(con: duckdb.DuckDBPyConnection, split: str) -> list[str]:
    return [r[0] for r in con.execute(sql("queries", "sentences"), {"split": split}).fetchall()]


def read_char_vocabulary(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(sql("queries", "char_vocabulary")).fetchall()]


DropSets = Callable[[duckdb.DuckDBPyConnection, str, list[str]], None]  # (con, family, run ids): a modality's


def start_sample_run(con, modality: str, family: str, run_id: str, version: str, fingerprint: str,
                     drop_sets: DropSets) -> None:
    """Record `run_id`'s sample set of the model `version` (replacing the run's own, if a step is retried)
    and drop the sets no longer needed; `drop_sets` deletes a family's sets of given runs from the
    modality's sample table."""
    drop_sets(con, family, [run_id])
    con.execute(sql("queries", "drop_sample_runs"), {"modality": modality, "family": family, "runs": [run_id]})
    con.execute(sql("queries", "record_sample_run"), {"modality": modality, "family": family, "run_id": run_id,
                                                      "version": version, "fingerprint": fingerprint})
    drop_stale_samples(con, modality, family, drop_sets)


def drop_stale_samples(con, modality: str, family: str, drop_sets: DropSets) -> None:
    """Keep the newest sample set of each kept version of `family`; drop the rest."""
    stale = [r[0] for r in con.execute(sql("queries", "stale_sample_runs"),
                                       {"modality": modality, "family": family}).fetchall()]
    if stale:
        drop_sets(con, family, stale)
        con.execute(sql("queries", "drop_sample_runs"), {"modality": modality, "family": family, "runs": stale})


def drop_image_sample_sets(con, family: str, runs: list[str]) -> None:
    con.execute(sql("queries", "drop_image_samples"), {"family": family, "runs": runs})


def drop_text_sample_sets(con, family: str, runs: list[str]) -> None:
    con.execute(sql("queries", "drop_text_samples"), {"family": family, "runs": runs})


@dataclass(frozen=True)
class SampleRun:
    run_id: str  # the run that drew the set
    fingerprint: str | None  # version, sampling settings, seed and code


def version_sample_run(con, modality: str, family: str, version: str | None) -> SampleRun | None:
    """The newest sample set of a model version; with no version (a home from before versions), the
    family's newest set. None when there is none."""
    if version is None:
        row = con.execute(sql("queries", "newest_sample_run"), {"modality": modality, "family": family}).fetchone()
    else:
        row = con.execute(sql("queries", "version_sample_run"),
                          {"modality": modality, "family": family, "version": version}).fetchone()
    return SampleRun(*row) if row else None


def _sample_run_or_challengers(con, modality: str, family: str, run_id: str | None) -> str:
    if run_id is not None:
        return run_id
    row = con.execute(sql("queries", "challenger"), {"family": family}).fetchone()
    found = version_sample_run(con, modality, family, row[0] if row else None)
    if found is None:
        raise LookupError(f"no {modality} samples for family {family!r}; materialize samples_{family} first")
    return found.run_id


def store_image_samples(con, family: str, run_id: str, version: str, fingerprint: str, images: np.ndarray) -> None:
    """This run's samples of the model `version` of `family`."""
    start_sample_run(con, "image", family, run_id, version, fingerprint, drop_image_sample_sets)
    n, c, h, w = images.shape
    flat = np.ascontiguousarray(images.reshape(n, -1), dtype=np.dtype("<f4"))
    con.register("image_samples_arrow", pa.table({"sample_index": pa.array(np.arange(n, dtype=np.int32)),
                                                  "pixels": pixel_blobs(flat)}))
    try:
        con.execute(sql("queries", "insert_image_samples"), {"family": family, "run_id": run_id, "c": c, "h": h, "w": w})
    finally:
        con.unregister("image_samples_arrow")


def read_image_samples(con, family: str, run_id: str | None = None) -> np.ndarray:
    """The family's sample set drawn by `run_id`, by default the challenger version's newest."""
    table = arrow_table(con, sql("queries", "image_samples"),
                   {"family": family, "run_id": _sample_run_or_challengers(con, "image", family, run_id)})
    if table.num_rows == 0:
        raise LookupError(f"no image samples for family {family!r}; materialize samples_{family} first")
    shape = tuple(table.column(name)[0].as_py() for name in ("channels", "height", "width"))
    return image_pixels(table.column("pixels"), "float32", shape, 1.0)


def store_text_samples(con, family: str, run_id: str, version: str, fingerprint: str, rows: list[dict]) -> None:
    """This run's samples of the model `version` of `family`."""
    start_sample_run(con, "text", family, run_id, version, fingerprint, drop_text_sample_sets)
    con.execute(sql("queries", "insert_text_samples"), {
        "family": family, "run_id": run_id, "index": list(range(len(rows))),
        "kind": [r["kind"] for r in rows], "prompt": [r.get("prompt") for r in rows],
        "reference": [r.get("reference") for r in rows], "text": [r["text"] for r in rows]})


def read_text_samples(con, family: str, run_id: str | None = None) -> list[dict]:
    """The family's sample set drawn by `run_id`, by default the challenger version's newest."""
    rows = con.execute(sql("queries", "text_samples"),
                       {"family": family, "run_id": _sample_run_or_challengers(con, "text", family, run_id)}).fetchall()
    if not rows:
        raise LookupError(f"no text samples for family {family!r}; materialize samples_{family} first")
    return [dict(zip(("kind", "prompt", "reference", "text"), r)) for r in rows]


def append_metrics(con, run_id: str, modality: str, dataset: str, data_version: str, code_version: str,
                   rows: list[MetricRow], model_versions: dict[str, str]) -> None:
    """The evaluation's rows; a family's row names its model version (model_versions: family -> version)."""
    con.execute(sql("queries", "insert_metrics"), {
        "run_id": run_id, "modality": modality, "dataset": dataset, "data_version": data_version,
        "code_version": code_version, "subject": [r.subject for r in rows], "role": [r.role for r in rows],
        "metric": [r.metric for r in rows], "value": [float(r.value) for r in rows],
        "count": [int(r.sample_count) for r in rows], "ci_low": [r.ci_low for r in rows],
        "ci_high": [r.ci_high for r in rows],
        "model_version": [model_versions.get(r.subject) if r.role == "model" else None for r in rows]})


def append_comparisons(con, run_id: str, modality: str, comparisons: list[Comparison]) -> None:
    if not comparisons:
        return
    con.execute(sql("queries", "insert_comparisons"), {
        "run_id": run_id, "modality": modality, "subject": [c.subject for c in comparisons],
        "baseline": [c.baseline for c in comparisons], "baseline_run_id": [c.baseline_run for c in comparisons],
        "metric": [c.metric for c in comparisons], "delta": [float(c.delta) for c in comparisons],
        "count": [int(c.sample_count) for c in comparisons], "ci_low": [c.ci_low for c in comparisons],
        "ci_high": [c.ci_high for c in comparisons], "baseline_value": [c.baseline_value for c in comparisons]})


def latest_version_comparisons(con, modality: str, family: str) -> list[Comparison]:
    """`family`'s challenger against its earlier versions in the newest evaluation that compared them."""
    return [Comparison(*r) for r in con.execute(sql("queries", "latest_version_comparisons"),
                                                {"modality": modality, "family": family}).fetchall()]


def read_comparisons(con, run_id: str, modality: str) -> list[Comparison]:
    return [Comparison(*r) for r in con.execute(sql("queries", "comparisons"),
                                                {"run_id": run_id, "modality": modality}).fetchall()]


def latest_metrics(con, modality: str) -> list[dict]:
    """Rows of the latest run that evaluated `modality`."""
    return [dict(zip(("run_id", "recorded_at", "modality", "dataset", "subject", "role", "metric", "value", "sample_count",
                      "data_version", "code_version", "ci_low", "ci_high", "model_version"), r)) for r in con.execute(
        sql("queries", "latest_metrics"), {"modality": modality}).fetchall()]


def recent_metrics(con, modality: str, dataset: str, runs: int) -> list[dict]:
    """Rows of the last `runs` runs that evaluated `modality` on `dataset`, oldest run first."""
    return [dict(zip(("run_id", "finished", "subject", "role", "metric", "value", "ci_low", "ci_high", "code_version",
                      "data_version"), r))
            for r in con.execute(sql("queries", "recent_metrics"), {"modality": modality, "dataset": dataset,
                                                          "runs": runs}).fetchall()]
