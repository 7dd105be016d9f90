"""The built wheel, installed non-editable in a fresh virtual environment, runs the nightly job on smoke data."""

import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from helpers import smoke_environment

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT = 900


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


@pytest.mark.slow
@pytest.mark.e2e
def test_wheel_installed_in_a_fresh_venv_runs_the_nightly_job(tmp_path):
    # Build from a copy so the checkout gets no build/ folder, and nothing stale in one reaches the wheel.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "genai_platform", source / "genai_platform",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "-w", tmp_path / "dist", source])
    (wheel,) = (tmp_path / "dist").glob("genai_platform-*.whl")

    # The wheel alone goes into the fresh venv; its dependencies come from this venv's site-packages,
    # appended by a plain .pth line (so that directory's own .pth files, the editable install's
    # finder among them, are not run).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel])
    site_packages = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    Path(site_packages, "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    env = {key: value for key, value in smoke_environment(tmp_path).items() if key != "PYTHONPATH"}
    imported = _run([python, "-c", "import genai_platform; print(genai_platform.__file__)"], cwd=tmp_path, env=env)
    assert Path(imported.stdout.strip()).is_relative_to(venv), imported.stdout

    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    started = time.monotonic()
    run = _run([python, "-m", "dagster", "job", "execute", "-m", "genai_platform.definitions",
                "-j", "nightly_retraining"], cwd=tmp_path, env={**env, "DAGSTER_HOME": str(dagster_home)},
               timeout=RUN_TIMEOUT)
    print(f"nightly_retraining on the smoke profile from the installed wheel: {time.monotonic() - started:.0f} s")
    assert "RUN_SUCCESS" in run.stdout + run.stderr

    reports = tmp_path / "reports"
    for name in ("model_comparison.html", "ethics.html", "index.html"):
        assert (reports / name).stat().st_size > 1000, name
    assert "FID" in (reports / "model_comparison.html").read_text("utf-8")
    assert "Datasheets" in (reports / "ethics.html").read_text("utf-8")
