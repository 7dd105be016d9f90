"""The reports in a real headless Chromium (Debian's chromium, driven by Playwright) from file://,
after hostile strings went into the dataset name (config), generated samples and history.

Screenshots land in $GENAI_SCREENSHOT_DIR when it is set (else in the test's temporary folder).
"""

import json
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from playwright.sync_api import sync_playwright

from helpers import materialize, smoke_environment
from genai_platform.families.registry import families
from genai_platform.defs.resources import resources_from_env
from genai_platform.store.tables import store_text_samples

HOSTILE = """<script>window.__pwned = 1</script><img src="https://example.invalid/x.png" onerror="window.__pwned = 2"> "quoted" & 'single'"""
ESCAPED = "&lt;script&gt;window.__pwned = 1&lt;/script&gt;"
pytestmark = pytest.mark.e2e  # every test here works on the whole smoke run

CHROMIUM = os.environ.get("GENAI_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network: without the background-networking ones Chromium keeps trying Google hosts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
REPORTS = ("model_comparison", "ethics", "index")


@pytest.fixture(scope="module")
def hostile_reports(smoke_run, tmp_path_factory) -> Path:
    """A copy of the smoke run with hostile strings and an earlier, better history, reports re-rendered."""
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(smoke_run.root / "home", root / "home")
    shutil.copytree(smoke_run.root / "reports", root / "reports")
    con = duckdb.connect(str(root / "home" / "genai.duckdb"))
    source = f"texts {HOSTILE}.txt"
    con.execute("UPDATE datasets SET source = ? WHERE modality = 'text'", [source])
    con.execute("UPDATE metrics_history SET dataset = ? WHERE modality = 'text'", [source])
    (lstm,) = con.execute("SELECT version FROM model_versions WHERE family = 'lstm'").fetchone()
    store_text_samples(con, "lstm", "hostile", lstm, "hostile", [
        {"kind": "free", "prompt": "", "reference": "", "text": HOSTILE},
        {"kind": "continuation", "prompt": HOSTILE, "reference": HOSTILE, "text": HOSTILE}])
    # three earlier runs where the vae's FID was half the low end of this run's interval, and this run's
    # samples worse than the last one's beyond the paired difference's interval: a regression
    run_id, dataset, version, code, ci_low = con.execute(
        "SELECT run_id, dataset, data_version, code_version, ci_low FROM metrics_history "
        "WHERE modality = 'image' AND subject = 'vae' AND metric = 'fid'").fetchone()
    assert ci_low > 0
    for day in (1, 2, 3):
        con.execute("INSERT INTO metrics_history (run_id, recorded_at, modality, dataset, subject, role, metric, value, "
                    "sample_count, data_version, code_version) VALUES (?, TIMESTAMP '2026-01-01' + ?::INTEGER * "
                    "INTERVAL 1 DAY, 'image', ?, 'vae', 'model', 'fid', ?, 50, ?, ?)",
                    [f"earlier-{day}", day, dataset, ci_low / 2, version, code])
    con.execute("INSERT INTO metric_comparisons VALUES (?, now()::TIMESTAMP, 'image', 'vae', 'vae', 'earlier-3', "
                "'fid', ?, 50, ?, ?, NULL)", [run_id, ci_low / 2, ci_low / 4, ci_low])
    con.close()
    config = {"resources": {"findings": {"config": {"thresholds": {"copy_rate": [0.0, 1.0]}}}}}
    result = materialize(resources_from_env(smoke_environment(root)), run_config=config,
                         selection=["model_comparison_report", "ethics_report", "report_index"])
    assert result.success
    # the regression is a WARN check in Dagster too, naming the model and the change
    (regressions,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "no_regressions"]
    assert not regressions.passed and regressions.severity == dg.AssetCheckSeverity.WARN
    assert "| vae | FID |" in regressions.metadata["regressions"].value
    return root / "reports"


def test_hostile_strings_are_escaped_in_every_report(hostile_reports):
    for name in REPORTS:
        html = (hostile_reports / f"{name}.html").read_text("utf-8")
        assert "<script>window.__pwned" not in html and 'onerror="window' not in html, name
    for name in ("model_comparison", "ethics"):
        html = (hostile_reports / f"{name}.html").read_text("utf-8")
        assert ESCAPED in html and "&#34;quoted&#34; &amp; &#39;single&#39;" in html, name


def _open(browser, path: Path, shots: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems, requests = [], []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(shots / f"{path.stem}.png"), full_page=True)
    assert problems == [], f"{path.name}: console errors {problems}"
    outside = [url for url in requests if url != path.as_uri() and not url.startswith("data:")]
    assert outside == [], f"{path.name} made requests: {outside}"
    assert page.evaluate("window.__pwned") is None, f"{path.name} ran injected script"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280, f"{path.name} is wider than the window"
    images = page.locator("img")
    for i in range(images.count()):
        image = images.nth(i)
        assert image.get_attribute("alt"), f"{path.name}: image {i} has no alt text"
        assert image.evaluate("i => i.complete && i.naturalWidth > 0"), f"{path.name}: image {i} did not render"
    return page


@pytest.mark.browser
def test_reports_render_in_chromium_from_file_urls(hostile_reports, tmp_path):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    shots = Path(os.environ.get("GENAI_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in families()]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = _open(browser, hostile_reports / "model_comparison.html", shots)
            assert sorted(page.locator("table.leaderboard tr[data-family]").evaluate_all(
                "rows => rows.map(r => r.dataset.family)")) == sorted(names)
            assert page.locator("table.leaderboard caption").first.inner_text().startswith("Families ranked by mean win rate")
            assert page.locator("td.regressed").count() >= 1  # the vae's FID against its better history
            assert page.locator("[data-status]").first.get_attribute("data-status") in ("warn", "fail")
            assert page.locator("svg.spark").count() >= len(names)
            assert page.locator("table.cost tbody tr").count() == len(names)
            assert "Run manifest" in page.inner_text("body") and "Seed" in page.inner_text("body")
            page.emulate_media(media="print")
            assert not page.locator("nav").is_visible()  # the print stylesheet hides navigation

            page = _open(browser, hostile_reports / "ethics.html", shots)
            assert page.locator("article.card h4", has_text="Ethical considerations").count() == len(names)
            assert page.locator("article.card dt", has_text="Maintenance").count() == 2  # one datasheet per dataset
            copies = page.locator('table.findings tr[data-metric="copy_rate"]')  # 0 against the configured warn at 0
            assert copies.evaluate_all("rows => rows.map(r => r.dataset.status)") == ["warn"] * len(families("image"))

            page = _open(browser, hostile_reports / "index.html", shots)
            assert page.locator("tr[data-run]").count() >= 2
            assert page.locator("table.trends svg.spark").count() >= 1
        finally:
            browser.close()


def test_check_fails_when_a_trained_family_was_not_evaluated(smoke_run, tmp_path):
    """gan trained but its numbers missing from the evaluation: its leaderboard row is all dashes, and the
    check (which reads report.json) fails naming it, while the reports still render."""
    shutil.copytree(smoke_run.root / "home", tmp_path / "home")
    shutil.copytree(smoke_run.root / "reports", tmp_path / "reports")
    con = duckdb.connect(str(tmp_path / "home" / "genai.duckdb"))
    con.execute("DELETE FROM metrics_history WHERE subject = 'gan'")
    con.close()
    result = materialize(resources_from_env(smoke_environment(tmp_path)), raise_on_error=False,
                         selection=["model_comparison_report", "ethics_report", "report_index"])
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "every_trained_family_reported")
    assert not check.passed and check.metadata["missing"].value == "gan"
    assert check.metadata["path"].value == str(tmp_path / "reports" / "report.json")
    data = json.loads((tmp_path / "reports" / "report.json").read_text("utf-8"))
    gan_row = next(r for m in data["modalities"] for r in m["leaderboard"]["rows"] if r["subject"] == "gan")
    assert all(cell is None for cell in gan_row["cells"].values())
