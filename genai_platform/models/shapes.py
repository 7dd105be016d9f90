"""Shapes shared by the image models."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageShape:
    channels: int
    height: int
    width: int


def padded_size(size: int, multiple: int) -> int:
    return -(-size // multiple) * multiple
