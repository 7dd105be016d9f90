"""Atomic file writes: write beside the target, fsync, rename into place.

A crash or an exception mid-write leaves the previous file untouched.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: Path):
    """Yield a temporary path next to `target`; rename it onto `target` on success."""
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


def write_atomic(target: Path, data: str | bytes) -> Path:
    with atomic_path(target) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
    return Path(target)


def save_atomic(target: Path, save: Callable[[Path], None]) -> Path:
    """Run `save(tmp_path)` (e.g. torch.save, safetensors) and rename into place."""
    with atomic_path(target) as tmp:
        save(tmp)
    return Path(target)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def source_digest(paths: list[Path], patterns: tuple[str, ...] = ("*.py",)) -> str:
    """A short digest of source files: each file path given, and the `patterns` files under each folder given.

    The path names (relative to the common root) are hashed with the contents, so a moved file counts as
    a change."""
    files = sorted({f for p in map(Path, paths) for f in ([p] if p.is_file() else
                                                          (g for pattern in patterns for g in p.rglob(pattern)))})
    root = Path(os.path.commonpath([str(f.parent) for f in files])) if files else Path()
    digest = hashlib.sha256()
    for f in files:
        digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:12]
