"""What Dagster shows of a step: markdown tables, and one record of a re-used output.

Every step that can re-use an earlier output (a model version, a sample set, the feature classifier, an
evaluation, a self-test panel) records it the same way: `reused` true or false, `reused_from_run` (the run
that made what is re-used, where known), and the fingerprint (fingerprints.py) as the Dagster data
version, so the UI shows that nothing changed.
"""

from collections.abc import Iterable, Sequence

import dagster as dg


def markdown_table(header: Sequence[str], rows: Iterable[Sequence]) -> dg.MetadataValue:
    """A markdown table of `rows` (cells turned to text as they are) under `header`."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def reuse_record(fingerprint: str, reused_from_run: str | None, data_version: str | None = None,
                 **metadata) -> dg.MaterializeResult:
    """The materialization of a step whose output has `fingerprint`: re-used from the run `reused_from_run`, or
    made now (None). Its Dagster data version is the fingerprint unless `data_version` names what it made (a
    model version)."""
    return dg.MaterializeResult(data_version=dg.DataVersion(data_version or fingerprint), metadata={
        "reused": reused_from_run is not None, "reused_from_run": reused_from_run or "", "fingerprint": fingerprint,
        **metadata})
