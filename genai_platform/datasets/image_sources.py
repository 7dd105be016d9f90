"""Image sources: scikit-learn's digits (default) or photographs, an image folder, MNIST-style IDX, .npz.

Every loader returns the raw pixel values in their own type (uint8, uint16 for 16-bit images,
float32) with the scale that maps them to [0, 1]; they are stored that way, and readers normalise.
What a loader had to change or leave out (an alpha channel, an empty class folder) is in `notes`:
the ingestion logs it and the datasheet shows it.
"""

from __future__ import annotations

import gzip
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genai_platform.datasets.provenance import Provenance, SourceFile, folder_files, resolve_user_path, with_notes
from genai_platform.errors import DataError

DEFAULT_IMAGE_SOURCE = "sklearn:digits"
PHOTOS_SOURCE = "sklearn:photos"  # the bundled colour dataset: 32x32 crops of scikit-learn's two photographs
PHOTO_CROP = 32
# every bundled dataset, the default first, with the licence and origin its datasheet gives
BUNDLED_IMAGE_DISTRIBUTIONS = {
    DEFAULT_IMAGE_SOURCE: "Shipped with scikit-learn (BSD-3-Clause); originally the UCI Optical Recognition of "
                          "Handwritten Digits data.",
    PHOTOS_SOURCE: "Shipped with scikit-learn (BSD-3-Clause); the photographs are CC BY 2.0 (china.jpg by "
                   "danielbuechele, flower.jpg by vultilion, on Flickr).",
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
IDX_PATTERN = re.compile(r"idx3-ubyte(\.gz)?$")
MIN_IMAGE_SIZE = 8  # pixels of height and width: the bundled digits' size, the smallest every family trains on
LISTED_PROBLEMS = 20  # bad images of a folder named in its error; the rest are counted


@dataclass
class RawImages:
    pixels: np.ndarray  # [N, C, H, W], raw values: uint8, uint16 or float32
    scale: float  # raw value that means 1.0
    labels: np.ndarray | None  # [N] int64, or None when unlabelled
    class_names: list[str] | None  # index -> name, when known
    row_files: list[str]  # the file each row came from
    provenance: Provenance
    notes: list[str] = field(default_factory=list)  # what was dropped or converted, for the log and datasheet


def load_images(source: str, allowed: tuple[Path, ...] = ()) -> RawImages:
    """Load `source`: "sklearn:digits", "sklearn:photos", a folder, an IDX images file or an .npz file (inside
    one of the `allowed` folders, when any are named)."""
    if source == DEFAULT_IMAGE_SOURCE:
        return _load_sklearn_digits()
    if source == PHOTOS_SOURCE:
        return _load_sklearn_photos()
    if source.startswith("sklearn:"):
        raise DataError(f"unknown bundled image dataset {source!r}; the bundled ones are "
                        f"{', '.join(map(repr, BUNDLED_IMAGE_DISTRIBUTIONS))}")
    path = resolve_user_path(source, "image", allowed)
    if path.is_dir():
        raw = _load_folder(path)
    elif path.suffix == ".npz":
        raw = _load_npz(path)
    elif IDX_PATTERN.search(path.name):
        raw = _load_idx(path)
    else:
        raise DataError(f"image source {path} is not a folder, an .npz file or an IDX images file "
                        "(name ending in idx3-ubyte or idx3-ubyte.gz)")
    height, width = raw.pixels.shape[2:]
    if min(height, width) < MIN_IMAGE_SIZE:
        raise DataError(f"{path}: images are {width}x{height} pixels; the smallest the families train on is "
                        f"{MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE}")
    return raw


def _problems(root: Path, problems: list[str], count: int) -> DataError:
    """One error for every unusable image of a folder: the first LISTED_PROBLEMS named, the rest counted."""
    listed = "\n".join(f"- {problem}" for problem in problems[:LISTED_PROBLEMS])
    rest = f"\n- ... and {len(problems) - LISTED_PROBLEMS} more" if len(problems) > LISTED_PROBLEMS else ""
    return DataError(f"image folder {root}: {len(problems)} of {count} images cannot be used:\n{listed}{rest}")


def _load_sklearn_digits() -> RawImages:
    import sklearn.datasets
    from sklearn.datasets import load_digits

    digits = load_digits()
    data_file = Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"
    n = len(digits.target)
    return RawImages(
        pixels=digits.images.reshape(n, 1, 8, 8).astype(np.uint8),  # grey levels 0-16
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


def _load_sklearn_photos() -> RawImages:
    """Every whole 32x32 tile of the two photographs shipped with scikit-learn (china.jpg, flower.jpg; 427x640
    RGB), labelled by photograph: 2 x 13 x 20 = 520 colour images. Tiles do not overlap, so a held-out tile
    shares no pixel with a training one."""
    import sklearn.datasets
    from sklearn.datasets import load_sample_images

    photos = load_sample_images()
    folder = Path(sklearn.datasets.__file__).parent / "images"
    names = [Path(f).stem for f in photos.filenames]
    tiles, labels, files = [], [], []
    for label, (photo, path) in enumerate(zip(photos.images, photos.filenames)):
        rows, columns = photo.shape[0] // PHOTO_CROP, photo.shape[1] // PHOTO_CROP
        grid = photo[: rows * PHOTO_CROP, : columns * PHOTO_CROP].reshape(rows, PHOTO_CROP, columns, PHOTO_CROP, 3)
        tiles.append(grid.transpose(0, 2, 4, 1, 3).reshape(rows * columns, 3, PHOTO_CROP, PHOTO_CROP))
        labels += [label] * (rows * columns)
        files += [str(path)] * (rows * columns)
    n = len(labels)
    return RawImages(
        pixels=np.ascontiguousarray(np.concatenate(tiles), dtype=np.uint8),
        scale=255.0,
        labels=np.array(labels, dtype=np.int64),
        class_names=names,
        row_files=files,
        provenance=Provenance(
            source=PHOTOS_SOURCE,
            description=f"The {PHOTO_CROP}x{PHOTO_CROP} tiles of the two sample photographs bundled with "
            f"scikit-learn ({', '.join(names)}), class = photograph.",
            files=[SourceFile.of(Path(f)) for f in photos.filenames] + [SourceFile.of(folder / "README.txt")],
            rows=n,
        ),
    )


EIGHT_BIT_MODES = {"1", "L", "P", "RGB", "CMYK", "YCbCr", "LAB", "HSV"}  # converted to L or RGB
ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}  # the alpha channel is dropped
SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}  # kept as uint16, scale 65535


@dataclass
class ImageFile:
    pixels: np.ndarray  # [C, H, W] uint8 or uint16
    had_alpha: bool


def _read_image(path: Path) -> ImageFile:
    """One image file as uint8 (8-bit modes) or uint16 (16-bit greyscale); every error names the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode in SIXTEEN_BIT_MODES:
                array = np.asarray(image)
                if array.min() < 0 or array.max() > 65535:
                    raise DataError(f"{path}: {mode} image with values outside 0-65535; only 8- and 16-bit "
                                    "images are supported")
                array = array.astype(np.uint16)
            elif mode in EIGHT_BIT_MODES | ALPHA_MODES:
                grey = mode in ("1", "L", "LA", "La") or (mode in ("P", "PA") and _grey_palette(image))
                array = np.asarray(image.convert("L" if grey else "RGB"))
            else:
                raise DataError(f"{path}: image mode {mode} is not supported (8-bit greyscale, RGB, palette, with "
                                "or without alpha, or 16-bit greyscale)")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise DataError(f"{path}: not a readable image ({error})") from error
    pixels = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return ImageFile(np.ascontiguousarray(pixels), mode in ALPHA_MODES)


def _grey_palette(image) -> bool:
    palette = np.asarray(image.getpalette() or [], dtype=np.int64).reshape(-1, 3)
    return bool(len(palette)) and bool((palette[:, 0] == palette[:, 1]).all() and (palette[:, 1] == palette[:, 2]).all())


def _load_folder(root: Path) -> RawImages:
    files = [p for p in folder_files(root) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DataError(f"image folder {root} holds no .png, .jpg or .jpeg files")
    in_subfolders = [p.parent != root for p in files]
    if any(in_subfolders) and not all(in_subfolders):
        loose = next(p for p, sub in zip(files, in_subfolders) if not sub)
        raise DataError(
            f"{loose}: images must all sit in class sub-folders or all at the top of {root}, not both"
        )
    read, problems = {}, []
    for path in files:
        try:
            read[path] = _read_image(path)
        except DataError as error:
            problems.append(str(error))
    if read:  # the size most images have is the one the others must have
        sizes = Counter(image.pixels.shape[1:] for image in read.values())
        (height, width), _ = sizes.most_common(1)[0]
        problems += [f"{path}: image is {i.pixels.shape[2]}x{i.pixels.shape[1]} but {sizes[(height, width)]} "
                     f"others are {width}x{height}; all images must have the same size"
                     for path, i in read.items() if i.pixels.shape[1:] != (height, width)]
    if problems:
        raise _problems(root, sorted(problems), len(files))
    images = list(read.values())
    channels = 3 if any(i.pixels.shape[0] == 3 for i in images) else 1
    first_shape = images[0].pixels.shape[1:]
    sixteen = [p for p, i in zip(files, images) if i.pixels.dtype == np.uint16]
    if sixteen and channels == 3:
        raise DataError(f"{sixteen[0]}: a 16-bit greyscale image in a folder of colour images; convert the folder "
                        "to one kind")
    dtype, scale = (np.uint16, 65535.0) if sixteen else (np.uint8, 255.0)
    pixels = np.empty((len(files), channels, *first_shape), dtype=dtype)
    for row, image in enumerate(images):
        # 8-bit images beside 16-bit ones are widened (x 257: 255 -> 65535), grey beside colour repeated
        widened = image.pixels.astype(dtype) * (257 if sixteen and image.pixels.dtype == np.uint8 else 1)
        pixels[row] = np.repeat(widened, channels // image.pixels.shape[0], axis=0)
    notes = []
    if sixteen:
        notes.append(f"{len(sixteen)} of {len(files)} images are 16-bit and kept at 16 bits (scale 65535)")
    if with_alpha := [p for p, i in zip(files, images) if i.had_alpha]:
        notes.append(f"{len(with_alpha)} images had an alpha channel, which was dropped (first: {with_alpha[0]})")
    labels = class_names = None
    if all(in_subfolders):
        class_names = sorted({p.relative_to(root).parts[0] for p in files})
        index = {name: i for i, name in enumerate(class_names)}
        labels = np.array([index[p.relative_to(root).parts[0]] for p in files], dtype=np.int64)
        empty = sorted(d.name for d in root.iterdir() if d.is_dir() and d.name not in index)
        if empty:
            notes.append(f"class folder(s) {', '.join(empty)} hold no images and are left out")
    return RawImages(
        pixels=pixels,
        scale=scale,
        labels=labels,
        class_names=class_names,
        row_files=[str(p) for p in files],
        provenance=Provenance(
            source=str(root),
            description=with_notes(f"Image folder {root}" + (" (class = sub-folder)" if labels is not None else ""),
                                   notes),
            files=[SourceFile.of(p) for p in files],
            rows=len(files),
        ),
        notes=notes,
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
        pixels=images[:, None],
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
    elif images.dtype == np.uint16:
        scale = 65535.0
    elif np.issubdtype(images.dtype, np.floating):
        # refused here, before yesterday's raw table is replaced, as the images checks would refuse them
        outside = ~((images >= 0) & (images <= 1)).reshape(len(images), -1).all(axis=1)  # NaN too
        if outside.any():
            rows = np.flatnonzero(outside)
            raise DataError(f"{path}: field 'images' has {len(rows)} rows with NaN, infinite or out-of-range "
                            f"pixels (first in row {rows[0]}); float images must lie in [0, 1]")
        images, scale = images.astype(np.float32, copy=False), 1.0
    else:
        raise DataError(f"{path}: field 'images' has dtype {images.dtype}; expected uint8, uint16 or float in [0, 1]")
    if labels is not None:
        if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(
                f"{path}: field 'labels' must be {len(images)} integers, found shape {labels.shape} "
                f"of {labels.dtype}"
            )
        labels = labels.astype(np.int64)
    n = len(images)
    return RawImages(
        pixels=np.ascontiguousarray(images),
        scale=scale,
        labels=labels,
        class_names=[str(i) for i in range(int(labels.max()) + 1)] if labels is not None and n else None,
        row_files=[str(path)] * n,
        provenance=Provenance(source=str(path), description=f"NumPy archive {path.name}",
                              files=[SourceFile.of(path)], rows=n),
    )
