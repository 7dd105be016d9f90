"""Colour images through the whole image chain: the bundled photographs' 32x32 tiles (sklearn:photos) as a
dataset of the datasets file, ingested, split, scored by their own feature classifier, learned by every image
family, evaluated with every image metric, promoted and reported, on the smoke profile."""

import json

import dagster as dg
import duckdb
import pytest

from helpers import smoke_environment
from genai_platform.definitions import build_definitions
from genai_platform.families.registry import families
from genai_platform.metrics.catalog import UNSEEN_REAL

IMAGE_FAMILIES = {f.name for f in families("image")}


@pytest.mark.e2e
def test_colour_photographs_run_through_the_whole_image_chain(tmp_path):
    datasets = tmp_path / "datasets.yaml"
    datasets.write_text("datasets:\n  - {name: photos, modality: image, source: 'sklearn:photos'}\n")
    defs = build_definitions({**smoke_environment(tmp_path), "GENAI_DATASETS": str(datasets)})
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("datasets", ["photos"])
        result = defs.resolve_job_def("image_datasets").execute_in_process(instance=instance, partition_key="photos")
    assert result.success
    home, reports = tmp_path / "home" / "datasets" / "photos", tmp_path / "reports" / "datasets" / "photos"
    with duckdb.connect(str(home / "genai.duckdb"), read_only=True) as con:
        assert con.execute("SELECT row_count FROM datasets WHERE modality = 'image'").fetchone()[0] == 520
        trained = {r[0] for r in con.execute("SELECT family FROM model_versions").fetchall()}
        metrics = con.execute("SELECT subject, metric FROM metrics_history").fetchall()
    assert trained == IMAGE_FAMILIES
    scored = {}
    for subject, metric in metrics:
        scored.setdefault(metric, set()).add(subject)
    for metric in ("fid", "kid", "precision", "recall", "copy_rate"):
        assert IMAGE_FAMILIES | {UNSEEN_REAL} <= scored[metric], metric
    for family in IMAGE_FAMILIES:
        version = json.loads((home / "models" / family / "versions" / result.run_id / "manifest.json").read_text())
        assert version["data"]["shape"] == {"channels": 3, "height": 32, "width": 32}, family
    comparison = (reports / "model_comparison.html").read_text()
    ethics = (reports / "ethics.html").read_text()
    for family in families("image"):
        assert family.title in comparison and f"card-{family.name}" in ethics
    assert "sklearn:photos" in ethics and "CC BY 2.0" in ethics
