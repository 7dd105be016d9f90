"""The datasets file (GENAI_DATASETS): several named datasets per modality, each trained, judged and
reported on its own. No Dagster imports; defs/datasets.py turns the entries into partitions.

    datasets:
      - name: digits
        modality: image
        source: sklearn:digits
      - name: reviews
        modality: text
        source: reviews.jsonl     # relative paths are relative to this file's folder
        text_field: review        # text only: the JSONL field or CSV column (default: text)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from genai_platform.datasets.images import DEFAULT_IMAGE_SOURCE
from genai_platform.datasets.text import DEFAULT_TEXT_SOURCE

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # a partition key and a folder name
FIELDS = {"name", "modality", "source", "text_field"}
BUNDLED = {"image": DEFAULT_IMAGE_SOURCE, "text": DEFAULT_TEXT_SOURCE}  # modality -> its bundled dataset
BUNDLED_PREFIXES = tuple(source.split(":")[0] + ":" for source in BUNDLED.values())  # names, not paths


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    modality: str
    source: str  # a bundled name or an absolute path
    text_field: str = "text"

    @property
    def watched_path(self) -> Path | None:
        """The file or folder whose content the new-data sensor hashes; None for a bundled dataset."""
        return None if self.source.startswith(BUNDLED_PREFIXES) else Path(self.source)


class DatasetsFileError(ValueError):
    """The datasets file is unreadable or an entry is invalid; the message names the file and the entry."""


def check_name(name: str) -> str:
    """`name` if it can name a dataset's partition and folders (no path separators, no '..'), else ValueError."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a dataset name: lower-case letters, digits, '-' and '_', starting with "
                         "a letter or digit, at most 63 characters")
    return name


def read_datasets_file(path: str | Path, modalities: tuple[str, ...]) -> list[DatasetEntry]:
    """Every entry of the datasets file at `path`, validated, in file order."""
    path = Path(path).expanduser().resolve()
    try:
        document = yaml.safe_load(path.read_text("utf-8"))
    except OSError as error:
        raise DatasetsFileError(f"datasets file {path}: cannot be read: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise DatasetsFileError(f"datasets file {path}: not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("datasets"), list) or not document["datasets"]:
        raise DatasetsFileError(f"datasets file {path}: expected a mapping with a non-empty list under 'datasets'")
    entries, seen = [], set()
    for number, raw in enumerate(document["datasets"], start=1):
        where = f"datasets file {path}, entry {number}"
        if not isinstance(raw, dict):
            raise DatasetsFileError(f"{where}: expected a mapping with name, modality and source")
        where = f"{where} ({raw.get('name', 'unnamed')})"
        if unknown := sorted(set(map(str, raw)) - FIELDS):
            raise DatasetsFileError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}")
        if missing := sorted(f for f in ("name", "modality", "source") if not str(raw.get(f) or "").strip()):
            raise DatasetsFileError(f"{where}: missing {', '.join(missing)}")
        name, modality, source = (str(raw[f]).strip() for f in ("name", "modality", "source"))
        try:
            check_name(name)
        except ValueError as error:
            raise DatasetsFileError(f"{where}: {error} (it names a partition and folders)") from None
        if name in seen:
            raise DatasetsFileError(f"{where}: the name {name!r} is used twice")
        if modality not in modalities:
            raise DatasetsFileError(f"{where}: modality {modality!r} is not one of {', '.join(modalities)}")
        if "text_field" in raw and modality != "text":
            raise DatasetsFileError(f"{where}: text_field applies to text datasets only")
        if source.startswith(BUNDLED_PREFIXES):
            if source != BUNDLED.get(modality):
                raise DatasetsFileError(f"{where}: {source!r} is not a bundled {modality} dataset; the bundled one "
                                        f"is {BUNDLED.get(modality)!r}")
        else:
            source = str((path.parent / Path(source).expanduser()).resolve())
        seen.add(name)
        entries.append(DatasetEntry(name, modality, source, str(raw.get("text_field") or "text")))
    return entries


def dataset_entry(path: str | Path, name: str, modalities: tuple[str, ...]) -> DatasetEntry:
    """The entry called `name`; an error naming the file when it has none (removed since the partition was added)."""
    for entry in read_datasets_file(path, modalities):
        if entry.name == name:
            return entry
    raise DatasetsFileError(f"datasets file {Path(path).expanduser().resolve()}: has no dataset named {name!r} "
                            "(its partition stays, with its models and reports, but it can no longer be ingested)")
