"""Promotion assets: champion_<family> decides, after the evaluation, which model version serves.

The gate (verdicts.gate) promotes the challenger only when the 95% interval of its paired difference
with the champion, and with the best version that ever served, lies within the margin on every gate metric
and it has no failing finding; otherwise the champion stays (a first version with a failing finding is
withheld), and the check `challenger_promoted` warns. The launchpad's config can
force the challenger in, or roll back to any kept version. Versions past the retention policy are
deleted here, after the decision is committed; champions, ever, are kept.
"""

from dataclasses import replace

from pathlib import Path

import dagster as dg
from pydantic import Field

from genai_platform.defs.datasets import FAMILY_TAG, dataset_stores, family_settings, not_trained_here
from genai_platform.defs.database import PlatformDuckDB
from genai_platform.defs.resources import Alerts, ArtifactStore, FindingThresholds
from genai_platform.defs.training import versions_table
from genai_platform.files import remove_tree
from genai_platform.verdicts.gate import DEFAULT_MARGINS, Gate, decide, forced, rolled_back
from genai_platform.families.registry import Family, families
from genai_platform.records import KEEPING, Comparison, Decision, MetricRow
from genai_platform.store.tables import drop_stale_samples, latest_metrics, read_comparisons
from genai_platform.store.versions import (best_version, challenger, champion, decisions, find_version,
                                           forget_version, record_decision, retired_versions, versions)
from genai_platform.training.fit import damage

CHECK = "challenger_promoted"
INTACT_CHECK = "champion_intact"
DEFAULT_KEEP_VERSIONS = 5


class PromotionConfig(dg.Config):
    force_promote: bool = Field(default=False, description="Promote tonight's challenger whatever the gate says.")
    rollback_to: str = Field(default="", description="Make this kept version (a run id) the champion instead of "
                             "judging the challenger; see the versions table in train_<family>'s metadata.")
    gate_metrics: list[str] = Field(default_factory=list, description="Metrics on which the challenger must be "
                                    "shown no worse than the champion by more than the margin; empty: the modality's "
                                    "default (images: fd_whitened; text: bits_per_character, continuation_bleu).")
    gate_margins: dict[str, float] = Field(default_factory=dict, description="Per gate metric, the largest loss "
                                           "the gate accepts, as a fraction of the champion's value (0.05: 5%); "
                                           f"unset metrics take the defaults {DEFAULT_MARGINS}.")
    keep_versions: int = Field(default=DEFAULT_KEEP_VERSIONS, ge=1, description="Retention: the newest this many "
                               "versions are kept, and every version that was ever champion.")


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


def build_promotion_asset(family: Family, catalog: Path | None) -> dg.AssetsDefinition:
    name = f"champion_{family.name}"

    # not in the duckdb_write pool: its one write is a short transaction, which waits for DuckDB's file lock
    @dg.asset(name=name, group_name="promotion", deps=[f"{family.modality.name}_evaluation"], kinds={"duckdb"},
              tags={FAMILY_TAG: family.name},
              check_specs=[dg.AssetCheckSpec(CHECK, asset=name, description=(
                  "The challenger was promoted (or nothing changed); WARN when the champion was kept, with the "
                  "reason in the metadata.")),
                  dg.AssetCheckSpec(INTACT_CHECK, asset=name, description=(
                      "The version left serving has the SHA-256 its manifest recorded; ERROR when it is damaged "
                      "(the newest intact earlier champion then serves)."))],
              description=f"Which version of {family.title} serves: tonight's challenger if the gate lets it "
              "replace the champion, else the champion stays.")
    def promotion(context: dg.AssetExecutionContext, config: PromotionConfig, duckdb: PlatformDuckDB,
                  artifacts: ArtifactStore, findings: FindingThresholds, alerts: Alerts):
        if family_settings(context, catalog, family) is None:
            reason = not_trained_here(context, family.name)
            yield dg.MaterializeResult(metadata={"decision": "none", "reason": reason})
            for check in (INTACT_CHECK, CHECK):
                yield dg.AssetCheckResult(asset_key=name, check_name=check, passed=True, description=reason)
            return
        duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
        gate = Gate.of(tuple(config.gate_metrics) or family.modality.gate_metrics, config.gate_margins)
        with duckdb.read_connection() as con:
            version, serving = challenger(con, family.name), champion(con, family.name)
            if version is None:
                raise LookupError(f"{family.name} has no trained version; materialize train_{family.name} first")
            if config.rollback_to:
                decision = rolled_back(family.name, find_version(con, family.name, config.rollback_to).version,
                                       serving, f"run {context.run_id}")
            elif config.force_promote:
                decision = forced(family.name, version, serving, f"run {context.run_id}")
            else:
                rows, comparisons, evaluation_run = evaluated(con, family, version)
                best = best_version(con, family.name)
                context.log.info(f"judging {family.name} challenger {version} against champion {serving} (best "
                                 f"version that served: {best}) on the evaluation of run {evaluation_run}, "
                                 f"margins {gate.describe()}")
                decision = decide(family.name, version, serving, best, rows, comparisons, gate, findings.limits())
            decision, damaged = intact_serving(con, family.name, decision,
                                               lambda v: artifacts.version_dir(family.name, v))
        if damaged:
            context.log.error(f"{family.name}: {decision.reason}")
        with duckdb.transaction() as con:
            record_decision(con, replace(decision, run_id=context.run_id))
            retired = retired_versions(con, family.name, config.keep_versions)
            for old in retired:
                forget_version(con, family.name, old.version)
            drop_stale_samples(con, family.modality.name, family.name)
            kept = versions(con, family.name)
        for old in retired:  # after the commit: a crash here leaves a folder no row names, never a row without one
            remove_tree(artifacts.version_dir(family.name, old.version))
            context.log.info(f"retention: deleted {family.name} version {old.version}")
        context.log.info(decision_text(decision))
        alerts.send(decision_text(decision), context.log)
        serving = decision.champion or f"none, {decision.challenger} withheld"
        yield dg.MaterializeResult(data_version=dg.DataVersion(serving), metadata={
            "champion": decision.champion or "", "challenger": decision.challenger or "", "decision": decision.decision,
            "best": decision.best or "",
            "reason": decision.reason, "versions": versions_table(kept, decision.champion, version)})
        yield dg.AssetCheckResult(
            asset_key=name, check_name=INTACT_CHECK, passed=damaged is None, severity=dg.AssetCheckSeverity.ERROR,
            description=damaged or "the serving version's files have their recorded checksums",
            metadata={"champion": decision.champion or "", "damage": damaged or ""})
        yield dg.AssetCheckResult(
            asset_key=name, check_name=CHECK, passed=decision.decision not in KEEPING,
            severity=dg.AssetCheckSeverity.WARN, description=decision.reason,
            metadata={"champion": decision.champion or "", "challenger": decision.challenger or "",
                      "decision": decision.decision})

    return promotion


def promotion_assets(catalog: Path | None = None) -> list[dg.AssetsDefinition]:
    """champion_<family> for every registered family (`catalog`: the datasets file)."""
    return [build_promotion_asset(family, catalog) for family in families()]
