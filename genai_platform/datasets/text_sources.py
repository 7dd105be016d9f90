"""Text sources: gensim's bundled Lee news corpus (default), .txt, .jsonl, .csv."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from genai_platform.datasets.provenance import Provenance, SourceFile, resolve_user_path, with_notes
from genai_platform.errors import DataError

DEFAULT_TEXT_SOURCE = "gensim:lee"
DEFAULT_TEXT_DISTRIBUTION = "Shipped with gensim (LGPL-2.1); Lee, Pincombe & Welsh (2005) news articles."


BYTE_ORDER_MARK = "\ufeff"


@dataclass
class RawDocuments:
    texts: list[str]
    row_refs: list[str]  # "file:line" or "file#row" of each document
    provenance: Provenance
    notes: list[str] = field(default_factory=list)  # what was removed, for the log and the datasheet


def lee_corpus_path() -> Path:
    """The Lee background corpus inside gensim's package (found without importing gensim)."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or spec.origin is None:
        raise DataError("the default text source 'gensim:lee' needs the gensim package installed")
    return Path(spec.origin).parent / "test" / "test_data" / "lee_background.cor"


def load_documents(source: str, text_field: str = "text", allowed: tuple[Path, ...] = ()) -> RawDocuments:
    """Load `source`: "gensim:lee", a .txt, .jsonl or .csv file (inside one of the `allowed` folders, when any
    are named)."""
    if source == "gensim:lee":
        path = lee_corpus_path()
        lines = _decode(path).splitlines()
        texts = [line for line in lines if line.strip()]
        return _documents(
            texts, [f"{path}:{i + 1}" for i, line in enumerate(lines) if line.strip()], path, source,
            "Lee et al. (2005) news corpus (300 Australian Broadcasting Corporation news "
            "articles, one per line) as bundled with gensim.",
        )
    if source.startswith("gensim:"):
        raise DataError(f"unknown bundled text dataset {source!r}; the bundled one is 'gensim:lee'")
    path = resolve_user_path(source, "text", allowed)
    if not path.is_file():
        raise DataError(f"text source {path} is not a file")
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".jsonl", ".csv"):
        raise DataError(f"text source {path} is not a .txt, .jsonl or .csv file")
    content = _decode(path)
    notes = []
    if content.startswith(BYTE_ORDER_MARK):
        content = content.removeprefix(BYTE_ORDER_MARK)
        notes.append("a UTF-8 byte-order mark at the start of the file was removed")
    if suffix == ".txt":
        texts, refs = _split_paragraphs(path, content)
    elif suffix == ".jsonl":
        texts, refs = _read_jsonl(path, content, text_field)
    else:
        texts, refs = _read_csv(path, content, text_field)
    return _documents(texts, refs, path, str(path), f"{suffix[1:].upper()} file {path.name}", notes)


def _documents(texts, refs, path: Path, source: str, description: str, notes: list[str] = ()) -> RawDocuments:
    if not texts:
        raise DataError(f"{path}: the corpus is empty (no non-blank documents)")
    return RawDocuments(
        texts=texts,
        row_refs=refs,
        provenance=Provenance(source=source, description=with_notes(description, notes),
                              files=[SourceFile.of(path)], rows=len(texts)),
        notes=list(notes),
    )


def _decode(path: Path) -> str:
    """The file as UTF-8 text; a NUL byte (no text format this reads has one) is refused with its line."""
    data = path.read_bytes()
    if (nul := data.find(b"\x00")) >= 0:
        line = data[:nul].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: a NUL byte (\\x00), which text never holds; is this a binary or "
                        "UTF-16 file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataError(
            f"{path}: not valid UTF-8 at byte {error.start} (line {line}): {error.reason}"
        ) from error


def _split_paragraphs(path: Path, text: str) -> tuple[list[str], list[str]]:
    """Documents are separated by blank lines."""
    texts, refs, current, start = [], [], [], 0
    for number, line in enumerate(text.splitlines() + [""], start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            texts.append("\n".join(current))
            refs.append(f"{path}:{start}")
            current = []
    return texts, refs


def _read_jsonl(path: Path, content: str, field: str) -> tuple[list[str], list[str]]:
    texts, refs = [], []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{path}: line {number}: not valid JSON ({error.msg})") from error
        if not isinstance(record, dict) or field not in record:
            raise DataError(f"{path}: line {number}: no field {field!r}")
        if not isinstance(record[field], str):
            raise DataError(f"{path}: line {number}: field {field!r} is not a string")
        if record[field].strip():
            texts.append(record[field])
            refs.append(f"{path}:{number}")
    return texts, refs


def _read_csv(path: Path, content: str, column: str) -> tuple[list[str], list[str]]:
    reader = csv.DictReader(io.StringIO(content, newline=""))
    if reader.fieldnames is None or column not in reader.fieldnames:
        found = ", ".join(reader.fieldnames or []) or "no header"
        raise DataError(f"{path}: no column {column!r} (columns: {found})")
    texts, refs = [], []
    for number, row in enumerate(reader, start=2):
        value = row.get(column)
        if value is None:
            raise DataError(f"{path}: row {number}: column {column!r} is missing")
        if value.strip():
            texts.append(value)
            refs.append(f"{path}#{number}")
    return texts, refs
