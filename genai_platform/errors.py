"""Errors that reach the user: each names the file, row or field at fault."""


class DataError(ValueError):
    """Input data is missing, malformed or inconsistent; the message says where."""


class DataValidationError(DataError):
    """A preprocessing check failed; nothing was committed."""


class DamagedArtifact(ValueError):
    """A kept file no longer has the SHA-256 its manifest recorded (or is gone); the message names it."""


class UnloadableVersion(DamagedArtifact):
    """A kept model that this code cannot build from its manifest and weights (made by code whose model or config
    has changed since, like a pixel-space diffusion version after the move into the vae's latents): as good as
    damaged to whatever would load it, so it is skipped where a damaged version is."""
