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


def with_notes(description: str, notes: list[str]) -> str:
    """A dataset description followed by what its loader changed or left out, one sentence per note."""
    return description + "".join(f". {note[0].upper()}{note[1:]}" for note in notes)


def outside(path: Path, allowed: tuple[Path, ...]) -> str | None:
    """Why the resolved `path` may not be a source, when `allowed` names the (resolved) folders sources may
    come from and it lies in none; else None."""
    if allowed and not any(path.is_relative_to(folder) for folder in allowed):
        return (f"{path} is outside the folders sources may come from (GENAI_SOURCE_FOLDERS: "
                f"{', '.join(map(str, allowed))})")
    return None


def resolve_user_path(source: str, what: str, allowed: tuple[Path, ...] = ()) -> Path:
    """Resolve a user-given path (expanding ~), and insist that it exists and, when `allowed` names folders
    (resolved), that it lies in one of them."""
    path = Path(source).expanduser().resolve()
    if problem := outside(path, allowed):
        raise DataError(f"{what} source {problem}")
    if not path.exists():
        raise DataError(f"{what} source {path} does not exist (from {source!r})")
    return path


def folder_files(root: Path) -> list[Path]:
    """Every file under the folder `root`, in path order, as paths under it. Symbolic links, to files or to
    folders, are followed when what they point to lies inside `root` (a link back to a folder it sits in is
    not entered again, so it cannot loop); a link that points outside it, or to nothing, is refused naming
    the link."""
    real_root, files = root.resolve(), []

    def visit(folder: Path, above: frozenset) -> None:
        if (real := folder.resolve()) in above:
            return
        above = above | {real}
        for entry in sorted(folder.iterdir()):
            if entry.is_symlink():
                target = entry.resolve()
                if not target.exists():
                    raise DataError(f"{entry} is a symbolic link to {target}, which does not exist")
                if not target.is_relative_to(real_root):
                    raise DataError(f"{entry} is a symbolic link to {target}, outside the source folder {root}: "
                                    "links are followed only within it")
            if entry.is_dir():
                visit(entry, above)
            elif entry.is_file():
                files.append(entry)

    visit(root, frozenset())
    return files


def content_fingerprint(path: Path) -> str:
    """SHA-256 of a file's bytes, or of a folder's every file (relative path and content hash, in path
    order), so renaming, adding, removing or editing a file changes it."""
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in folder_files(path):
        digest.update(f"{file.relative_to(path).as_posix()}\0{sha256_file(file)}\n".encode())
    return digest.hexdigest()
