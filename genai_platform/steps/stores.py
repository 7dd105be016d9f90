"""What a step needs of the stores it is handed: the Dagster resources (defs/database.py, defs/resources.py)
are these, scoped to the step's dataset, and so is anything else that has the same methods."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from genai_platform.files import ArtifactPath
from genai_platform.marking.key import WatermarkKey


class Log(Protocol):
    """Where a step reports progress (a Dagster step's context.log, a logging.Logger)."""

    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def error(self, message: str) -> None: ...


class Tables(Protocol):
    """The platform's tables (DuckDB or a DuckLake): one writer at a time, readers beside it."""

    def read_connection(self) -> AbstractContextManager: ...

    def transaction(self) -> AbstractContextManager: ...


class Artifacts(Protocol):
    """Where models, checkpoints, evaluation details and reports live."""

    @property
    def dataset(self) -> str | None: ...

    @property
    def reports(self) -> ArtifactPath: ...

    @property
    def latest_reports(self) -> ArtifactPath: ...

    def model_dir(self, name: str) -> ArtifactPath: ...

    def version_dir(self, family: str, version: str) -> ArtifactPath: ...

    def checkpoint_path(self, name: str) -> ArtifactPath: ...

    def details_path(self, modality: str) -> ArtifactPath: ...

    def watermark_key(self) -> WatermarkKey: ...
