"""Alerts (GENAI_ALERT_WEBHOOK): a failing finding and a failed run are posted as Slack-compatible JSON to
a webhook server this test starts on loopback; without a URL nothing is sent; a bad URL stops the code
location loading with the variable's name; an unreachable webhook does not fail the run."""

import json
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest
from helpers import materialize, smoke_environment

from genai_platform.defs.reports import failed_runs_in_index
from genai_platform.defs.resources import resources_from_env

REPORTS = ["model_comparison_report", "ethics_report"]
FAIL_EVERY_COPY_RATE = {"resources": {"findings": {"config": {"thresholds": {"copy_rate": [0.0, 0.0]}}}}}


@pytest.fixture
def webhook():
    """A loopback HTTP server that records every POSTed JSON body; yields (url, bodies)."""
    bodies = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            bodies.append((self.headers["Content-Type"], json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", bodies
    server.shutdown()
    server.server_close()


@pytest.fixture
def home_copy(smoke_run, tmp_path):
    for folder in ("home", "reports"):
        shutil.copytree(smoke_run.root / folder, tmp_path / folder)
    return tmp_path


def test_a_failing_finding_is_posted_and_nothing_is_sent_without_a_url(home_copy, webhook):
    url, bodies = webhook
    quiet = materialize(resources_from_env(smoke_environment(home_copy)), selection=REPORTS,
                        run_config=FAIL_EVERY_COPY_RATE)
    assert quiet.success and bodies == []  # no GENAI_ALERT_WEBHOOK: no message
    result = materialize(resources_from_env({**smoke_environment(home_copy), "GENAI_ALERT_WEBHOOK": url}),
                         selection=REPORTS, run_config=FAIL_EVERY_COPY_RATE)
    assert result.success
    ((content_type, body),) = bodies
    assert content_type == "application/json" and set(body) == {"text"}
    text = body["text"]
    assert f"run {result.run_id}: status FAIL" in text and "Copy rate: fail" in text
    assert "model_comparison.html" in text
    # the same verdict in Dagster: the findings check fails with ERROR severity, the table in its metadata
    (findings,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "findings_pass"]
    assert not findings.passed and findings.severity == dg.AssetCheckSeverity.ERROR
    assert "| fail |" in findings.metadata["findings"].value


def test_a_failed_run_is_posted_by_the_failure_sensor(home_copy, webhook):
    url, bodies = webhook
    resources = resources_from_env({**smoke_environment(home_copy), "GENAI_ALERT_WEBHOOK": url})
    config = {"ops": {"raw_images": {"config": {"source": str(home_copy / "missing.idx")}}}}
    result = materialize(resources, selection=["raw_images"], run_config=config, raise_on_error=False)
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name="failed_runs_in_index", dagster_event=result.get_run_failure_event(),
        dagster_instance=dg.DagsterInstance.ephemeral(), dagster_run=result.dagster_run,
        resources={"artifacts": resources["artifacts"], "alerts": resources["alerts"]}).for_run_failure()
    failed_runs_in_index(context)
    ((_, body),) = bodies
    assert f"run {result.run_id}" in body["text"] and "FAILED" in body["text"]


def test_a_bad_webhook_url_is_refused_and_an_unreachable_one_does_not_fail_the_run(home_copy, capfd):
    with pytest.raises(ValueError, match="GENAI_ALERT_WEBHOOK='ftp://example' .* an http:// or https:// URL"):
        resources_from_env({**smoke_environment(home_copy), "GENAI_ALERT_WEBHOOK": "ftp://example"})
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    result = materialize(resources_from_env({**smoke_environment(home_copy),
                                             "GENAI_ALERT_WEBHOOK": f"http://127.0.0.1:{closed}/hook"}),
                         selection=REPORTS, run_config=FAIL_EVERY_COPY_RATE)
    assert result.success
    assert "alert not delivered to GENAI_ALERT_WEBHOOK" in capfd.readouterr().err


def test_each_promotion_decision_is_posted(home_copy, webhook):
    url, bodies = webhook
    result = materialize(resources_from_env({**smoke_environment(home_copy), "GENAI_ALERT_WEBHOOK": url}),
                         selection=["champion_vae", "champion_lstm"])
    assert result.success
    texts = sorted(body["text"] for _, body in bodies)
    assert len(texts) == 2
    assert texts[0].startswith("genai-platform lstm: unchanged, serving ") and "nothing retrained" in texts[0]
    assert texts[1].startswith("genai-platform vae: unchanged, serving ")
