"""Errors that reach the user: each names the file, row or field at fault."""


class DataError(ValueError):
    """Input data is missing, malformed or inconsistent; the message says where."""


class DataValidationError(DataError):
    """A preprocessing check failed; nothing was committed."""


class DamagedArtifact(ValueError):
    """A kept file no longer has the SHA-256 its manifest recorded (or is gone); the message names it."""
