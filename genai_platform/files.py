"""Artifact locations, local or in object storage, and atomic writes to them.

A location is a local folder or an fsspec URL (s3://bucket/prefix, gs://...); `artifact_path`
gives a pathlib.Path for the first and a universal_pathlib UPath for the others, which share the
path operations the platform uses (/, exists, read_text, open, glob, unlink). A local write goes
beside the target, is fsynced and renamed into place; an object-store write is one upload (PUT),
which readers see whole or not at all. Either way a crash mid-write leaves the previous file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec
from upath import UPath

ArtifactPath = Path | UPath


def _is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def artifact_path(location: str) -> ArtifactPath:
    """A local folder or file (resolved), or an fsspec URL such as s3://bucket/prefix as a UPath."""
    if _is_url(location):
        # no listings cache: other processes write here, and a long-lived process (a sensor's) must see it
        return UPath(location, use_listings_cache=False)
    return Path(location.removeprefix("file://")).expanduser().resolve()


def location_problem(location: str) -> str | None:
    """Why `location` cannot hold artifacts that every step of a run sees, or None when it can."""
    if not _is_url(location):
        return folder_problem(Path(location).expanduser())
    protocol = location.split("://", 1)[0]
    if protocol == "memory":
        return "memory:// lives inside one process, and a run's steps are separate processes"
    try:
        fsspec.get_filesystem_class(protocol)
    except (ValueError, ImportError) as error:
        return str(error)
    return None


def folder_problem(folder: Path) -> str | None:
    """Why a local folder cannot be written (made first if missing), or None: checked at load, so a file in
    its place or a read-only mount is named before a run, not by its first writing step."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} cannot be written (read-only file system or no permission)"
    return None


def is_local(path: ArtifactPath) -> bool:
    return isinstance(path, Path)


@contextmanager
def atomic_path(target: ArtifactPath):
    """Yield a temporary local path; on success, rename it onto `target` (or upload it, in object storage)."""
    if not is_local(target):
        with tempfile.TemporaryDirectory(prefix="genai-upload-") as folder:
            tmp = Path(folder) / target.name
            yield tmp
            target.fs.put_file(str(tmp), target.path)
        return
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(target: ArtifactPath, data: str | bytes) -> ArtifactPath:
    with atomic_path(target) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
    return target


def save_atomic(target: ArtifactPath, save: Callable[[Path], None]) -> ArtifactPath:
    """Run `save(tmp_path)` (e.g. torch.save, safetensors) and rename (or upload) into place."""
    with atomic_path(target) as tmp:
        save(tmp)
    return target


@contextmanager
def local_copy(path: ArtifactPath) -> Iterator[Path]:
    """`path` itself when local, else a temporary local copy of it (for readers that need a file name)."""
    if is_local(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="genai-download-") as folder:
        copy = Path(folder) / path.name
        path.fs.get_file(path.path, str(copy))
        yield copy


def remove_tree(path: ArtifactPath) -> None:
    """Delete a folder and everything in it; nothing happens when it is not there."""
    if is_local(path):
        shutil.rmtree(path, ignore_errors=True)
    elif path.fs.exists(path.path):
        path.fs.rm(path.path, recursive=True)


def sha256_file(path: ArtifactPath, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
