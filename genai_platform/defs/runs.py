"""Runs whose worker process died without ending them (kill -9, the OOM killer, a power cut).

Such a run stays STARTED and keeps its duckdb_write pool slot, and every later run waits behind it
for ever. Two things mark it failed and free its slots: the `dead_runs` sensor (with the daemon,
as under `dagster dev`), and every run as it starts (its executor, below: `dagster job execute`
has no daemon). Both need to see the run worker's process, so they act only under the
DefaultRunLauncher (one machine); other launchers' run monitoring owns their run workers.
"""

from __future__ import annotations

import ctypes
import multiprocessing.forkserver
import os
import signal
import sys

import dagster as dg

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _killed_with_the_parent() -> None:
    """This process is SIGKILLed when its parent ends (Linux's parent-death signal)."""
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the signal was asked for
        os._exit(1)


def steps_die_with_their_run() -> None:
    """When imported into a run's forkserver (the executor preloads genai_platform.definitions there), the
    forkserver and every step process it forks are SIGKILLed when their parent ends: a step when the
    forkserver does, the forkserver when the run's process does. Dagster interrupts its steps on SIGTERM
    or SIGINT and waits a while, but a step inside a long C call (a DuckDB statement, a torch kernel)
    outlived the run, and a SIGKILLed run left its forkserver and steps running (each step holds the
    forkserver open). Killed, a step's transaction rolls back and its training resumes from the last
    checkpoint, as after any kill."""
    if sys.platform != "linux":
        return
    frame = sys._getframe()
    while frame is not None and frame.f_code is not multiprocessing.forkserver.main.__code__:
        frame = frame.f_back
    if frame is not None:
        _killed_with_the_parent()
        os.register_at_fork(after_in_child=_killed_with_the_parent)


def run_worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The process that started the run (its RUN_START event's pid)."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_START, limit=1).records
    return records[0].event_log_entry.dagster_event.pid if records else None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def free_slots_of_finished_runs(instance: dg.DagsterInstance, log) -> list[str]:
    """Free the pool slots still claimed (or queued for) by runs that have ended; their ids.

    Under `dagster dev` the code server sees its run worker die of SIGKILL and marks the run failed,
    but leaves the run's slots claimed, so every later run stays queued behind it."""
    storage = instance.event_log_storage
    freed: list[str] = []
    for pool in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(pool)
        for run_id in {s.run_id for s in info.claimed_slots} | {s.run_id for s in info.pending_steps}:
            run = instance.get_run_by_id(run_id)
            if run_id not in freed and (run is None or run.is_finished):
                log.warning(f"run {run_id} ended ({run.status.value if run else 'deleted'}) holding pool {pool}: "
                            "its slots are freed")
                storage.free_concurrency_slots_for_run(run_id)
                freed.append(run_id)
    return freed


def reap_dead_runs(instance: dg.DagsterInstance, log) -> list[str]:
    """Mark every STARTED run whose worker process is gone as failed and free its pool slots, and free the
    slots ended runs still hold; the ids of the runs acted on."""
    if not isinstance(instance.run_launcher, dg.DefaultRunLauncher):
        return []
    reaped = free_slots_of_finished_runs(instance, log)
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        pid = run_worker_pid(instance, run.run_id)
        if pid is None or process_alive(pid):
            continue
        message = (f"run worker (pid {pid}) is gone without ending the run (killed or crashed): marked failed and "
                   "its pool slots freed by the dead-run check")
        log.warning(f"run {run.run_id} of {run.job_name}: {message}")
        instance.report_run_failed(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


@dg.sensor(name="dead_runs", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Marks a run whose worker process died without ending it (kill -9, out of memory) as "
           "failed and frees its duckdb_write pool slot, so later nights do not wait behind it for ever "
           "(one machine, DefaultRunLauncher; needs the daemon, which dagster dev starts).")
def dead_runs(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    reaped = reap_dead_runs(context.instance, context.log)
    return dg.SkipReason(f"failed and freed {len(reaped)} dead run(s): {', '.join(reaped)}" if reaped
                         else "no dead run")


def reaping_dead_runs(executor: dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    """`executor`, first failing the dead runs that hold pool slots this run would wait for."""
    def create(context):
        reap_dead_runs(context.instance, dg.get_dagster_logger())
        return executor.executor_creation_fn(context)

    return dg.ExecutorDefinition(name=executor.name, config_schema=executor.config_schema,
                                 requirements=executor.get_requirements, executor_creation_fn=create,
                                 description=f"{executor.description or executor.name}; fails dead runs first")
