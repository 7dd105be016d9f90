"""Whether files carry this deployment's mark: PNG images and grids, .npz image arrays, text files, folders.

A file's verdict is one p-value, the chance that an unmarked file scores as high. Text: the green units among
all its samples' distinct units, a character after its 4 before (text_mark.py). Images: the smallest p-value of
its images times their number (Bonferroni), which holds however alike the images are; a file of 64 copies of one
unmarked image scores as that one image does.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from genai_platform.marking.credentials import GRID_CHUNK
from genai_platform.marking.image_mark import image_mark_scores, p_values
from genai_platform.marking.key import WatermarkKey
from genai_platform.marking.text_mark import text_mark_score

ALPHA = 0.01  # a file is called marked below this p-value: over random keys at most 1% of unmarked files are
DETECTABLE = (".png", ".npz", ".txt")
SAMPLE_HEADING = re.compile(r"^--- sample \d+$", re.MULTILINE)  # between the samples of a text file we write


class UnreadableSample(ValueError):
    """A file the detector cannot read, named in the message."""


@dataclass(frozen=True)
class Detection:
    path: str
    marked: bool
    p_value: float
    items: int  # images or text samples scored

    def as_json(self) -> dict:
        return {"path": self.path, "marked": self.marked, "p_value": self.p_value}


def sample_files(paths: list[Path]) -> list[Path]:
    """`paths` with every folder replaced by the detectable files under it (sorted)."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DETECTABLE)
        elif not path.exists():
            raise UnreadableSample(f"{path}: no such file or folder")
        elif path.suffix.lower() not in DETECTABLE:
            raise UnreadableSample(f"{path}: not a sample file the detector reads ({', '.join(DETECTABLE)})")
        else:
            files.append(path)
    return files


def detect(paths: list[Path], key: WatermarkKey, alpha: float = ALPHA) -> list[Detection]:
    """One verdict per sample file in `paths` (folders searched); UnreadableSample names a file that is not."""
    return [detect_file(path, key, alpha) for path in sample_files(paths)]


def detect_file(path: Path, key: WatermarkKey, alpha: float = ALPHA) -> Detection:
    if path.suffix.lower() == ".txt":
        texts = _read_texts(path)
        score = text_mark_score(key, texts)
        return Detection(str(path), score.p_value < alpha, score.p_value, len(texts))
    images = _read_png(path) if path.suffix.lower() == ".png" else _read_npz(path)
    try:
        smallest = float(p_values(image_mark_scores(images, key)).min())
    except ValueError as error:
        raise UnreadableSample(f"{path}: {error}") from None
    p_value = min(1.0, smallest * len(images))
    return Detection(str(path), p_value < alpha, p_value, len(images))


def _read_texts(path: Path) -> list[str]:
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UnreadableSample(f"{path}: cannot read it as UTF-8 text ({error})") from None
    return [part.strip("\n") for part in SAMPLE_HEADING.split(content) if part.strip("\n")]


def _channels_first(pixels: np.ndarray, path: Path) -> np.ndarray:
    """[N, H, W] or [N, H, W, C] (C of 1, 3 or 4; alpha dropped) as [N, C, H, W] in [0, 1]."""
    if pixels.ndim == 3:
        pixels = pixels[..., None]
    if pixels.ndim != 4 or pixels.shape[-1] not in (1, 3, 4) or 0 in pixels.shape:
        raise UnreadableSample(f"{path}: images must be [N, H, W] or [N, H, W, C], got shape {list(pixels.shape)}")
    scale = 255.0 if pixels.dtype == np.uint8 else 1.0
    return pixels[..., :3].transpose(0, 3, 1, 2).astype(np.float64) / scale


def _read_png(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            image.load()
            grid = image.text.get(GRID_CHUNK) if hasattr(image, "text") else None
            pixels = np.asarray(image.convert("L" if image.mode in ("1", "L", "I", "I;16") else "RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise UnreadableSample(f"{path}: not a readable PNG ({error})") from None
    if grid is None:
        return _channels_first(pixels[None], path)
    try:
        layout = json.loads(grid)
        height, width, columns, scale, count = (int(layout[k]) for k in
                                                ("tile_height", "tile_width", "columns", "scale", "count"))
    except (ValueError, KeyError, TypeError):
        raise UnreadableSample(f"{path}: its {GRID_CHUNK} chunk is not a grid layout: {grid[:200]!r}") from None
    cells = pixels[::scale, ::scale]
    tiles = []
    for i in range(count):
        row, column = divmod(i, columns)
        tile = cells[row * (height + 1): row * (height + 1) + height, column * (width + 1): column * (width + 1) + width]
        if tile.shape[:2] != (height, width):
            raise UnreadableSample(f"{path}: image {i + 1} of its grid lies outside the picture")
        tiles.append(tile)
    return _channels_first(np.stack(tiles), path)


def _read_npz(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            names = list(arrays.keys())
            name = "images" if "images" in names else names[0] if len(names) == 1 else None
            pixels = None if name is None else arrays[name]
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise UnreadableSample(f"{path}: not a readable .npz file ({error})") from None
    if pixels is None:
        raise UnreadableSample(f"{path}: no `images` array among {names}")
    if not (pixels.dtype == np.uint8 or np.issubdtype(pixels.dtype, np.floating)):
        raise UnreadableSample(f"{path}: images must be uint8 or floats in [0, 1], not {pixels.dtype}")
    return _channels_first(pixels, path)
