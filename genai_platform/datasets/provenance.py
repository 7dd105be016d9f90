"""Provenance of an ingested dataset: the source, every file with its hash, the row count."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from genai_platform.errors import DataError
from genai_platform.files import sha256_file


# How a source other than the bundled defaults (DEFAULT_*_DISTRIBUTION) may be distributed.
USER_SOURCE_DISTRIBUTION = "A user-supplied source; its licence is the user's to check."


@dataclass
class SourceFile:
    path: str
    sha256: str
    bytes: int

    @classmethod
    def of(cls, path: Path) -> "SourceFile":
        return cls(path=str(path), sha256=sha256_file(path), bytes=path.stat().st_size)


@dataclass
class Provenance:
    source: str
    description: str
    files: list[SourceFile] = field(default_factory=list)
    rows: int = 0

    @property
    def version(self) -> str:
        """Data version: a short hash over the source files' hashes."""
        digest = hashlib.sha256("".join(sorted(f.sha256 for f in self.files)).encode())
        return digest.hexdigest()[:16]

    def as_dict(self) -> dict:
        return {**asdict(self), "version": self.version}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


def resolve_user_path(source: str, what: str) -> Path:
    """Resolve a user-given path (expanding ~), and insist that it exists."""
    path = Path(source).expanduser().resolve()
    if not path.exists():
        raise DataError(f"{what} source {path} does not exist (from {source!r})")
    return path


def content_fingerprint(path: Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's every file (relative path and content hash, in path
    order), so renaming, adding, removing or editing a file changes it."""
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(f for f in path.rglob("*") if f.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{sha256_file(file)}\n".encode())
    return digest.hexdigest()
