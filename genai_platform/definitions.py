"""The code location: every asset, check, job, schedule and resource of the platform."""

import os

import dagster as dg

from genai_platform.defs.evaluation import image_evaluation, image_feature_extractor, text_evaluation
from genai_platform.defs.ingestion import raw_images, raw_text
from genai_platform.defs.preprocessing import images, text_corpus
from genai_platform.defs.reports import every_trained_family_reported, failed_runs_in_index, report_index, reports
from genai_platform.defs.training import training_assets
from genai_platform.defs.resources import parallel_steps, resources_from_env

SCHEDULE_OFF_VALUES = {"off", "stopped", "0", "false", "no"}

nightly_retraining = dg.define_asset_job(
    "nightly_retraining",
    selection=dg.AssetSelection.all(),
    description="Ingest, preprocess, train every family, evaluate and write the reports.",
)


def nightly_schedule(env=os.environ) -> dg.ScheduleDefinition:
    running = env.get("GENAI_NIGHTLY_SCHEDULE", "on").strip().lower() not in SCHEDULE_OFF_VALUES
    return dg.ScheduleDefinition(
        name="nightly_retraining_schedule",
        job=nightly_retraining,
        cron_schedule=env.get("GENAI_NIGHTLY_CRON", "0 2 * * *"),
        execution_timezone=env.get("GENAI_NIGHTLY_TIMEZONE", "UTC"),
        default_status=dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED,
    )


defs = dg.Definitions(
    assets=[raw_images, raw_text, images, text_corpus, *training_assets,
            image_feature_extractor, image_evaluation, text_evaluation, reports, report_index],
    asset_checks=[every_trained_family_reported],
    jobs=[nightly_retraining],
    schedules=[nightly_schedule()],
    sensors=[failed_runs_in_index],
    resources=resources_from_env(),
    # forkserver with the code location preloaded: a step starts in well under a second instead of
    # the seconds a fresh interpreter takes to import dagster and torch
    executor=dg.multiprocess_executor.configured({
        "max_concurrent": parallel_steps(),
        "start_method": {"forkserver": {"preload_modules": ["genai_platform.definitions"]}},
    }),
)
