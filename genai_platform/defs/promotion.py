"""Promotion assets: champion_<family> decides, after the evaluation, which model version serves.

The gate (verdicts.gate) promotes the challenger only when the 95% interval of its paired difference
with the champion, and with the best version that ever served, lies within the margin on every gate metric
and it has no failing finding; otherwise the champion stays (a first version with a failing finding is
withheld), and the check `challenger_promoted` warns. The launchpad's config can
force the challenger in, or roll back to any kept version. Versions past the retention policy are
deleted here, after the decision is committed; champions, ever, are kept.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from genai_platform.defs.database import PlatformDuckDB
from genai_platform.defs.datasets import FAMILY_TAG, dataset_stores, family_settings, not_trained_here, partitions_for
from genai_platform.defs.resources import Alerts, ArtifactStore, FindingThresholds
from genai_platform.defs.training import versions_table
from genai_platform.families.registry import Family, families
from genai_platform.records import KEEPING
from genai_platform.steps.promotion import decide_champion, decision_text
from genai_platform.verdicts.gate import DEFAULT_MARGINS, Gate

CHECK = "challenger_promoted"
INTACT_CHECK = "champion_intact"
DEFAULT_KEEP_VERSIONS = 5


class PromotionConfig(dg.Config):
    force_promote: bool = Field(default=False, description="Promote tonight's challenger whatever the gate says.")
    rollback_to: str = Field(default="", description="Make this kept version (a run id) the champion instead of "
                             "judging the challenger; see the versions table in train_<family>'s metadata.")
    gate_metrics: list[str] = Field(default_factory=list, description="Metrics on which the challenger must be "
                                    "shown no worse than the champion by more than the margin; empty: the family's "
                                    "default (images: fd_whitened, and for the vae its nll_bound too; text: "
                                    "bits_per_character, continuation_bleu).")
    gate_margins: dict[str, float] = Field(default_factory=dict, description="Per gate metric, the largest loss "
                                           "the gate accepts, as a fraction of the champion's value (0.05: 5%); "
                                           f"unset metrics take the defaults {DEFAULT_MARGINS}.")
    keep_versions: int = Field(default=DEFAULT_KEEP_VERSIONS, ge=1, description="Retention: the newest this many "
                               "versions are kept, and every version that was ever champion.")


def build_promotion_asset(family: Family, datasets_path: Path | None) -> dg.AssetsDefinition:
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
              "replace the champion, else the champion stays.",
              partitions_def=partitions_for(datasets_path))
    def promotion(context: dg.AssetExecutionContext, config: PromotionConfig, duckdb: PlatformDuckDB,
                  artifacts: ArtifactStore, findings: FindingThresholds, alerts: Alerts):
        if family_settings(context, datasets_path, family) is None:
            reason = not_trained_here(context, family.name)
            yield dg.MaterializeResult(metadata={"decision": "none", "reason": reason})
            for check in (INTACT_CHECK, CHECK):
                yield dg.AssetCheckResult(asset_key=name, check_name=check, passed=True, description=reason)
            return
        duckdb, artifacts = dataset_stores(context, duckdb, artifacts)
        gate = Gate.of(tuple(config.gate_metrics) or family.gate_metrics, config.gate_margins)
        outcome = decide_champion(family, duckdb, artifacts, context.run_id, gate, findings.limits(),
                                  config.keep_versions, config.force_promote, config.rollback_to, context.log)
        decision, damaged, kept, version = outcome.decision, outcome.damaged, outcome.kept, outcome.challenger
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


def promotion_assets(datasets_path: Path | None = None) -> list[dg.AssetsDefinition]:
    """champion_<family> for every registered family (`datasets_path`: the datasets file)."""
    return [build_promotion_asset(family, datasets_path) for family in families()]
