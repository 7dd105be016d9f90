"""The deployment's watermark key: GENAI_WATERMARK_KEY, or a key generated once and kept in GENAI_HOME.

The key is the one secret of the mark: whoever holds it can both detect and forge the mark. It is read when
the platform starts sampling or detecting, never printed, logged or written into a report.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

KEY_VARIABLE = "GENAI_WATERMARK_KEY"
KEY_FILE = "watermark.key"
MIN_KEY_CHARS = 16


class WatermarkKey:
    """A secret, and the keyed pseudo-random numbers the marks are made of (keyed BLAKE2b)."""

    def __init__(self, secret: bytes):
        if len(secret) < MIN_KEY_CHARS:
            raise ValueError(f"{KEY_VARIABLE} must be at least {MIN_KEY_CHARS} characters long")
        self._secret = hashlib.blake2b(secret, digest_size=32).digest()

    def __repr__(self) -> str:
        return "WatermarkKey(<secret>)"

    def digest(self, *parts: object) -> int:
        """A 64-bit number that only the key's holder can compute from `parts`."""
        message = "\x1f".join(map(str, parts)).encode()
        return int.from_bytes(hashlib.blake2b(message, key=self._secret, digest_size=8).digest(), "big")

    @property
    def fingerprint(self) -> str:
        """16 hex digits that tell keys apart (a sample set drawn under another key is drawn again) and give
        nothing of the key away."""
        return f"{self.digest('fingerprint'):016x}"

    def uniform(self, *parts: object) -> float:
        """digest(*parts) as a number in [0, 1)."""
        return self.digest(*parts) / 2 ** 64


def check_key_setting(env, home: str) -> None:
    """Raise ValueError when the key cannot be had: a GENAI_WATERMARK_KEY too short, or none with a home that
    is a URL (s3://...), where no key file is generated. Reads no file and makes none."""
    if env.get(KEY_VARIABLE):
        WatermarkKey(env[KEY_VARIABLE].encode())
    elif "://" in home:
        raise ValueError(f"GENAI_HOME={home!r} is not a local folder, so no watermark key is generated there: set "
                         f"{KEY_VARIABLE} to a secret of at least {MIN_KEY_CHARS} characters")


def watermark_key(env, home: str, create: bool = True) -> WatermarkKey:
    """GENAI_WATERMARK_KEY from `env`; else the key file in `home` (a local folder), generated with owner-only
    permissions when there is none and `create` (detection does not create one: a new key finds nothing). A home
    that is a URL (s3://...) gets no key file: set the variable."""
    check_key_setting(env, home)
    if env.get(KEY_VARIABLE):
        return WatermarkKey(env[KEY_VARIABLE].encode())
    path = Path(home).expanduser().resolve() / KEY_FILE
    if not create and not path.exists():
        raise ValueError(f"no watermark key: {KEY_VARIABLE} is unset and {path} does not exist; set GENAI_HOME to "
                         f"the deployment's home or {KEY_VARIABLE} to its key")
    return WatermarkKey(_key_file(path))


def _key_file(path: Path) -> bytes:
    """The key in `path`, made once: written to a private temporary file and linked into place, so two
    processes starting at once end up with the same key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(32))
                file.flush()
                os.fsync(file.fileno())
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"{path}: the watermark key is readable by others (mode {stat.filemode(mode)}); "
                         f"run chmod 600 {path}")
    secret = path.read_bytes().strip()
    if not secret:
        raise ValueError(f"{path}: the watermark key file is empty; delete it to have a new key made, or set "
                         f"{KEY_VARIABLE}")
    return secret
