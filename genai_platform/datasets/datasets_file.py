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
        families:                 # optional: train only these (default: every family of the modality),
          lstm: {max_seconds: 60} # each with settings over its profile's (model or training fields)
          transformer:

`families` may also be a list of names. Which modalities, source settings (`Sources`), families and family
settings (`FamilyOptions`) exist is the caller's to say, so this module knows no modality or registry. Without
a datasets file, the environment names one dataset per modality (`entries_from_environment`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # a partition key and a folder name
FIELDS = {"name", "modality", "source", "families"}
Setting = int | float | str | bool


@dataclass(frozen=True)
class SourceOption:
    """A setting of a modality's sources besides the source itself (text: the JSONL field or CSV column)."""
    name: str
    default: str
    variable: str  # the environment variable that sets it in the one-dataset layout
    description: str


@dataclass(frozen=True)
class Sources:
    """Where a modality's datasets come from: the environment variable naming the source in the one-dataset
    layout, the bundled dataset (a name like 'sklearn:digits', not a path; None: the modality has none), what
    a source may be, and the settings besides the source."""
    variable: str
    bundled: str | None
    description: str
    options: tuple[SourceOption, ...] = ()
    other_bundled: tuple[str, ...] = ()  # bundled datasets besides the default one, by name

    @property
    def bundled_names(self) -> tuple[str, ...]:
        return (self.bundled, *self.other_bundled) if self.bundled else ()

    def is_bundled_name(self, source: str) -> bool:
        """`source` names a dataset of the bundled one's kind ('sklearn:...' for 'sklearn:digits'), not a path."""
        if self.bundled is None:
            return False
        prefix, colon, _ = self.bundled.partition(":")
        return source == self.bundled or (bool(colon) and source.startswith(prefix + ":"))


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    modality: str
    source: str  # a bundled name or an absolute path
    options: Mapping[str, str] = field(default_factory=dict)  # the modality's source settings (Sources.options)
    families: tuple[str, ...] | None = None  # None: every family of the modality
    settings: Mapping[str, Mapping[str, Setting]] = field(default_factory=dict)  # family -> its settings here
    bundled: bool = False  # the source is the modality's bundled dataset
    origin: str = ""  # where the entry was given, for messages: an environment variable, or empty (the file)

    def trains(self, family: str) -> bool:
        return self.families is None or family in self.families

    @property
    def label(self) -> str:
        """How messages name the entry: its variable in the one-dataset layout, its name in a datasets file."""
        where = self.watched_path or self.source
        return f"{self.origin}={where}" if self.origin else f"{self.name}: {where}"

    @property
    def watched_path(self) -> Path | None:
        """The file or folder whose content the new-data sensor hashes, resolved; None for a bundled dataset."""
        return None if self.bundled else Path(self.source).expanduser().resolve()


def entries_from_environment(env: Mapping[str, str], modalities: Mapping[str, Sources]) -> list[DatasetEntry]:
    """The one-dataset layout as entries: each modality's source from its variable (default: its bundled
    dataset; a modality with neither has none), named after the modality. Values are kept as given (a relative
    path is resolved where the run reads it, as the launchpad shows it)."""
    entries = []
    for modality, sources in modalities.items():
        source = env.get(sources.variable) or sources.bundled
        if source is None:
            continue
        options = {o.name: env.get(o.variable) or o.default for o in sources.options}
        entries.append(DatasetEntry(modality, modality, source, options, bundled=sources.is_bundled_name(source),
                                    origin=sources.variable))
    return entries


@dataclass(frozen=True)
class FamilyOptions:
    """What an entry may say of a family: its modality, the settings it takes with their types, and a check
    of a whole set of settings (a ValueError or TypeError saying what is wrong)."""
    modality: str
    settings: Mapping[str, type]
    check: Callable[[dict], None] = lambda settings: None
    starts_from: str | None = None  # the family whose trained model it builds on, which the entry must train too


def _setting_problem(value, kind: type) -> str | None:
    """Why `value` cannot be a setting of type `kind` (an int for a float is fine, a bool for a number not)."""
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, (int, float) if kind is float else kind):
        return f"{value!r} is not a{'n' if kind is int else ''} {kind.__name__}"
    return None


def _families(raw, modality: str, options: Mapping[str, FamilyOptions], where: str
              ) -> tuple[tuple[str, ...] | None, dict[str, dict[str, Setting]]]:
    """An entry's `families` (a list of names, or names mapping to settings), checked against `options`."""
    if raw is None:
        return None, {}
    if isinstance(raw, list):
        if not all(isinstance(name, str) for name in raw):
            raise DatasetsFileError(f"{where}: families as a list holds family names; to give a family settings, "
                                    "make families a mapping of names to settings")
        raw = dict.fromkeys(raw)
    if not isinstance(raw, dict) or not raw:
        raise DatasetsFileError(f"{where}: families must be a non-empty list of family names or a mapping of "
                                "names to their settings")
    own = sorted(name for name, o in options.items() if o.modality == modality)
    chosen: dict[str, dict[str, Setting]] = {}
    for name, settings in raw.items():
        name = str(name)
        if name not in own:
            raise DatasetsFileError(f"{where}: {name!r} is not a {modality} family; the {modality} families are "
                                    f"{', '.join(own)}")
        settings = settings or {}
        if not isinstance(settings, dict):
            raise DatasetsFileError(f"{where}, family {name}: settings must be a mapping of setting to value")
        known = options[name].settings
        for key, value in settings.items():
            if key not in known:
                raise DatasetsFileError(f"{where}, family {name}: unknown setting {key!r}; known: "
                                        f"{', '.join(sorted(known))}")
            if problem := _setting_problem(value, known[key]):
                raise DatasetsFileError(f"{where}, family {name}, setting {key}: {problem}")
        # an int where a float is meant: the float (the launchpad's run config gives 60.0 for 60)
        settings = {key: float(value) if known[key] is float else value for key, value in settings.items()}
        try:
            options[name].check(settings)
        except (ValueError, TypeError) as error:
            raise DatasetsFileError(f"{where}, family {name}: {error}") from None
        chosen[name] = settings
    for name in chosen:
        base = options[name].starts_from
        if base is not None and base not in chosen:
            raise DatasetsFileError(f"{where}: {name!r} starts from a trained {base!r} model, so families must "
                                    f"list {base!r} too")
    return tuple(chosen), chosen


class DatasetsFileError(ValueError):
    """The datasets file is unreadable or an entry is invalid; the message names the file and the entry."""


def check_name(name: str) -> str:
    """`name` if it can name a dataset's partition and folders (no path separators, no '..'), else ValueError."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a dataset name: lower-case letters, digits, '-' and '_', starting with "
                         "a letter or digit, at most 63 characters")
    return name


def read_datasets_file(path: str | Path, modalities: Mapping[str, Sources], families: Mapping[str, FamilyOptions]
                       ) -> list[DatasetEntry]:
    """Every entry of the datasets file at `path`, validated, in file order; `modalities`: the modalities an
    entry may name, with their sources' settings; `families`: the families an entry may name, by name."""
    path = Path(path).expanduser().resolve()
    try:
        document = yaml.safe_load(path.read_text("utf-8"))
    except OSError as error:
        raise DatasetsFileError(f"datasets file {path}: cannot be read: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise DatasetsFileError(f"datasets file {path}: not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("datasets"), list) or not document["datasets"]:
        raise DatasetsFileError(f"datasets file {path}: expected a mapping with a non-empty list under 'datasets'")
    option_fields: dict[str, list[str]] = {}  # a source setting -> the modalities that take it
    for m, sources in modalities.items():
        for o in sources.options:
            option_fields.setdefault(o.name, []).append(m)
    known_fields = FIELDS | set(option_fields)
    entries, seen = [], set()
    for number, raw in enumerate(document["datasets"], start=1):
        where = f"datasets file {path}, entry {number}"
        if not isinstance(raw, dict):
            raise DatasetsFileError(f"{where}: expected a mapping with name, modality and source")
        where = f"{where} ({raw.get('name', 'unnamed')})"
        if unknown := sorted(set(map(str, raw)) - known_fields):
            raise DatasetsFileError(f"{where}: unknown field(s) {', '.join(unknown)}; known: "
                                    f"{', '.join(sorted(known_fields))}")
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
        sources = modalities[modality]
        for option, owners in option_fields.items():
            if option in raw and modality not in owners:
                raise DatasetsFileError(f"{where}: {option} applies to {' and '.join(owners)} datasets only")
        bundled = any(s.is_bundled_name(source) for s in modalities.values())  # a name, never a path
        if bundled:
            if source not in sources.bundled_names:
                raise DatasetsFileError(f"{where}: {source!r} is not a bundled {modality} dataset; the bundled ones "
                                        f"are {', '.join(map(repr, sources.bundled_names))}" if sources.bundled else
                                        f"{where}: {source!r} is not a bundled {modality} dataset; {modality} has none")
        else:
            source = str((path.parent / Path(source).expanduser()).resolve())
        seen.add(name)
        chosen, settings = _families(raw.get("families"), modality, families, where)
        options = {o.name: str(raw.get(o.name) or o.default) for o in sources.options}
        entries.append(DatasetEntry(name, modality, source, options, chosen, settings, bundled))
    return entries


def dataset_entry(path: str | Path, name: str, modalities: Mapping[str, Sources], families: Mapping[str, FamilyOptions]
                  ) -> DatasetEntry:
    """The entry called `name`; an error naming the file when it has none (removed since the partition was added)."""
    for entry in read_datasets_file(path, modalities, families):
        if entry.name == name:
            return entry
    raise DatasetsFileError(f"datasets file {Path(path).expanduser().resolve()}: has no dataset named {name!r} "
                            "(its partition stays, with its models and reports, but it can no longer be ingested)")
