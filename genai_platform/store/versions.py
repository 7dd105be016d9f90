"""Model versions and promotion decisions in DuckDB (tables model_versions and promotions).

A family's challenger is the version a training step last made or re-used; its champion is the one
its newest promotion decision serves. Functions take an open connection: the caller decides the
transaction.
"""

from __future__ import annotations

import json

from genai_platform.records import Decision, ModelVersion
from genai_platform.store.sql import sql


def record_version(con, version: ModelVersion) -> None:
    """Keep a new version (a retried training step replaces its own run's row)."""
    con.execute(sql("queries", "delete_version"), {"family": version.family, "version": version.version})
    con.execute(sql("queries", "insert_version"), {
        "family": version.family, "modality": version.modality, "version": version.version,
        "dataset": version.dataset, "data_version": version.data_version, "code_version": version.code_version,
        "fingerprint": version.fingerprint, "config": json.dumps(version.config, default=str), "path": version.path})


def choose_version(con, family: str, version: str) -> None:
    """Make a kept version the family's challenger again (a training step re-used it)."""
    con.execute(sql("queries", "choose_version"), {"family": family, "version": version})


def version_by_fingerprint(con, family: str, fingerprint: str) -> str | None:
    row = con.execute(sql("queries", "version_by_fingerprint"), {"family": family, "fingerprint": fingerprint}).fetchone()
    return row[0] if row else None


def versions(con, family: str) -> list[ModelVersion]:
    """The family's kept versions, newest first."""
    rows = con.execute(sql("queries", "versions"), {"family": family}).fetchall()
    return [ModelVersion(*r[:9], json.loads(r[9]), r[10]) for r in rows]


def find_version(con, family: str, version: str) -> ModelVersion:
    """A kept version of the family; a LookupError naming the kept ones when it is not kept."""
    kept = versions(con, family)
    for v in kept:
        if v.version == version:
            return v
    names = ", ".join(v.version for v in kept) or "none"
    raise LookupError(f"{family} has no kept version {version!r}; kept versions: {names}")


def challenger(con, family: str) -> str | None:
    row = con.execute(sql("queries", "challenger"), {"family": family}).fetchone()
    return row[0] if row else None


def decisions(con, family: str, limit: int = 1000) -> list[Decision]:
    """The family's promotion decisions, newest first."""
    rows = con.execute(sql("queries", "decisions"), {"family": family, "limit": limit}).fetchall()
    return [Decision(family=r[0], decided_at=r[1], run_id=r[2], challenger=r[3], previous=r[4], champion=r[5],
                     decision=r[6], reason=r[7], best=r[8]) for r in rows]


def champion(con, family: str) -> str | None:
    """The version serving now: that of the family's newest decision; None before the first, or when the
    first versions were withheld."""
    newest = decisions(con, family, limit=1)
    return newest[0].champion if newest else None


def best_version(con, family: str) -> str | None:
    """The best version that ever served, from which the gate bounds drift: the newest decision's (homes
    from before it kept one: the champion)."""
    newest = decisions(con, family, limit=1)
    return (newest[0].best or newest[0].champion) if newest else None


def record_decision(con, decision: Decision) -> None:
    con.execute(sql("queries", "insert_decision"), {
        "family": decision.family, "run_id": decision.run_id, "challenger": decision.challenger,
        "previous": decision.previous, "champion": decision.champion, "decision": decision.decision,
        "reason": decision.reason, "best": decision.best})


def retired_versions(con, family: str, keep_last: int) -> list[ModelVersion]:
    """Versions the retention policy lets go: all but the newest `keep_last`, the challenger and every
    version that was ever champion."""
    protected = {r[0] for r in con.execute(sql("queries", "ever_champions"), {"family": family}).fetchall()}
    protected.add(challenger(con, family))
    return [v for v in versions(con, family)[keep_last:] if v.version not in protected]


def forget_version(con, family: str, version: str) -> None:
    con.execute(sql("queries", "delete_version"), {"family": family, "version": version})


def version_metrics(con, family: str, version: str) -> dict[str, tuple[float, float | None, float | None]]:
    """metric -> (value, ci_low, ci_high) of the newest evaluation that scored the version."""
    return {r[0]: tuple(r[1:]) for r in con.execute(sql("queries", "version_metrics"),
                                                    {"family": family, "version": version}).fetchall()}
