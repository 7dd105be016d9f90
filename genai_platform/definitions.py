"""The code location: every asset, check, job, schedule and resource of the platform.

Every setting is read from the environment here, once, when the code location loads; a bad
value stops it loading with an error naming the variable.
"""

import os
from collections.abc import Mapping

import dagster as dg

from genai_platform.defs.backup import backup_asset
from genai_platform.defs.datasets import FAMILY_TAG, datasets_file, new_data_sensor, nightly_requests
from genai_platform.defs.evaluation import evaluation_assets, feature_extractor_asset
from genai_platform.defs.ingestion import ingestion_assets
from genai_platform.defs.runs import dead_runs, reaping_dead_runs, steps_die_with_their_run
from genai_platform.defs.preprocessing import preprocessing_assets
from genai_platform.defs.promotion import promotion_assets
from genai_platform.defs.reports import failed_runs_in_index, report_assets, report_index_asset
from genai_platform.defs.selftest import self_test_assets
from genai_platform.defs.training import training_assets
from genai_platform.defs.resources import RunSettings, resources_from_env
from genai_platform.families.registry import families
from genai_platform.modalities import MODALITIES

EXECUTORS = ("multiprocess", "k8s")
SCHEDULE_ON_VALUES = ("on", "running", "1", "true", "yes")
SCHEDULE_OFF_VALUES = ("off", "stopped", "0", "false", "no")

nightly_retraining = dg.define_asset_job(
    "nightly_retraining",
    selection=dg.AssetSelection.all(),
    description="Ingest, preprocess, train every family (re-using unchanged ones), evaluate, decide each "
    "family's champion and write the reports.",
)


def nightly_schedule(env: Mapping[str, str], execution_fn=None) -> dg.ScheduleDefinition:
    """The nightly run; `execution_fn` (a datasets file's) requests a run per dataset instead of one."""
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
            execution_fn=execution_fn,
        )
    except dg.DagsterInvalidDefinitionError as error:  # dagster names the schedule, not the variable
        raise ValueError(f"GENAI_NIGHTLY_CRON={cron!r} or GENAI_NIGHTLY_TIMEZONE={timezone!r}: {error}") from error


def step_executor(env: Mapping[str, str]) -> dg.ExecutorDefinition:
    """GENAI_EXECUTOR: `multiprocess` runs a run's steps as processes beside it; `k8s` runs each step as a
    Kubernetes job (dagster-k8s), with Dagster's retries on, so a training step's RetryPolicy resumes it
    from its checkpoint, and GENAI_TRAINING_GPUS GPUs requested by every train_<family> step."""
    kind = (env.get("GENAI_EXECUTOR") or "multiprocess").strip().lower()
    gpus = (env.get("GENAI_TRAINING_GPUS") or "0").strip()
    if not gpus.isdigit():
        raise ValueError(f"GENAI_TRAINING_GPUS={gpus!r} is not a whole number >= 0")
    parallel_steps = RunSettings.checked_from_env(env).parallel_steps
    if kind == "multiprocess":
        # forkserver with the code location preloaded: a step starts in well under a second instead of
        # the seconds a fresh interpreter takes to import dagster and torch
        return reaping_dead_runs(dg.multiprocess_executor).configured({
            "max_concurrent": parallel_steps,
            "start_method": {"forkserver": {"preload_modules": ["genai_platform.definitions"]}},
        })
    if kind != "k8s":
        raise ValueError(f"GENAI_EXECUTOR={kind!r} is not one of {', '.join(EXECUTORS)}")
    try:
        from dagster_k8s import k8s_job_executor
    except ImportError:
        raise ValueError("GENAI_EXECUTOR=k8s needs dagster-k8s: pip install 'genai-platform[k8s]'") from None
    gpu_request = {"container_config": {"resources": {"limits": {"nvidia.com/gpu": int(gpus)}}}}
    return k8s_job_executor.configured({
        "max_concurrent": parallel_steps,
        "retries": {"enabled": {}},
        "per_step_k8s_config": {f"train_{family.name}": gpu_request for family in families()} if int(gpus) else {},
    })


def build_definitions(env: Mapping[str, str]) -> dg.Definitions:
    """With GENAI_DATASETS, every asset declares the dataset partitions (defs/datasets.py); a run of a dataset
    selects its modality's assets, which the job <modality>_datasets also does."""
    datasets_path = datasets_file(env)
    reports, every_trained_family_reported = report_assets(datasets_path)
    assets = [*ingestion_assets(env, datasets_path), *preprocessing_assets(datasets_path),
              *training_assets(datasets_path), feature_extractor_asset(datasets_path),
              *evaluation_assets(datasets_path), *self_test_assets(datasets_path), *promotion_assets(datasets_path),
              reports, report_index_asset(datasets_path), backup_asset(datasets_path)]
    jobs, schedule, sensor = [nightly_retraining], nightly_schedule(env), new_data_sensor(nightly_retraining, env, None)
    if datasets_path is not None:
        chains = {name: dg.AssetSelection.assets(m.raw_asset).downstream() for name, m in MODALITIES.items()}
        jobs += [dg.define_asset_job(f"{modality}_datasets", selection=chain, description=(
                     f"Ingest, train, evaluate, promote and report one {modality} dataset of {datasets_path}: "
                     "pick its partition.")) for modality, chain in chains.items()]
        keys = {modality: sorted(chain.resolve(assets)) for modality, chain in chains.items()}
        family_of = {spec.key: spec.tags[FAMILY_TAG] for a in assets for spec in a.specs if FAMILY_TAG in spec.tags}
        schedule = nightly_schedule(env, nightly_requests(datasets_path, keys, family_of))
        sensor = new_data_sensor(nightly_retraining, env, datasets_path, keys, family_of)
    return dg.Definitions(
        assets=assets,
        asset_checks=[every_trained_family_reported],
        jobs=jobs,
        schedules=[schedule],
        sensors=[failed_runs_in_index, sensor, dead_runs],
        resources=resources_from_env(env),
        executor=step_executor(env),
    )


steps_die_with_their_run()
defs = build_definitions(os.environ)
