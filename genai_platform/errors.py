"""Errors that reach the user: each names the file, row or field at fault."""


class DataError(ValueError):
    """Input data is missing, malformed or inconsistent; the message says where."""


class DataValidationError(DataError):
    """A preprocessing check failed; nothing was committed."""
