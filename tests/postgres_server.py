"""A real PostgreSQL server on loopback for the tests (Debian's postgresql package; README, Quick start line 2
installs it), and the README's dagster.yaml pointed at it."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from helpers import free_port

DATABASE = "dagster"


def _postgres_bin() -> Path:
    """The folder of initdb and pg_ctl: Debian keeps them off PATH, under /usr/lib/postgresql/<version>/bin."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists():
            return folder
    if found := shutil.which("pg_ctl"):
        return Path(found).parent
    pytest.fail("no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql package "
                "(README, Quick start line 2 does)")


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server on 127.0.0.1 with trust authentication; yields its port."""
    binaries = _postgres_bin()
    # postgres refuses to run as root; as root it runs as Debian's postgres user, in a folder that user owns
    as_server_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="genai-postgres-"))
    folder.chmod(0o755)
    if as_server_user:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()

    def server(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_server_user, *command], capture_output=True, text=True, timeout=120, check=True)

    server(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync")
    server(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-o",
           f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off", "start")
    try:
        server(str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", DATABASE)
        yield port
    finally:
        server(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def postgres_instance_yaml(port: int) -> str:
    """The README's dagster.yaml for PostgreSQL, pointed at the test's server."""
    return f"""storage:
  postgres:
    postgres_db:
      username: postgres
      password: ""
      hostname: 127.0.0.1
      db_name: {DATABASE}
      port: {port}
      # SQLAlchemy 2.1 reads a bare postgresql:// with psycopg 3; dagster-postgres installs psycopg2
      scheme: postgresql+psycopg2
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def psql(port: int, database: str, query: str) -> list[str]:
    """The whitespace-separated fields of `query`'s result, run by psql (unaligned, tuples only) on the server."""
    result = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database, "-tAc",
                             query], capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.split()
