"""Models, checkpoints and reports in object storage: GENAI_HOME and GENAI_REPORTS_DIR as s3:// URLs, against
moto's S3 server, which the tests start on loopback; the DuckDB file stays local (GENAI_DUCKDB)."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch
from helpers import free_port, materialize, smoke_environment
from upath import UPath

from genai_platform.defs.resources import duckdb_from_env, resources_from_env
from genai_platform.families.registry import FAMILIES, families, load_family
from genai_platform.reporting.inputs import read_reported_families
from genai_platform.files import artifact_path, local_copy, remove_tree, save_atomic, write_atomic
from genai_platform.training.fit import MANIFEST_FILE, WEIGHTS_FILE, fit
from genai_platform.training.loop import TrainingConfig

BUCKET = "genai-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server on 127.0.0.1, with an empty bucket; yields its URL."""
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "moto's S3 server did not start"
            time.sleep(0.2)
    yield endpoint
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """The S3 settings a user sets (standard AWS variables); yields the bucket's URL, emptied after the test."""
    # a home in a bucket gets no generated watermark key: the user sets one
    for variable, value in {"AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "test",
                            "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                            "GENAI_WATERMARK_KEY": "the s3 test's watermark key"}.items():
        monkeypatch.setenv(variable, value)
    bucket = UPath(f"s3://{BUCKET}")
    if not bucket.exists():
        bucket.fs.mkdir(BUCKET)
    yield f"s3://{BUCKET}"
    remove_tree(bucket / "home")
    remove_tree(bucket / "reports")


def test_artifact_files_are_written_whole_read_back_and_removed_in_s3(s3, tmp_path):
    folder = artifact_path(f"{s3}/home/models/x")
    assert isinstance(folder, UPath) and not isinstance(folder, Path)
    write_atomic(folder / "a.json", json.dumps({"n": 1}))
    save_atomic(folder / "w.pt", lambda tmp: torch.save({"w": torch.arange(3)}, tmp))
    assert json.loads((folder / "a.json").read_text()) == {"n": 1}
    with local_copy(folder / "w.pt") as copy:
        assert isinstance(copy, Path) and torch.load(copy, weights_only=True)["w"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in folder.iterdir()) == ["a.json", "w.pt"]
    remove_tree(folder)
    assert not (folder / "a.json").exists()
    remove_tree(folder)  # a folder that is not there is no error
    assert artifact_path(str(tmp_path)) == tmp_path and artifact_path(f"file://{tmp_path}") == tmp_path


def test_a_home_in_s3_needs_a_local_duckdb_file(s3, tmp_path):
    with pytest.raises(ValueError, match="GENAI_HOME='s3://genai-test/home' is not a local folder.*GENAI_DUCKDB"):
        duckdb_from_env({"GENAI_HOME": f"{s3}/home"})
    with pytest.raises(ValueError, match="GENAI_DUCKDB='s3://genai-test/x.duckdb' is not a local file"):
        duckdb_from_env({"GENAI_HOME": f"{s3}/home", "GENAI_DUCKDB": f"{s3}/x.duckdb"})
    assert duckdb_from_env({"GENAI_HOME": f"{s3}/home", "GENAI_DUCKDB": str(tmp_path / "g.duckdb")}).database == \
        str(tmp_path / "g.duckdb")


def test_the_smoke_job_keeps_models_and_reports_in_s3_and_nothing_on_local_disk_but_duckdb(s3, tmp_path):
    env = {**smoke_environment(tmp_path), "GENAI_HOME": f"{s3}/home", "GENAI_REPORTS_DIR": f"{s3}/reports",
           "GENAI_DUCKDB": str(tmp_path / "tables" / "genai.duckdb")}
    started = time.perf_counter()
    result = materialize(resources_from_env(env))
    print(f"smoke job with GENAI_HOME and GENAI_REPORTS_DIR in S3: {time.perf_counter() - started:.1f} s")
    assert result.success
    home, reports = UPath(f"{s3}/home"), UPath(f"{s3}/reports")
    for family in families():
        (version,) = list((home / "models" / family.name / "versions").iterdir())
        assert {p.name for p in version.iterdir()} == {WEIGHTS_FILE, MANIFEST_FILE}
    assert not list((home / "checkpoints").glob("*.pt"))  # each removed once its training completed
    assert read_reported_families(reports / "report.json") == {f.name for f in families()}
    for page in ("index.html", "model_comparison.html", "ethics.html"):
        assert "</html>" in (reports / page).read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tables"]  # no local home or reports folder
    (vae,) = list((home / "models" / "vae" / "versions").iterdir())
    model, manifest = load_family(FAMILIES["vae"], vae, torch.device("cpu"))
    assert model.sample(4, torch.Generator().manual_seed(0)).shape == (4, *manifest["data"]["shape"].values())


def test_a_crashed_training_resumes_from_its_checkpoint_in_s3(s3, tmp_path):
    from helpers import Crash, crashing_at
    from test_training import _lstm_setup

    build, batches = _lstm_setup()
    config = TrainingConfig(steps=30, batch_size=8, learning_rate=1e-2, log_every=1000, checkpoint_every=10)
    reference, _ = fit(build, batches, config, torch.device("cpu"), tmp_path / "a.pt", "fp", lambda m: None)
    checkpoint = artifact_path(f"{s3}/home/checkpoints/lstm.pt")
    with pytest.raises(Crash):
        fit(build, crashing_at(batches, 25), config, torch.device("cpu"), checkpoint, "fp", lambda m: None)
    assert checkpoint.exists()
    resumed, result = fit(build, batches, config, torch.device("cpu"), checkpoint, "fp", lambda m: None)
    assert result.resumed_from_step == 20 and not checkpoint.exists()
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
