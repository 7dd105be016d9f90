"""Image sources: scikit-learn's digits (default), an image folder, MNIST-style IDX, .npz.

Every loader returns raw pixel values with the scale that maps them to [0, 1]; the
normalisation itself happens in SQL during preprocessing.
"""

from __future__ import annotations

import gzip
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genai_platform.datasets.provenance import Provenance, SourceFile, resolve_user_path
from genai_platform.errors import DataError

DEFAULT_IMAGE_SOURCE = "sklearn:digits"
DEFAULT_IMAGE_DISTRIBUTION = ("Shipped with scikit-learn (BSD-3-Clause); originally the UCI Optical Recognition "
                              "of Handwritten Digits data.")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
IDX_PATTERN = re.compile(r"idx3-ubyte(\.gz)?$")


@dataclass
class RawImages:
    pixels: np.ndarray  # [N, C, H, W], raw values
    scale: float  # raw value that means 1.0
    labels: np.ndarray | None  # [N] int64, or None when unlabelled
    class_names: list[str] | None  # index -> name, when known
    row_files: list[str]  # the file each row came from
    provenance: Provenance


def load_images(source: str) -> RawImages:
    """Load `source`: "sklearn:digits", a folder, an IDX images file or an .npz file."""
    if source == "sklearn:digits":
        return _load_sklearn_digits()
    if source.startswith("sklearn:"):
        raise DataError(f"unknown bundled image dataset {source!r}; the bundled one is 'sklearn:digits'")
    path = resolve_user_path(source, "image")
    if path.is_dir():
        return _load_folder(path)
    if path.suffix == ".npz":
        return _load_npz(path)
    if IDX_PATTERN.search(path.name):
        return _load_idx(path)
    raise DataError(
        f"image source {path} is not a folder, an .npz file or an IDX images file "
        "(name ending in idx3-ubyte or idx3-ubyte.gz)"
    )


def _load_sklearn_digits() -> RawImages:
    import sklearn.datasets
    from sklearn.datasets import load_digits

    digits = load_digits()
    data_file = Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"
    n = len(digits.target)
    return RawImages(
        pixels=digits.images.reshape(n, 1, 8, 8).astype(np.float32),
        scale=16.0,
        labels=digits.target.astype(np.int64),
        class_names=[str(i) for i in range(10)],
        row_files=[str(data_file)] * n,
        provenance=Provenance(
            source="sklearn:digits",
            description="UCI optical recognition of handwritten digits (test part), 8x8 "
            "grey levels 0-16, as bundled with scikit-learn.",
            files=[SourceFile.of(data_file)],
            rows=n,
        ),
    )


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            color = image.mode not in ("1", "L", "LA", "I", "I;16", "F")
            array = np.asarray(image.convert("RGB" if color else "L"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: not a readable image ({error})") from error
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _load_folder(root: Path) -> RawImages:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"image folder {root} holds no .png, .jpg or .jpeg files")
    in_subfolders = [p.parent != root for p in files]
    if any(in_subfolders) and not all(in_subfolders):
        loose = next(p for p, sub in zip(files, in_subfolders) if not sub)
        raise DataError(
            f"{loose}: images must all sit in class sub-folders or all at the top of {root}, not both"
        )
    arrays = [_read_image(p) for p in files]
    channels = 3 if any(a.shape[0] == 3 for a in arrays) else 1
    first_shape = arrays[0].shape[1:]
    for path, array in zip(files, arrays):
        if array.shape[1:] != first_shape:
            raise DataError(
                f"{path}: image is {array.shape[2]}x{array.shape[1]} but {files[0].name} is "
                f"{first_shape[1]}x{first_shape[0]}; all images must have the same size"
            )
    pixels = np.stack([np.repeat(a, channels // a.shape[0], axis=0) for a in arrays]).astype(np.float32)
    labels = class_names = None
    if all(in_subfolders):
        class_names = sorted({p.relative_to(root).parts[0] for p in files})
        index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([index[p.relative_to(root).parts[0]] for p in files], dtype=np.int64)
    return RawImages(
        pixels=pixels,
        scale=255.0,
        labels=labels,
        class_names=class_names,
        row_files=[str(p) for p in files],
        provenance=Provenance(
            source=str(root),
            description=f"Image folder {root}" + (" (class = sub-folder)" if labels is not None else ""),
            files=[SourceFile.of(p) for p in files],
            rows=len(files),
        ),
    )


def _read_idx(path: Path, expected_dims: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read IDX data ({error})") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dtype_code, dims = data[2], data[3]
    if dtype_code != 0x08 or dims != expected_dims:
        raise DataError(
            f"{path}: expected unsigned-byte IDX data with {expected_dims} dimensions, "
            f"found type 0x{dtype_code:02x} with {dims}"
        )
    header = 4 + 4 * dims
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{dims}I", data[4:header])
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise DataError(
            f"{path}: truncated or padded IDX file: header promises {expected} bytes of data "
            f"for shape {shape}, found {len(data) - header}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _labels_path(images_path: Path) -> Path | None:
    """The labels file beside an IDX images file, by the usual MNIST naming, .gz or plain."""
    name = images_path.name.removesuffix(".gz")
    for images_part, labels_part in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1")):
        if images_part in name:
            base = name.replace(images_part, labels_part)
            for candidate in (images_path.with_name(base), images_path.with_name(base + ".gz")):
                if candidate.exists():
                    return candidate
    return None


def _load_idx(path: Path) -> RawImages:
    images = _read_idx(path, 3)
    files = [SourceFile.of(path)]
    labels = class_names = None
    labels_path = _labels_path(path)
    if labels_path is not None:
        labels = _read_idx(labels_path, 1).astype(np.int64)
        if len(labels) != len(images):
            raise DataError(
                f"{labels_path}: {len(labels)} labels for {len(images)} images in {path.name}"
            )
        files.append(SourceFile.of(labels_path))
        class_names = [str(i) for i in range(int(labels.max()) + 1)]
    n = len(images)
    return RawImages(
        pixels=images[:, None].astype(np.float32),
        scale=255.0,
        labels=labels,
        class_names=class_names,
        row_files=[str(path)] * n,
        provenance=Provenance(
            source=str(path),
            description=f"IDX images {path.name}" + (f" with labels {labels_path.name}" if labels_path else ""),
            files=files,
            rows=n,
        ),
    )


def _load_npz(path: Path) -> RawImages:
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npz archive ({error})") from error
    with archive:
        if "images" not in archive.files:
            raise DataError(f"{path}: no 'images' array (found: {', '.join(archive.files) or 'nothing'})")
        try:
            images = archive["images"]
            labels = archive["labels"] if "labels" in archive.files else None
        except (OSError, ValueError, EOFError) as error:
            raise DataError(f"{path}: cannot read arrays ({error})") from error
    if images.ndim == 3:
        images = images[:, None]
    elif images.ndim == 4 and images.shape[-1] in (1, 3):
        images = images.transpose(0, 3, 1, 2)
    else:
        raise DataError(f"{path}: field 'images' has shape {images.shape}; expected N,H,W or N,H,W,C with C 1 or 3")
    if images.dtype == np.uint8:
        scale = 255.0
    elif np.issubdtype(images.dtype, np.floating):
        if np.isnan(images).any():
            row = int(np.argwhere(np.isnan(images))[0][0])
            raise DataError(f"{path}: field 'images' has NaN pixels (first in row {row})")
        scale = 1.0
    else:
        raise DataError(f"{path}: field 'images' has dtype {images.dtype}; expected uint8 or float in [0, 1]")
    if labels is not None:
        if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(
                f"{path}: field 'labels' must be {len(images)} integers, found shape {labels.shape} "
                f"of {labels.dtype}"
            )
        labels = labels.astype(np.int64)
    n = len(images)
    return RawImages(
        pixels=images.astype(np.float32),
        scale=scale,
        labels=labels,
        class_names=[str(i) for i in range(int(labels.max()) + 1)] if labels is not None and n else None,
        row_files=[str(path)] * n,
        provenance=Provenance(source=str(path), description=f"NumPy archive {path.name}",
                              files=[SourceFile.of(path)], rows=n),
    )
