"""Deciding a family's champion: the gate's decision on tonight's challenger (or a promotion or rollback by
hand), checked for damage, recorded, and the versions past retention removed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from genai_platform.families.registry import Family
from genai_platform.files import remove_tree
from genai_platform.records import Comparison, Decision, MetricRow, ModelVersion
from genai_platform.steps.stores import Artifacts, Log, Tables
from genai_platform.store.tables import drop_stale_samples, latest_metrics, read_comparisons
from genai_platform.store.versions import (best_version, challenger, champion, decisions, find_version, forget_version,
                                           record_decision, retired_versions, versions)
from genai_platform.training.fit import damage
from genai_platform.verdicts.gate import Gate, decide, forced, rolled_back
from genai_platform.verdicts.thresholds import Threshold


def evaluated(con, family: Family, version: str) -> tuple[list[MetricRow], list[Comparison], str]:
    """The challenger's rows and its comparisons with its earlier versions in the newest evaluation, which
    must have scored that version."""
    latest = [r for r in latest_metrics(con, family.modality.name) if r["subject"] == family.name]
    if not latest or latest[0]["model_version"] != version:
        scored = latest[0]["model_version"] if latest else None
        raise LookupError(f"the newest {family.modality.name} evaluation scored {family.name} version {scored}, not "
                          f"the challenger {version}: materialize {family.modality.name}_evaluation first")
    run_id = latest[0]["run_id"]
    rows = [MetricRow(r["subject"], r["metric"], r["value"], r["sample_count"], r["ci_low"], r["ci_high"], r["role"])
            for r in latest]
    comparisons = [c for c in read_comparisons(con, run_id, family.modality.name)
                   if c.subject == family.name and c.baseline == family.name]
    return rows, comparisons, run_id


def intact_serving(con, family: str, decision: Decision, version_dir) -> tuple[Decision, str | None]:
    """`decision`, or when the version it leaves serving is damaged (fit.damage: a weight file no longer has its
    recorded SHA-256), a fallback to the newest intact earlier champion (nothing serves when none is intact);
    with the damage found, if any. `version_dir(version)` is where a version is kept."""
    if decision.champion is None or not (problem := damage(version_dir(decision.champion))):
        return decision, None
    earlier = dict.fromkeys(d.champion for d in decisions(con, family) if d.champion not in (None, decision.champion))
    fallback = next((version for version in earlier if damage(version_dir(version)) is None), None)
    instead = (f"{fallback}, the newest intact earlier champion, serves in its place" if fallback else
               "no earlier champion is intact, so nothing serves")
    return Decision(family, decision.challenger, decision.previous, fallback, "fallback",
                    f"version {decision.champion} is damaged: {problem}; {instead} (the gate had said "
                    f"{decision.decision}: {decision.reason})",
                    best=fallback if decision.best == decision.champion else decision.best), problem


def decision_text(decision: Decision) -> str:
    serving = "nothing serves" if decision.champion is None else f"serving {decision.champion}"
    return f"genai-platform {decision.family}: {decision.decision}, {serving}. {decision.reason}"


@dataclass(frozen=True)
class PromotionOutcome:
    decision: Decision
    damaged: str | None  # the damage found in the version the gate left serving, if any
    kept: list[ModelVersion]  # the versions kept after retention
    challenger: str  # tonight's challenger


def decide_champion(family: Family, tables: Tables, artifacts: Artifacts, run_id: str, gate: Gate,
                    limits: dict[str, Threshold], keep_versions: int, force_promote: bool, rollback_to: str,
                    log: Log) -> PromotionOutcome:
    """Which version of `family` serves after run `run_id`: the gate's decision on the challenger (or a
    promotion or rollback by hand), a fallback when the version it leaves serving is damaged, recorded with
    the versions past `keep_versions` (and not ever champion) removed, rows first, folders after."""
    with tables.read_connection() as con:
        version, serving = challenger(con, family.name), champion(con, family.name)
        if version is None:
            raise LookupError(f"{family.name} has no trained version; materialize train_{family.name} first")
        if rollback_to:
            decision = rolled_back(family.name, find_version(con, family.name, rollback_to).version, serving,
                                   f"run {run_id}")
        elif force_promote:
            decision = forced(family.name, version, serving, f"run {run_id}")
        else:
            rows, comparisons, evaluation_run = evaluated(con, family, version)
            best = best_version(con, family.name)
            log.info(f"judging {family.name} challenger {version} against champion {serving} (best version that "
                     f"served: {best}) on the evaluation of run {evaluation_run}, margins {gate.describe()}")
            decision = decide(family.name, version, serving, best, rows, comparisons, gate, limits)
        decision, damaged = intact_serving(con, family.name, decision, lambda v: artifacts.version_dir(family.name, v))
    if damaged:
        log.error(f"{family.name}: {decision.reason}")
    with tables.transaction() as con:
        record_decision(con, replace(decision, run_id=run_id))
        retired = retired_versions(con, family.name, keep_versions)
        for old in retired:
            forget_version(con, family.name, old.version)
        drop_stale_samples(con, family.modality.name, family.name, family.modality.drop_sample_sets)
        kept = versions(con, family.name)
    for old in retired:  # after the commit: a crash here leaves a folder no row names, never a row without one
        remove_tree(artifacts.version_dir(family.name, old.version))
        log.info(f"retention: deleted {family.name} version {old.version}")
    return PromotionOutcome(decision, damaged, kept, version)
