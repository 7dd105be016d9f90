"""The code location: every asset, check, job, schedule and resource of the platform.

Every setting is read from the environment here, once, when the code location loads; a bad
value stops it loading with an error naming the variable.
"""

import os
from collections.abc import Mapping

import dagster as dg

from genai_platform.defs.evaluation import evaluation_assets, image_feature_extractor
from genai_platform.defs.ingestion import ingestion_assets, new_data_sensor
from genai_platform.defs.runs import dead_runs, reaping_dead_runs
from genai_platform.defs.preprocessing import images, text_corpus
from genai_platform.defs.promotion import promotion_assets
from genai_platform.defs.reports import every_trained_family_reported, failed_runs_in_index, report_index, reports
from genai_platform.defs.selftest import self_test_assets
from genai_platform.defs.training import training_assets
from genai_platform.defs.resources import RunSettings, resources_from_env

SCHEDULE_ON_VALUES = ("on", "running", "1", "true", "yes")
SCHEDULE_OFF_VALUES = ("off", "stopped", "0", "false", "no")

nightly_retraining = dg.define_asset_job(
    "nightly_retraining",
    selection=dg.AssetSelection.all(),
    description="Ingest, preprocess, train every family (re-using unchanged ones), evaluate, decide each "
    "family's champion and write the reports.",
)


def nightly_schedule(env: Mapping[str, str]) -> dg.ScheduleDefinition:
    status = env.get("GENAI_NIGHTLY_SCHEDULE") or "on"
    if status.strip().lower() not in SCHEDULE_ON_VALUES + SCHEDULE_OFF_VALUES:
        raise ValueError(f"GENAI_NIGHTLY_SCHEDULE={status!r} is not one of {', '.join(SCHEDULE_ON_VALUES)} "
                         f"(on) or {', '.join(SCHEDULE_OFF_VALUES)} (off)")
    running = status.strip().lower() in SCHEDULE_ON_VALUES
    cron = env.get("GENAI_NIGHTLY_CRON") or "0 2 * * *"
    timezone = env.get("GENAI_NIGHTLY_TIMEZONE") or "UTC"
    try:
        return dg.ScheduleDefinition(
            name="nightly_retraining_schedule",
            job=nightly_retraining,
            cron_schedule=cron,
            execution_timezone=timezone,
            default_status=dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED,
        )
    except dg.DagsterInvalidDefinitionError as error:  # dagster names the schedule, not the variable
        raise ValueError(f"GENAI_NIGHTLY_CRON={cron!r} or GENAI_NIGHTLY_TIMEZONE={timezone!r}: {error}") from error


def build_definitions(env: Mapping[str, str]) -> dg.Definitions:
    return dg.Definitions(
        assets=[*ingestion_assets(env), images, text_corpus, *training_assets(), image_feature_extractor,
                *evaluation_assets(), *self_test_assets(), *promotion_assets(), reports, report_index],
        asset_checks=[every_trained_family_reported],
        jobs=[nightly_retraining],
        schedules=[nightly_schedule(env)],
        sensors=[failed_runs_in_index, new_data_sensor(env, nightly_retraining), dead_runs],
        resources=resources_from_env(env),
        # forkserver with the code location preloaded: a step starts in well under a second instead of
        # the seconds a fresh interpreter takes to import dagster and torch
        executor=reaping_dead_runs(dg.multiprocess_executor).configured({
            "max_concurrent": RunSettings.checked_from_env(env).parallel_steps,
            "start_method": {"forkserver": {"preload_modules": ["genai_platform.definitions"]}},
        }),
    )


defs = build_definitions(os.environ)
