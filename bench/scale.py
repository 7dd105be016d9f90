"""The whole chain at a real data size: 10,000 images of 28x28 plus a 1 MB text corpus, default profile.

    .venv/bin/python bench/scale.py [--images 10000] [--text-mb 1.0] [--profile default] [--seed 0] [--work DIR]
    .venv/bin/python bench/scale.py --image-source sklearn:photos   # the colour tiles instead of the digits

The images are scikit-learn's bundled 8x8 digits, each upscaled to a 20x20 digit centred on a 28x28
canvas (MNIST's layout) and then moved by a random affine transform (rotation up to 12 degrees, scale
0.9-1.1, shear up to 0.15, shift up to 2 px), written as an MNIST-style IDX pair with the labels. The
text is the start of gensim's bundled `head500.noblanks.cor` (English Wikipedia articles, lower-cased
and stemmed, one article a line), cut at whole articles once it reaches the size, one article a
paragraph. Both are real data shipped in registry packages; only their size and layout are built here.

One real `dagster job execute` of nightly_retraining on a fresh GENAI_HOME, timed, then the
slowest steps and bench/quality.py's table (which exits 1 when a quality target is missed). The issue's
target: the whole chain within 20 minutes on 2 cores, every family beating its naive baseline and the
best image family within 3x of the real-data floor's FID.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rerun import ROOT, night, slowest_steps  # noqa: E402

import dagster as dg  # noqa: E402

CANVAS, DIGIT = 28, 20


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, 0x08, array.ndim, *array.shape)
    # mtime 0: the same images make the same file, so the same data version (and feature space) on every run
    with gzip.GzipFile(path, "wb", compresslevel=1, mtime=0) as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def digits_28px(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` 28x28 uint8 digits: each bundled 8x8 digit upscaled (cubic) and randomly transformed."""
    digits = load_digits()
    rng = np.random.default_rng(seed)
    base = np.zeros((len(digits.images), CANVAS, CANVAS), np.float64)
    margin = (CANVAS - DIGIT) // 2
    base[:, margin:margin + DIGIT, margin:margin + DIGIT] = ndimage.zoom(digits.images / 16.0, (1, DIGIT / 8, DIGIT / 8),
                                                                         order=3)
    picks = np.concatenate([rng.permutation(len(base)) for _ in range(-(-count // len(base)))])[:count]
    centre = np.array([CANVAS / 2 - 0.5] * 2)
    out = np.empty((count, CANVAS, CANVAS), np.uint8)
    for i, pick in enumerate(picks):
        angle = np.deg2rad(rng.uniform(-12, 12))
        scale, shear = rng.uniform(0.9, 1.1), rng.uniform(-0.15, 0.15)
        forward = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ [[1, shear], [0, 1]]
        inverse = np.linalg.inv(forward)  # affine_transform maps output coordinates to input ones
        shift = rng.uniform(-2, 2, size=2)
        offset = centre - inverse @ (centre + shift)
        moved = ndimage.affine_transform(base[pick], inverse, offset=offset, order=1, mode="constant")
        out[i] = np.clip(np.rint(moved * 255), 0, 255).astype(np.uint8)
    return out, digits.target[picks].astype(np.uint8)


def wikipedia_text(megabytes: float) -> str:
    """Whole articles from the start of gensim's head500.noblanks.cor, up to `megabytes`."""
    path = Path(importlib.util.find_spec("gensim").origin).parent / "test" / "test_data" / "head500.noblanks.cor"
    articles, size = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if size >= megabytes * 1e6:
            break
        if line.strip():
            articles.append(line.strip())
            size += len(line.encode()) + 2
    return "\n\n".join(articles) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--text-mb", type=float, default=1.0)
    parser.add_argument("--profile", default="default", choices=("smoke", "default", "full"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="folder for the data, homes and logs (default: a new temporary one)")
    parser.add_argument("--image-source", help="an image source to run instead of the 28-px digits (e.g. sklearn:photos)")
    parser.add_argument("--data-only", action="store_true", help="write the data and stop")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="genai-scale-"))
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    if args.image_source:
        images_path, described = args.image_source, args.image_source
    else:
        images, labels = digits_28px(args.images, args.seed)
        images_path = data / "digits28-images-idx3-ubyte.gz"
        write_idx(images_path, images)
        write_idx(data / "digits28-labels-idx1-ubyte.gz", labels)
        described = f"{len(images):,} images of {CANVAS}x{CANVAS} in {images_path}"
    text_path = data / "wikipedia.txt"
    text_path.write_text(wikipedia_text(args.text_mb), encoding="utf-8")
    print(f"data: {described}; {text_path.stat().st_size / 1e6:.2f} MB of text in {text_path}", flush=True)
    if args.data_only:
        return
    dagster_home = work / "dagster_home"
    shutil.rmtree(dagster_home, ignore_errors=True)
    dagster_home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    home = work / "home"
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "GENAI_IMAGE_SOURCE": str(images_path), "GENAI_TEXT_SOURCE": str(text_path),
           "GENAI_PROFILE": args.profile, "GENAI_HOME": str(home), "GENAI_REPORTS_DIR": str(work / "reports"),
           "GENAI_SEED": str(args.seed), "DAGSTER_HOME": str(dagster_home), "GENAI_NIGHTLY_SCHEDULE": "off"}
    print(f"running nightly_retraining ({args.profile} profile) ...", flush=True)
    seconds = night(env, None, work / "night.log")
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    print(f"\nwhole chain: {seconds / 60:.1f} min ({seconds:.0f} s) on {os.cpu_count()} cores; work folder {work}")
    print(f"slowest steps: {slowest_steps(instance, 12)}", flush=True)
    quality = subprocess.run([sys.executable, str(ROOT / "bench" / "quality.py"), "--home", str(home)], env=env)
    sys.exit(quality.returncode)


if __name__ == "__main__":
    main()
