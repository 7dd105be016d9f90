"""The new_data sensor: its first look records the sources' content hashes; a changed file or folder
(an edited, added or removed file) requests one nightly run, keyed by the new hash; an unchanged source
or only the bundled datasets request nothing."""

import dagster as dg

from genai_platform.defs.datasets import new_data_sensor
from genai_platform.definitions import defs, nightly_retraining


def test_the_code_location_has_the_sensor_on_the_nightly_job():
    sensor = next(s for s in defs.sensors if s.name == "new_data")
    assert sensor.job_name == "nightly_retraining" and sensor.default_status == dg.DefaultSensorStatus.RUNNING


def _tick(sensor, cursor):
    data = sensor.evaluate_tick(dg.build_sensor_context(cursor=cursor))
    return data.run_requests or [], data.cursor, data.skip_message


def test_a_changed_source_file_or_folder_requests_one_run(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("First document.\n\nSecond document.\n")
    images = tmp_path / "images"
    (images / "cat").mkdir(parents=True)
    (images / "cat" / "a.png").write_bytes(b"not really a png")
    env = {"GENAI_TEXT_SOURCE": str(text), "GENAI_IMAGE_SOURCE": str(images)}
    sensor = new_data_sensor(nightly_retraining, env, None)

    requests, cursor, skipped = _tick(sensor, None)
    assert requests == [] and "first look at GENAI_IMAGE_SOURCE, GENAI_TEXT_SOURCE" in skipped
    requests, cursor, skipped = _tick(sensor, cursor)
    assert requests == [] and skipped == "no source changed"

    text.write_text("First document.\n\nSecond document, edited.\n")
    (requests,), cursor, _ = _tick(sensor, cursor)
    assert requests.run_key.startswith("GENAI_TEXT_SOURCE:") and requests.tags["genai/trigger"] == "new_data"
    assert _tick(sensor, cursor)[0] == []  # seen now: no second run for the same content

    (images / "dog").mkdir()
    (images / "dog" / "b.png").write_bytes(b"another image")
    (requests,), cursor, _ = _tick(sensor, cursor)
    assert requests.run_key.startswith("GENAI_IMAGE_SOURCE:")
    (images / "cat" / "a.png").rename(images / "cat" / "c.png")  # a rename changes the folder's hash too
    assert len(_tick(sensor, cursor)[0]) == 1


def test_bundled_data_is_not_watched_and_a_missing_source_is_named(tmp_path):
    bundled = new_data_sensor(nightly_retraining, {}, None)
    assert _tick(bundled, None)[2] == "only the bundled datasets are configured; nothing to watch"
    gone = new_data_sensor(nightly_retraining, {"GENAI_TEXT_SOURCE": str(tmp_path / "gone.txt")}, None)
    requests, _, skipped = _tick(gone, None)
    assert requests == [] and f"GENAI_TEXT_SOURCE={tmp_path / 'gone.txt'} does not exist" in skipped


def test_sources_that_change_together_request_one_run(tmp_path):
    text, images = tmp_path / "notes.txt", tmp_path / "digits.npz"
    text.write_text("First document.\n")
    images.write_bytes(b"first")
    sensor = new_data_sensor(nightly_retraining, {"GENAI_TEXT_SOURCE": str(text), "GENAI_IMAGE_SOURCE": str(images)},
                             None)
    _, cursor, _ = _tick(sensor, None)
    text.write_text("Second document.\n")
    images.write_bytes(b"second")
    (request,), _, _ = _tick(sensor, cursor)  # one run of the whole job, keyed by both sources
    assert request.run_key.startswith("GENAI_IMAGE_SOURCE:") and "+GENAI_TEXT_SOURCE:" in request.run_key
