"""Image and text ingestion and preprocessing against the bare numpy + Arrow limit, side by side in one run.

    .venv/bin/python bench/ingest.py [--inputs digits,mnist,cifar,lee,lee-long] [--repeats 3]

Inputs: the bundled digits (1,797 x 8x8); an MNIST-size IDX file (10,000 x 28x28, gzip) and a
CIFAR-size .npz (50,000 x 3x32x32, uint8), both built here from the digits (upscaled, shifted and,
for CIFAR, tinted per image, so every image is distinct). Text: gensim's bundled Lee corpus (300
documents, about 0.2 MB), and the same 300 documents plus one document of a single 50 MB line (Lee's text
joined and repeated): its time per MB against Lee's says whether preprocessing is linear in a document's
length (the vocabularies once took time quadratic in it).

platform: load_images + write_raw_images in one process and transaction (the raw_images asset), then
the images SQL (hash, deduplicate, split), its checks and the swap in another (the images asset), on
one DuckDB file: the two steps run in separate processes in a Dagster run too (text: load_documents +
write_raw_documents, then the text_corpus SQL). Time is their sum, memory the larger of their two peaks.
baseline: the bare decode (gzip + np.frombuffer, or np.load), the float pixels (/ scale) with a
per-row MD5 as one Arrow table, written to a DuckDB file by CREATE TABLE AS (text: the file decoded,
split at blank lines and written as one Arrow table).

Each measurement runs in a fresh process; memory is that process's peak resident set minus its
resident set before the work began (after imports), against the raw pixel bytes (uint8). The
platform's steps connect as the platform does, with DuckDB's buffer pool capped at GENAI_DUCKDB_MEMORY
(default 256MB; --duckdb-memory sets it here); the baseline gets DuckDB's own default.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genai_platform.defs.resources import DEFAULT_DUCKDB_MEMORY  # noqa: E402

MEMORY = DEFAULT_DUCKDB_MEMORY
LONG_DOCUMENT_BYTES = 50_000_000


def is_text(source: str) -> bool:
    return source.startswith("gensim:") or source.endswith(".txt")


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def build_inputs(folder: Path, names: list[str]) -> dict[str, str]:
    """name -> image source; the MNIST- and CIFAR-size files are made from the bundled digits."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    digits = load_digits()
    sources = {"digits": "sklearn:digits", "lee": "gensim:lee"}
    if "lee-long" in names:
        from genai_platform.datasets.text_sources import lee_corpus_path

        lee = [line for line in lee_corpus_path().read_text(encoding="utf-8").splitlines() if line.strip()]
        joined = " ".join(lee)
        long_line = (joined + " ") * (LONG_DOCUMENT_BYTES // len(joined.encode()) + 1)
        path = folder / "lee_long.txt"
        path.write_text("\n\n".join(lee) + "\n\n" + long_line[:LONG_DOCUMENT_BYTES] + "\n", encoding="utf-8")
        sources["lee-long"] = str(path)
    rng = np.random.default_rng(0)
    base = (digits.images / 16.0).astype(np.float32)
    if "mnist" in names:
        up = zoom(base, (1, 28 / 8, 28 / 8), order=1).clip(0, 1)
        picks = rng.integers(0, len(up), 10_000)
        shifts = rng.integers(-2, 3, (10_000, 2))
        images = np.stack([np.roll(up[i], tuple(s), axis=(0, 1)) for i, s in zip(picks, shifts)])
        images = (images * 255 + rng.uniform(0, 8, images.shape)).clip(0, 255).astype(np.uint8)
        path = folder / "bench-images-idx3-ubyte.gz"
        header = struct.pack(">BBBB", 0, 0, 8, 3) + struct.pack(">3I", *images.shape)
        path.write_bytes(gzip.compress(header + images.tobytes(), compresslevel=1))
        labels = digits.target[picks].astype(np.uint8)
        labels_path = folder / "bench-labels-idx1-ubyte.gz"
        labels_path.write_bytes(gzip.compress(struct.pack(">BBBB", 0, 0, 8, 1) + struct.pack(">I", len(labels))
                                              + labels.tobytes(), compresslevel=1))
        sources["mnist"] = str(path)
    if "cifar" in names:
        up = zoom(base, (1, 4, 4), order=1).clip(0, 1)
        picks = rng.integers(0, len(up), 50_000)
        tints = rng.uniform(0.3, 1.0, (50_000, 1, 1, 3)).astype(np.float32)
        images = (up[picks][..., None] * tints * 255 + rng.uniform(0, 16, (50_000, 32, 32, 3))).clip(0, 255)
        path = folder / "cifar_size.npz"
        np.savez(path, images=images.astype(np.uint8), labels=digits.target[picks].astype(np.int64))
        sources["cifar"] = str(path)
    return sources


def _modality(source: str):
    from genai_platform.modalities import MODALITIES

    return MODALITIES["text" if is_text(source) else "image"]


def ingest(source: str, database: Path) -> dict:
    import duckdb

    from genai_platform.store.schema import ensure_schema

    modality = _modality(source)
    con = duckdb.connect(str(database), config={"memory_limit": os.environ["GENAI_DUCKDB_MEMORY"]})
    ensure_schema(con)
    before = _rss_kib("VmRSS")
    started = time.perf_counter()
    raw = modality.load_raw(source, {o.name: o.default for o in modality.sources.options}, ())
    con.begin()
    modality.write_raw(con, raw)
    con.commit()
    seconds = time.perf_counter() - started
    con.close()
    if is_text(source):
        return {"seconds": seconds, "peak_kib": _rss_kib("VmHWM") - before, "rows": len(raw.texts),
                "raw_bytes": sum(len(text.encode()) for text in raw.texts)}
    return {"seconds": seconds, "peak_kib": _rss_kib("VmHWM") - before, "raw_bytes": raw.pixels.size,
            "rows": len(raw.pixels)}


def preprocess(source: str, database: Path) -> dict:
    import duckdb

    preprocessing = _modality(source).preprocessing
    con = duckdb.connect(str(database), config={"memory_limit": os.environ["GENAI_DUCKDB_MEMORY"]})
    before = _rss_kib("VmRSS")
    started = time.perf_counter()
    con.begin()
    failed = [o.name for o in preprocessing.stage(con) if not o.passed]
    preprocessing.swap_in(con)
    con.commit()
    seconds = time.perf_counter() - started
    con.close()
    return {"seconds": seconds, "peak_kib": _rss_kib("VmHWM") - before, "failed_checks": failed}


def baseline(source: str, database: Path) -> dict:
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(str(database))
    before = _rss_kib("VmRSS")
    started = time.perf_counter()
    if is_text(source):
        from genai_platform.datasets.text_sources import lee_corpus_path

        path = lee_corpus_path() if source == "gensim:lee" else Path(source)
        texts = [t for t in path.read_bytes().decode("utf-8").replace("\n\n", "\n").split("\n") if t.strip()]
        con.register("baseline_arrow", pa.table({"doc_id": pa.array(np.arange(len(texts), dtype=np.int32)),
                                                 "text": pa.array(texts)}))
        con.execute("CREATE TABLE raw_documents AS SELECT * FROM baseline_arrow")
        seconds = time.perf_counter() - started
        con.close()
        return {"seconds": seconds, "peak_kib": _rss_kib("VmHWM") - before, "rows": len(texts),
                "raw_bytes": sum(len(t.encode()) for t in texts)}
    if source == "sklearn:digits":
        from sklearn.datasets import load_digits
        pixels, scale = load_digits().images.astype(np.float32), 16.0
    elif source.endswith(".gz"):
        data = gzip.decompress(Path(source).read_bytes())
        shape = struct.unpack(">3I", data[4:16])
        pixels, scale = np.frombuffer(data, np.uint8, offset=16).reshape(shape), 255.0
    else:
        with np.load(source) as archive:
            pixels, scale = archive["images"], 255.0
    n = len(pixels)
    flat = (pixels.reshape(n, -1).astype(np.float32) / np.float32(scale))
    hashes = [hashlib.md5(row.tobytes()).hexdigest() for row in flat]
    table = pa.table({"row_id": pa.array(np.arange(n, dtype=np.int32)), "content_hash": pa.array(hashes),
                      "pixels": pa.FixedSizeBinaryArray.from_buffers(pa.binary(flat.shape[1] * 4), n,
                                                                     [None, pa.py_buffer(flat)])})
    con.register("baseline_arrow", table)
    con.execute("CREATE TABLE images AS SELECT row_id, content_hash, pixels::BLOB AS pixels FROM baseline_arrow")
    seconds = time.perf_counter() - started
    con.close()
    return {"seconds": seconds, "peak_kib": _rss_kib("VmHWM") - before, "raw_bytes": pixels.size, "rows": n}


def _run(kind: str, source: str, database: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--measure", kind, source, str(database)],
                          capture_output=True, text=True, check=True, env={**os.environ, "GENAI_DUCKDB_MEMORY": MEMORY})
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(kind: str, source: str) -> dict:
    """One measurement, each step in a fresh process (its own peak resident set)."""
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "b.duckdb"
        if kind == "baseline":
            return _run("baseline", source, database)
        loaded, staged = _run("ingest", source, database), _run("preprocess", source, database)
        return {**loaded, "seconds": loaded["seconds"] + staged["seconds"],
                "peak_kib": max(loaded["peak_kib"], staged["peak_kib"]), "failed_checks": staged["failed_checks"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", default="digits,mnist,cifar,lee,lee-long")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--duckdb-memory", default=DEFAULT_DUCKDB_MEMORY, help="the platform's DuckDB memory limit")
    parser.add_argument("--measure", nargs=3, metavar=("KIND", "SOURCE", "DATABASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        kind, source, database = args.measure
        steps = {"ingest": lambda: ingest(source, Path(database)), "preprocess": lambda: preprocess(source, Path(database)),
                 "baseline": lambda: baseline(source, Path(database))}
        print(json.dumps(steps[kind]()))
        return
    global MEMORY
    MEMORY = args.duckdb_memory
    names = args.inputs.split(",")
    print(f"platform DuckDB memory limit {MEMORY}")
    with tempfile.TemporaryDirectory() as folder:
        sources = build_inputs(Path(folder), names)
        print("| input | rows | raw MB | platform s | platform s per MB | baseline s | time ratio | platform peak MB "
              "| baseline peak MB | platform peak / raw bytes |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name in names:
            runs = {"platform": [], "baseline": []}
            for repeat in range(args.repeats):  # alternate the order: a shared 2-core box drifts
                for kind in (("platform", "baseline") if repeat % 2 == 0 else ("baseline", "platform")):
                    runs[kind].append(measure(kind, sources[name]))
            mine, bare = runs["platform"], runs["baseline"]
            assert not mine[0]["failed_checks"], mine[0]["failed_checks"]
            seconds = statistics.median(r["seconds"] for r in mine)
            bare_seconds = statistics.median(r["seconds"] for r in bare)
            peak = max(r["peak_kib"] for r in mine) * 1024
            bare_peak = max(r["peak_kib"] for r in bare) * 1024
            raw = mine[0]["raw_bytes"]
            print(f"| {name} | {mine[0]['rows']:,} | {raw / 1e6:.1f} | {seconds:.2f} | {seconds / (raw / 1e6):.2f} | "
                  f"{bare_seconds:.2f} | "
                  f"{seconds / bare_seconds:.2f} | {peak / 1e6:.0f} | {bare_peak / 1e6:.0f} | {peak / raw:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
