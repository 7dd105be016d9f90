"""The `genai-platform` command: the platform's work outside the Dagster UI.

    genai-platform versions FAMILY            the kept versions, which serves, their gate metrics
    genai-platform sample FAMILY [-n N]       N samples of the champion (or --version) as PNG grid or text
    genai-platform detect PATH... [--json]    whether files carry this deployment's watermark
    genai-platform promote FAMILY [--version] make the challenger (or a kept version) the champion
    genai-platform rollback FAMILY [--version] go back to the previous champion (or a kept version)
    genai-platform report                     re-render the reports from DuckDB (after a promote, say)
    genai-platform restore [--list]           put the newest (or --generation N) backup of DuckDB back

With a datasets file (GENAI_DATASETS), name the dataset first: genai-platform --dataset NAME versions gan.

It reads the same environment as the code location (GENAI_HOME, GENAI_REPORTS_DIR, GENAI_DEVICE...).
DuckDB allows one writing process: while a run writes, promote and rollback wait for it, then fail
with DuckDB's lock error after LOCK_WAIT_SECONDS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from duckdb import Error as DuckDBError
from duckdb import connect as duckdb_connect

from genai_platform.defs.database import PlatformDuckDB, is_lock_conflict
from genai_platform.defs.datasets import datasets_file, entry_families
from genai_platform.defs.resources import ArtifactStore, RunSettings, duckdb_from_env
from genai_platform.families.registry import FAMILIES, Family, family_named, load_family
from genai_platform.files import write_atomic
from genai_platform.marking.c2pa_signing import c2pa_signer_settings, sign_png
from genai_platform.marking.credentials import SampleCredentials
from genai_platform.marking.detect import ALPHA, DETECTABLE, detect
from genai_platform.steps.promotion import decision_text
from genai_platform.steps.reports import write_reports
from genai_platform.store.backup import BACKUP_FOLDER, backups, restore
from genai_platform.store.versions import (challenger, champion, decisions, find_version, record_decision,
                                           version_metrics, versions)
from genai_platform.verdicts.gate import forced, rolled_back
from genai_platform.verdicts.thresholds import thresholds

CLI_RUN = "cli"  # the run_id of a decision made on the command line


class UsageError(Exception):
    """A mistake in the command: printed without a traceback, exit status 2."""


def _family(name: str) -> Family:
    try:
        return family_named(name)
    except KeyError as error:
        raise UsageError(error.args[0]) from None


def _stores(args, env, must_exist: bool = True) -> tuple[ArtifactStore, PlatformDuckDB, RunSettings]:
    """The stores of the one-dataset layout, or of --dataset's namespace when GENAI_DATASETS is set."""
    artifacts, duckdb = ArtifactStore.checked_from_env(env), duckdb_from_env(env)
    if args.dataset is not None:  # for_dataset refuses a name that is not a dataset's (a path, say)
        artifacts, duckdb = artifacts.for_dataset(args.dataset), duckdb.for_dataset(args.dataset)
    elif env.get("GENAI_DATASETS"):
        raise UsageError(f"GENAI_DATASETS={env['GENAI_DATASETS']!r} is set: name the dataset with --dataset NAME")
    if must_exist and not duckdb.lake_catalog and not Path(duckdb.database).exists():
        setting = "GENAI_DUCKDB" if env.get("GENAI_DUCKDB") else "GENAI_HOME"
        raise UsageError(f"no platform database at {duckdb.database}: set {setting} to the platform's, or "
                         "materialize the nightly job first")
    return artifacts, duckdb, RunSettings.checked_from_env(env)


def _version_or(con, family: str, version: str | None, default: str | None, what: str) -> str:
    if version is not None:
        return find_version(con, family, version).version
    if default is None:
        raise UsageError(f"{family} has no {what}; name a kept version with --version "
                         f"(genai-platform versions {family})")
    return default


def cmd_versions(args, env) -> None:
    family = _family(args.family)
    _, duckdb, _ = _stores(args, env)
    with duckdb.read_connection() as con:
        kept, serving, newest = versions(con, family.name), champion(con, family.name), challenger(con, family.name)
        metrics = {v.version: version_metrics(con, family.name, v.version) for v in kept}
        last = decisions(con, family.name, limit=1)
    if not kept:
        print(f"{family.name} has no kept version yet")
        return
    gate = family.gate_metrics
    print(f"{'version':38} {'created (UTC)':17} {'data':12} {'code':12} {'role':21} " + " ".join(f"{m:>18}" for m in gate))
    for v in kept:
        role = ", ".join(r for r, version in (("champion", serving), ("challenger", newest)) if version == v.version)
        values = [f"{metrics[v.version][m][0]:>18.4g}" if m in metrics[v.version] else f"{'—':>18}" for m in gate]
        print(f"{v.version:38} {v.created_at:%Y-%m-%d %H:%M} {v.data_version[:12]:12} {v.code_version:12} {role:21} "
              + " ".join(values))
    if last:
        print(f"\nlast decision ({last[0].decided_at:%Y-%m-%d %H:%M}, {last[0].run_id}): {last[0].decision}. "
              f"{last[0].reason}")


def cmd_sample(args, env) -> None:
    family = _family(args.family)
    artifacts, duckdb, settings = _stores(args, env)
    if args.count < 1:
        raise UsageError(f"-n must be at least 1, got {args.count}")
    with duckdb.read_connection() as con:
        version = _version_or(con, family.name, args.version, champion(con, family.name), "champion")
    model, manifest = load_family(family, artifacts.version_dir(family.name, version), settings.setup_torch())
    suffix = family.modality.sample_suffix
    out = Path(args.out or f"{family.name}-{version[:8]}-samples{suffix}").expanduser().resolve()
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK):
        raise UsageError(f"--out {out}: the folder {out.parent} cannot be written")
    credentials = SampleCredentials.now(family.name, version, CLI_RUN, args.dataset)
    signer = c2pa_signer_settings(env)
    try:
        paths = family.modality.write_samples(model, manifest, args.count, args.seed, out,
                                              artifacts.watermark_key(env), credentials)
        if signer is not None:  # C2PA content credentials over the PNG, its text chunks kept
            for path in (p for p in paths if p.suffix.lower() == ".png"):
                write_atomic(path, sign_png(path.read_bytes(), credentials, *signer))
    except OSError as error:
        raise UsageError(f"--out {out}: cannot write it ({error.strerror or error})") from None
    print(f"wrote {args.count} samples of {family.name} version {version} (seed {args.seed}) to "
          f"{' and '.join(map(str, paths))}")


def cmd_detect(args, env) -> None:
    if not 0 < args.alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
    key = ArtifactStore.checked_from_env(env).watermark_key(env, create=False)
    detections = detect([Path(path).expanduser() for path in args.paths], key, args.alpha)
    if args.json:
        print(json.dumps([d.as_json() for d in detections]))
        return
    if not detections:
        raise UsageError(f"no sample files ({', '.join(DETECTABLE)}) under {', '.join(args.paths)}")
    for d in detections:
        verdict = "marked" if d.marked else "not marked"
        print(f"{d.path}: {verdict} (p = {d.p_value:.3g}; {d.items} {'item' if d.items == 1 else 'items'})")


def _decide(args, env, manual) -> None:
    family = _family(args.family)
    _, duckdb, _ = _stores(args, env)
    with duckdb.transaction() as con:
        serving = champion(con, family.name)
        if manual is rolled_back:  # the newest champion other than the serving one (kept decisions change none)
            default = next((d.champion for d in decisions(con, family.name) if d.champion not in (None, serving)),
                           None)
            version = _version_or(con, family.name, args.version, default, "previous champion")
        else:
            version = _version_or(con, family.name, args.version, challenger(con, family.name), "trained version")
        if version == serving:
            raise UsageError(f"{family.name} version {version} is already the champion")
        decision = manual(family.name, version, serving, "command line")
        record_decision(con, replace(decision, run_id=CLI_RUN))
    print(decision_text(decision))
    print("re-render the reports with: genai-platform report")


def cmd_promote(args, env) -> None:
    _decide(args, env, forced)


def cmd_rollback(args, env) -> None:
    _decide(args, env, rolled_back)


def cmd_report(args, env) -> None:
    artifacts, duckdb, settings = _stores(args, env)
    run_id = f"{CLI_RUN}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
    report, paths = write_reports(settings.run_info(run_id), duckdb, artifacts, thresholds({}), archive=False,
                                  families=entry_families(datasets_file(env), args.dataset))
    for path in paths.values():
        print(f"wrote {path}")
    print(f"status {report.status}: {report.counts.fail} failing, {report.counts.warn} warning findings, "
          f"{report.counts.regressions} regressions")


def cmd_restore(args, env) -> None:
    _, duckdb, _ = _stores(args, env, must_exist=False)
    if duckdb.lake_catalog:
        raise UsageError("the tables are in a DuckLake: restore its PostgreSQL catalog and Parquet folder instead")
    database = Path(duckdb.database)
    kept = backups(database)
    if not kept:
        raise UsageError(f"no backup of {database} in {database.parent / BACKUP_FOLDER}: a backup is kept after "
                         "every successful night")
    if args.list:
        for generation, path in enumerate(kept, start=1):
            print(f"{generation}  {path.name}  {path.stat().st_size:,} bytes")
        return
    if not 1 <= args.generation <= len(kept):
        raise UsageError(f"--generation {args.generation}: there are {len(kept)} backups (1 is the newest)")
    try:  # a night writing now holds the file's lock; a damaged file may not open at all, which is fine here
        if database.exists():
            duckdb_connect(str(database), read_only=True).close()
    except DuckDBError as error:
        if is_lock_conflict(error):
            raise UsageError(f"{database} is in use by a run; restore once it has ended ({error})") from None
    moved = restore(database, kept[args.generation - 1])
    print(f"restored {database} from {kept[args.generation - 1]}"
          + (f"; the file it replaced is kept as {moved}" if moved else ""))
    print("the nights after that backup are lost from the tables; the next night re-ingests and goes on")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="genai-platform", description=__doc__.split("\n\n")[0])
    top.add_argument("--dataset", help="with a datasets file (GENAI_DATASETS): the dataset whose models, versions "
                     "and reports to work on")
    commands = top.add_subparsers(dest="command", required=True)
    # the built-in names only: other packages' families load when a command needs a family, so that a broken
    # plugin fails that command with its name, never `restore` or --help
    names = f"a family: {', '.join(FAMILIES)}, or one another package adds"
    listing = commands.add_parser("versions", help="list a family's kept versions")
    listing.add_argument("family", help=names)
    listing.set_defaults(run=cmd_versions)
    sample = commands.add_parser("sample", help="write samples of the champion or a named version")
    sample.add_argument("family", help=names)
    sample.add_argument("--version", help="a kept version (run id); default: the champion")
    sample.add_argument("-n", "--count", type=int, default=64, help="how many samples (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    sample.add_argument("--out", help="output file; default <family>-<version>-samples.png (images) or .txt (text)")
    sample.set_defaults(run=cmd_sample)
    detecting = commands.add_parser("detect", help="say whether sample files (PNG, .npz, .txt, or folders of "
                                    "them) carry this deployment's watermark (GENAI_WATERMARK_KEY or the "
                                    "key in GENAI_HOME)")
    detecting.add_argument("paths", nargs="+", metavar="PATH", help="a file or a folder")
    detecting.add_argument("--json", action="store_true", help='print a JSON list of {"path", "marked", '
                           '"p_value"}')
    detecting.add_argument("--alpha", type=float, default=ALPHA, help=f"call a file marked below this p-value: "
                           f"the share of unmarked files called marked (default {ALPHA})")
    detecting.set_defaults(run=cmd_detect)
    for name, run, default in (("promote", cmd_promote, "the challenger"),
                               ("rollback", cmd_rollback, "the champion before the current one")):
        command = commands.add_parser(name, help=f"make {default} (or --version) the champion")
        command.add_argument("family", help=names)
        command.add_argument("--version", help=f"a kept version (run id); default: {default}")
        command.set_defaults(run=run)
    report = commands.add_parser("report", help="re-render the comparison and ethics reports from DuckDB")
    report.set_defaults(run=cmd_report)
    restoring = commands.add_parser("restore", help="put a backup of the DuckDB file in its place (the newest, "
                                    "or --generation N); the replaced file is kept beside it")
    restoring.add_argument("--list", action="store_true", help="list the backups, newest (1) first")
    restoring.add_argument("--generation", type=int, default=1, help="which backup: 1 is the newest (default)")
    restoring.set_defaults(run=cmd_restore)
    return top


def main(argv: Sequence[str] | None = None, env=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args, os.environ if env is None else env)
    except (UsageError, LookupError, ValueError) as error:
        print(f"genai-platform {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
