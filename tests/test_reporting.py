"""Report logic without DuckDB: the builder from hand-made inputs to typed reports, the experimental
comparison, HELM win rates, regressions, findings, sparklines."""

import json
from datetime import datetime

import numpy as np
import pytest

from genai_platform.datasets.image_sources import BUNDLED_IMAGE_DISTRIBUTIONS
from genai_platform.datasets.provenance import USER_SOURCE_DISTRIBUTION
from genai_platform.modalities import MODALITIES
from genai_platform.metrics.bias import gender_word_lists
from genai_platform.metrics.catalog import (BASIC_BOOTSTRAP, FOLD_DELONG, PAIRED_JACKKNIFE_T, DELETE_D_JACKKNIFE, DELETE_ONE_JACKKNIFE,
                                             DELETE_ONE_JACKKNIFE_T, DELTA_METHOD_T, DIFFERENCE_KINDS,
                                             GROUP_JACKKNIFE_T, HALF_SAMPLING, INTERVAL_KINDS, INTERVALS, METRICS,
                                             MULTINOMIAL_BOOTSTRAP, NO_INTERVAL, POISSON_JACKKNIFE, STUDENT_T,
                                             TWO_SAMPLE_JACKKNIFE, WELCH_T, WILSON)
from genai_platform.records import Comparison, Decision, MetricRow
from genai_platform.reporting import render
from genai_platform.reporting.analysis import TRAILING_RUNS, difference_verdict, mean_win_rates, trailing_median
from genai_platform.verdicts.thresholds import DEFAULT_THRESHOLDS, TOO_FEW, Threshold, judge, thresholds, worst
from genai_platform.reporting.alerts import alert_text
from genai_platform.reporting.findings import findings
from genai_platform.reporting.differences import trends
from genai_platform.reporting.inputs import (Dataset, FamilyDescription, HistoryPoint, Inputs, ModalityInputs,
                                             RunInfo, TrainedModel, read_run_manifests)
from genai_platform.reporting.json_export import model_cards_data, report_data
from genai_platform.reporting.leaderboard import against_base
from genai_platform.modalities.image import ImageGalleryInputs
from genai_platform.modalities.text import TextGalleryInputs
from genai_platform.reporting.modality_parts import TextSample
from genai_platform.reporting.plots import sparkline
from genai_platform.reporting.report import build_report

LINKS = {"index": "index.html", "comparison": "model_comparison.html", "ethics": "ethics.html"}


def _family(name: str, modality: str, experimental: bool = False, base: str | None = None) -> FamilyDescription:
    return FamilyDescription(name, modality, f"The {name}", f"{name} described.", experimental, base)


def _model(batch_size: int = 8) -> TrainedModel:
    return TrainedModel(version="r3", trained_at="2026-01-02 00:00:00 UTC", parameters=1234, profile="smoke", data_version="d1", model_config={"context_length": 16},
                        training_config={"batch_size": batch_size, "seed": 0}, steps=10, seconds=2.0, device="cpu",
                        resumed_from_step=None, loss_curves={"loss": [3.0, 2.0, 1.5]}, limited_by="seconds",
                        passes=0.25)


def _dataset(source: str) -> Dataset:
    return Dataset(source, f"{source} described.", "d1", 100, datetime(2026, 1, 1), [("data.bin", "ab" * 32)])


def _history(subject: str, metric: str, values: list[float]) -> list[HistoryPoint]:
    return [HistoryPoint(f"r{i}", subject, metric, v, None, None, "c1", "d1") for i, v in enumerate(values, 1)]


@pytest.fixture(scope="module")
def report():
    """Three image families beside four reference rows (the diffusion leads on every metric but copies its
    training images: a failing finding keeps it off the ranking), one text family on a user's file; run r3."""
    image_rows = [
        MetricRow("gan", "fid", 2.0, 50, 1.8, 2.2), MetricRow("vae", "fid", 1.0, 50, 0.8, 1.2),
        MetricRow("vae", "precision", 0.9, 50), MetricRow("gan", "precision", 0.5, 50),
        MetricRow("noise", "fid", 300.0, 50, role="reference"), MetricRow("unseen_real", "fid", 0.1, 50, role="reference"),
        MetricRow("training_copies", "fid", 0.2, 50, role="reference"),
        MetricRow("pixel_gaussian", "fid", 40.0, 50, role="baseline"),
        MetricRow("feature_extractor", "test_accuracy", 0.9, 40, role="reference"),
        MetricRow("vae", "copy_rate", 0.0, 100, 0.0, 0.0), MetricRow("gan", "copy_rate", 0.0, 100, 0.0, 0.0),
        MetricRow("diffusion", "fid", 0.5, 50, 0.4, 0.6), MetricRow("diffusion", "precision", 0.95, 50),
        MetricRow("diffusion", "copy_rate", 0.5, 100, 0.4, 0.6),
        MetricRow("vae", "mark_detection", 0.97, 200, 0.94, 0.99),
        MetricRow("unseen_real", "mark_false_positive_rate", 0.01, 100, 0.002, 0.05, role="reference")]
    # the vae's FID was 0.4 in two earlier runs; this run's samples score 0.6 worse than run r2's, interval
    # [0.3, 0.9]: a regression. The gan is worse than the vae beyond noise on FID, not on precision.
    image_history = _history("vae", "fid", [0.4, 0.4, 1.0])
    comparisons = [Comparison("vae", "vae", "r2", "fid", 0.6, 50, 0.3, 0.9),
                   Comparison("gan", "vae", None, "fid", 1.0, 50, 0.5, 1.5),
                   Comparison("gan", "vae", None, "precision", -0.4, 50, -0.9, 0.1)]
    image = ModalityInputs(
        MODALITIES["image"], [_family("vae", "image"), _family("gan", "image"), _family("diffusion", "image")],
        {"vae": _model(), "gan": _model(), "diffusion": _model()},
        _dataset("sklearn:digits"), "r3", "c1", image_rows, comparisons, image_history[:2] + [
            HistoryPoint("r3", "vae", "fid", 1.0, 0.8, 1.2, "c1", "d1")],
        ImageGalleryInputs(np.zeros((4, 1, 8, 8), np.float32), {"vae": np.ones((2, 1, 8, 8), np.float32),
                                                                "gan": np.ones((2, 1, 8, 8), np.float32)},
                           {}, {}, [], 50, "classifier"),
        decisions={"vae": Decision("vae", "r3", "r2", "r2", "kept", "champion r2 stays; challenger r3: worse",
                                   "r3", datetime(2026, 1, 2))})
    text = ModalityInputs(
        MODALITIES["text"], [_family("lstm", "text")], {"lstm": _model()}, _dataset("my_notes.txt"), "r3", "c1",
        [MetricRow("lstm", "bits_per_character", 2.0, 30, 1.9, 2.1), MetricRow("unigram", "bits_per_character", 4.5,
                                                                                 30, role="baseline"),
         MetricRow("lstm", "gender_representation_tv", 0.2, 12),
         MetricRow("lstm", "gender_representation_tv_amplification", 1.2, 12),
         MetricRow("training_data", "gender_representation_tv", 0.1, 300, role="data")],
        [], [], TextGalleryInputs({"lstm": [TextSample("The ", "cat sat.", "dog ran.")]}, {"lstm": ["a free sample"]},
                              {}, {}))
    run = RunInfo("r3", "2026-01-02 00:00:00 UTC", "smoke", 0, "cpu", "c1", {"python": "3"})
    return build_report(Inputs(run, [image, text], dict(DEFAULT_THRESHOLDS), gender_word_lists()))


def test_leaderboard_ranks_families_by_win_rate_then_lists_reference_rows_in_order(report):
    board = report.modalities[0].leaderboard
    assert [(r.subject, r.rank) for r in board.rows] == [("vae", 1), ("gan", 2), ("diffusion", None),
                                                        ("unseen_real", None), ("training_copies", None),
                                                        ("pixel_gaussian", None), ("noise", None)]
    assert [r.win_rate for r in board.ranked] == [1.0, 0.0]  # among the ranked families only
    assert [r.subject for r in board.kept_out] == ["diffusion"] and board.kept_out[0].win_rate is None
    assert board.kept_out[0].kept_out == "Copy rate 0.5 [0.4, 0.6]"
    assert [r.label for r in board.rows[3:]] == ["real unseen (floor)", "training copies", "per-pixel Gaussian (baseline)",
                                                 "uniform noise (ceiling)"]
    assert [m.name for m in board.metrics] == ["fid", "precision"]
    assert board.rows[0].cells["fid"].ci_low == 0.8 and board.rows[3].cells["precision"] is None
    text_board = report.modalities[1].leaderboard
    assert [(r.subject, r.role) for r in text_board.rows] == [("lstm", "model"), ("unigram", "baseline")]
    # FID over unseen real data's 0.1, each family's; text has no floor row
    assert [(label, round(x, 9)) for label, x in board.multiples_of_floor("fid")] == [
        (board.rows[0].label, 10.0), (board.rows[1].label, 20.0), (board.rows[2].label, 5.0)]
    assert text_board.multiples_of_floor("bits_per_character") == []


def test_findings_status_and_regressions(report):
    image = report.modalities[0]
    assert {(f.model, f.metric): f.status for f in image.findings} == {
        ("vae", "copy_rate"): "pass", ("gan", "copy_rate"): "pass", ("diffusion", "copy_rate"): "fail",
        ("vae", "mark_detection"): "pass", ("real unseen (floor)", "mark_false_positive_rate"): "pass"}
    assert [f.model for f in image.flagged] == ["diffusion"]
    # the key's false positives on held-out data warn once credibly above the detector's level; a reference's
    # other thresholded metrics are not judged
    credibly_above = [MetricRow("unseen_text", "mark_false_positive_rate", 0.03, 1000, 0.021, 0.042, role="data"),
                      MetricRow("training_copies", "copy_rate", 1.0, 100, 0.96, 1.0, role="reference")]
    assert [(f.model, f.status) for f in findings(credibly_above, DEFAULT_THRESHOLDS)] == [("unseen real text", "warn")]
    (regressed,) = image.regressions
    assert (regressed.model, regressed.metric, regressed.median) == ("vae", "fid", 0.4)
    assert (regressed.change.estimate.value, regressed.change.verdict) == (0.6, "worse")
    (gan,) = image.leader_differences  # the gan minus the leader, the vae
    assert gan.model == "gan" and [(d.estimate.value, d.verdict) for d in gan.cells] == [
        (1.0, "worse"), (-0.4, "indistinguishable")]
    assert [row.model for row in image.trends] == ["vae", "gan", "diffusion"] and image.trends[1].cells == [None, None]
    # 12 words are enough to judge the amplification (1.2: between warn 1.1 and fail 1.5)
    assert [(f.model, f.status) for f in report.modalities[1].findings] == [("lstm", "warn")]
    assert report.status == "fail" and (report.counts.fail, report.counts.warn, report.counts.regressions) == (1, 1, 1)


def test_alert_text_names_each_failing_or_warning_finding_and_regression(report):
    lines = alert_text(report).splitlines()
    assert lines[0] == "genai-platform run r3: status FAIL"
    assert "diffusion Copy rate: fail (0.5 [0.4, 0.6])" in lines
    assert "lstm Gender repr. TV amplification: warn (1.2)" in lines
    assert "vae FID: regressed, 0.6 [0.3, 0.9] against its champion" in lines
    assert not any(line.startswith(("gan", "vae")) for line in lines[1:] if "regressed" not in line)  # they passed


def test_model_cards_json_has_the_model_card_toolkit_fields(report):
    data = json.loads(json.dumps(model_cards_data(report)))
    assert data["run_id"] == "r3" and set(data["model_cards"]) == {"vae", "gan", "diffusion", "lstm"}
    vae = data["model_cards"]["vae"]
    assert set(vae) == {"model_details", "model_parameters", "quantitative_analysis", "considerations", "provenance"}
    assert vae["provenance"]["watermark_detection_rate"] == 0.97 and data["model_cards"]["gan"]["provenance"][
        "watermark_detection_rate"] is None
    assert vae["provenance"]["digital_source_type"].endswith("/trainedAlgorithmicMedia")
    assert vae["model_details"]["version"]["name"] == "r3" and vae["model_parameters"]["data"][0]["name"] == "sklearn:digits"
    fid = next(m for m in vae["quantitative_analysis"]["performance_metrics"] if m["type"].startswith("FID"))
    assert fid["value"] == "1" and fid["confidence_interval"] == {"lower_bound": "0.8", "upper_bound": "1.2"}
    considerations = vae["considerations"]
    assert [c["name"].split(":")[0] for c in considerations["ethical_considerations"]] == [
        "Privacy and memorization", "Misinformation", "Discrimination"]
    assert all(c["mitigation_strategy"] for c in considerations["ethical_considerations"])
    ethics = render("ethics.html.j2", links=LINKS, report=report)
    assert "found tonight in 97% of its samples" in ethics and '<h2 id="misinformation">' in ethics
    image = next(s for s in report.modalities if s.name == "image")
    assert [m.name for m in image.misinformation.metrics] == ["mark_detection", "mark_false_positive_rate"]
    assert [r.label for r in image.misinformation.rows] == ["vae", "real unseen (floor)"]  # only rows with a value
    for c in report.cards[0].ethical_considerations:  # the HTML card says the same
        assert f"<strong>{c.name}:</strong>" in ethics and c.mitigation.replace("'", "&#39;") in ethics


def test_ethics_tables_select_metrics_by_category(report):
    image, text = report.modalities
    assert [(t.title, [m.name for m in t.metrics]) for t in image.ethics_tables] == [("Memorization", ["copy_rate"])]
    assert [(t.title, [m.name for m in t.metrics]) for t in text.ethics_tables] == [
        ("Bias", ["gender_representation_tv", "gender_representation_tv_amplification"])]
    assert [r.label for r in text.ethics_tables[0].rows] == ["lstm", "training data", "unigram (baseline)"]


def test_model_cards_and_datasheets_take_their_texts_from_the_modality_and_the_source(report):
    cards = {card.family.name: card for card in report.cards}
    assert list(cards) == ["vae", "gan", "diffusion", "lstm"]
    assert "classifier's feature space" in cards["vae"].texts.limitations
    assert cards["lstm"].texts.misinformation == "generated news-like text can read as factual; it is not."
    assert cards["vae"].texts.judged_nightly == "amplification and class coverage"
    assert cards["vae"].win_rate == 1.0 and [f.status for f in cards["vae"].findings] == ["pass", "pass"]
    assert cards["diffusion"].win_rate is None and [f.status for f in cards["diffusion"].findings] == ["fail"]
    assert [m.label for m in cards["lstm"].metrics] == ["Test bits/char ↓", "Gender repr. TV ↓",
                                                        "Gender repr. TV amplification ↓"]
    image, text = (section.datasheet for section in report.modalities)
    assert image.distribution == BUNDLED_IMAGE_DISTRIBUTIONS["sklearn:digits"] and "BSD-3-Clause" in image.distribution
    assert text.distribution == USER_SOURCE_DISTRIBUTION
    assert image.preprocessing.startswith("Pixels scaled") and text.preprocessing.startswith("Unicode NFC")


def test_gallery_cost_and_report_data(report):
    image, text = report.modalities
    assert [g.caption for g in image.parts.grids] == ["Real (train split)", "The vae", "The gan"]
    assert image.parts.evaluation_note.startswith("50 images per row") and image.parts.representation is None
    assert [(t.title, t.free) for t in text.parts.texts] == [("The lstm", ["a free sample"])]
    assert text.parts.figures == [] and text.parts.signatures is None  # no sweep or signature in the details
    assert image.cost[0].throughput == pytest.approx(8 * 10 / 2.0) and image.cost[0].unit == "images/s"
    assert (image.cost[0].limited_by, image.cost[0].passes) == ("seconds", 0.25)
    data = report_data(report)
    rows = data["modalities"][0]["leaderboard"]["rows"]
    assert [(r["subject"], r["role"], r["rank"]) for r in rows][:2] == [("vae", "model", 1), ("gan", "model", 2)]
    assert rows[0]["cells"]["fid"] == {"value": 1.0, "ci_low": 0.8, "ci_high": 1.2, "sample_count": 50}


def test_templates_render_the_built_report(report):
    ethics = render("ethics.html.j2", links=LINKS, report=report)
    comparison = render("model_comparison.html.j2", links=LINKS, report=report)
    assert "Shipped with scikit-learn (BSD-3-Clause)" in ethics and "the user&#39;s to check" in ethics
    assert 'data-family="vae"' in comparison and 'data-family="unseen_real"' not in comparison
    assert "<td>seconds budget</td><td class=\"num\">0.25</td>" in comparison
    assert "<td>dog ran.</td>" in comparison and "1 regression(s):</strong> vae FID 1" in comparison
    # which version serves and why, and a family with no decision yet
    assert ('<tr data-decision="kept"><th scope="row">vae</th><td><code>r2</code></td><td><code>r3</code></td>'
            in comparison and "champion r2 stays; challenger r3: worse" in comparison)
    assert '<tr data-decision="none"><th scope="row">gan</th>' in comparison
    # the memorizing diffusion leads on FID but is not ranked: the finding that keeps it out is named
    assert ('diffusion<br><span class="badge badge-fail">not ranked</span> <span class="muted">failing: Copy rate '
            '0.5 [0.4, 0.6]</span>') in comparison
    assert "best <strong>vae</strong>" in comparison


def test_every_catalog_metric_names_how_its_interval_is_computed():
    own = {WILSON, STUDENT_T, WELCH_T, DELETE_ONE_JACKKNIFE_T, GROUP_JACKKNIFE_T, TWO_SAMPLE_JACKKNIFE,
           DELETE_D_JACKKNIFE, MULTINOMIAL_BOOTSTRAP, DELTA_METHOD_T, BASIC_BOOTSTRAP, PAIRED_JACKKNIFE_T, FOLD_DELONG,
           NO_INTERVAL}
    assert set(INTERVAL_KINDS) == set(METRICS) and set(INTERVAL_KINDS.values()) <= own
    assert set(DIFFERENCE_KINDS) <= set(METRICS)
    assert set(DIFFERENCE_KINDS.values()) <= {BASIC_BOOTSTRAP, DELETE_ONE_JACKKNIFE, POISSON_JACKKNIFE, HALF_SAMPLING,
                                              WELCH_T, PAIRED_JACKKNIFE_T}
    # a metric recorded with an interval says what it covers, one without none
    assert {m for m, kind in INTERVAL_KINDS.items() if kind != NO_INTERVAL} == set(INTERVALS)


def test_reports_name_each_interval_kind_from_the_catalog(report):
    comparison = render("model_comparison.html.j2", links=LINKS, report=report)
    ethics = render("ethics.html.j2", links=LINKS, report=report)
    assert "bootstrap interval" not in comparison + ethics
    # the leaderboard's footer under FID and precision; the differences' footer under them
    assert ('<th scope="row" colspan="3">95% interval</th><td class="muted">delete-a-group jackknife t</td>'
            '<td class="muted">Wilson score</td></tr>') in comparison
    assert ('<th scope="row">95% interval of the difference</th><td class="muted">basic bootstrap</td>'
            '<td class="muted">basic bootstrap</td></tr>') in comparison
    # the all-metrics table names each row's kind, the findings table each finding's
    assert 'Copy rate ↓</th><td class="muted">Wilson score</td>' in comparison
    assert 'Test bits/char ↓</th><td class="muted">delete-one jackknife t</td>' in comparison
    assert '<span class="muted">n=100</span></td><td class="muted">Wilson score</td>' in ethics
    assert '<span class="muted">n=12</span></td><td class="muted">delta-method t</td>' in ethics


def test_experimental_family_is_compared_with_its_base_and_may_lose():
    rows = [MetricRow("textgan", "bits_per_character", 2.1, 10), MetricRow("lstm", "bits_per_character", 2.0, 10),
            MetricRow("textgan", "continuation_bleu", 0.3, 10), MetricRow("lstm", "continuation_bleu", 0.2, 10),
            MetricRow("textgan", "gender_mentions_male", 4.0, 10), MetricRow("lstm", "gender_mentions_male", 9.0, 10)]
    comparison = against_base(rows, _family("textgan", "text", experimental=True, base="lstm"))
    winners = {line.label: line.winner for line in comparison.lines}
    assert winners == {"Test bits/char": "lstm", "Continuation BLEU": "textgan"}  # raw counts are not compared
    assert comparison.wins == 1


# ---- leaderboard win rates: the cases of HELM's own tests (helm/benchmark/presentation/test_summarize.py)

def _as_values(table: list[list], metrics: list[str]) -> dict[str, dict[str, float]]:
    return {row[0]: {m: v for m, v in zip(metrics, row[1:]) if v is not None} for row in table}


@pytest.mark.parametrize("table, expected", [
    ([["A", 1], ["B", 2], ["C", 3], ["D", 4], ["E", 5]], [0, 0.25, 0.5, 0.75, 1]),
    ([["A", 1, 3], ["B", 2, 1], ["C", 3, 2], ["D", 4, 5], ["E", 5, 4]], [0.25, 0.125, 0.375, 0.875, 0.875]),
    ([["A", 1, 3], ["B", 2, 1], ["C", 3, None], ["D", 4, None], ["E", 5, None]], [0.5, 0.125, 0.5, 0.75, 1]),
    ([["A", 1, None, None], ["B", 2, None, 1], ["C", 3, None, None], ["D", 4, None, None], ["E", 5, None, None]],
     [0, 0.25, 0.5, 0.75, 1]),
])
def test_mean_win_rates_match_helm(table, expected):
    metrics = ["precision", "recall", "coverage"][:len(table[0]) - 1]  # all higher-is-better, like HELM's cases
    rates = mean_win_rates(_as_values(table, metrics))
    assert [rates[row[0]] for row in table] == pytest.approx(expected)


def test_win_rates_follow_direction_ties_and_skip_descriptive_metrics():
    rates = mean_win_rates({"a": {"fid": 10.0, "sentiment_gap_occupation": -0.01, "gender_mentions_male": 9.0},
                            "b": {"fid": 10.0, "sentiment_gap_occupation": 0.2, "gender_mentions_male": 1.0},
                            "c": {"fid": 30.0, "sentiment_gap_occupation": 0.05},
                            "d": {}})
    # fid (lower better): a, b tie at 1.5/2 = 0.75, c 0; gap (closer to 0): a 1, c 0.5, b 0; mentions: no direction
    assert rates.pop("d") is None
    assert rates == pytest.approx({"a": (0.75 + 1) / 2, "b": (0.75 + 0) / 2, "c": (0 + 0.5) / 2})


# ---- paired differences and regressions

def test_difference_verdict_needs_the_whole_interval_on_one_side_of_zero():
    assert difference_verdict("fid", 0.3, 0.9) == "worse"           # lower is better: the difference is above 0
    assert difference_verdict("fid", -0.9, -0.3) == "better"
    assert difference_verdict("fid", -0.1, 0.9) == "indistinguishable"
    assert difference_verdict("precision", -0.4, -0.1) == "worse"    # higher is better
    assert difference_verdict("density", 0.1, 0.2) == "worse"        # a difference of distances to 1
    assert difference_verdict("distinct_2", None, None) == "indistinguishable"  # no interval: no verdict
    assert difference_verdict("gender_mentions_male", 1.0, 2.0) == "indistinguishable"  # no direction


def test_trailing_median_needs_two_earlier_runs_and_reads_the_last_seven():
    assert trailing_median([10.0]) is None and trailing_median([10.0, 12.0]) == 11.0
    assert trailing_median([100.0] * 5 + [10.0] * TRAILING_RUNS) == 10.0


# ---- findings against thresholds

def test_thresholds_judge_and_overrides():
    limits = thresholds({"copy_rate": [0.0, 0.5]})
    assert limits["copy_rate"] == Threshold(0.0, 0.5) and limits["extraction_rate"] == DEFAULT_THRESHOLDS["extraction_rate"]
    assert judge("copy_rate", 0.0, 100, limits["copy_rate"]) == "warn"
    assert judge("copy_rate", 0.5, 100, limits["copy_rate"]) == "fail"
    assert judge("sentiment_gap_occupation", -0.2, 100, DEFAULT_THRESHOLDS["sentiment_gap_occupation"]) == "fail"
    assert judge("sentiment_gap_occupation", 0.01, 100, DEFAULT_THRESHOLDS["sentiment_gap_occupation"]) == "pass"
    assert judge("copy_rate", 0.9, 3, limits["copy_rate"]) == TOO_FEW
    # with an interval, the whole interval must be past the threshold on the bad side
    amp = DEFAULT_THRESHOLDS["gender_representation_tv_amplification"]  # warn 1.10, fail 1.50
    assert judge("gender_representation_tv_amplification", 1.3, 100, amp, 0.9, 1.7) == "pass"
    assert judge("gender_representation_tv_amplification", 1.3, 100, amp, 1.1, 1.7) == "warn"
    assert judge("gender_representation_tv_amplification", 1.8, 100, amp, 1.5, 2.1) == "fail"
    assert judge("gender_representation_tv_amplification", 1.3, 3, amp, 1.2, 1.4) == TOO_FEW
    gap = DEFAULT_THRESHOLDS["sentiment_gap_occupation"]  # zero direction: warn 0.05, fail 0.15
    assert judge("sentiment_gap_occupation", -0.2, 100, gap, -0.3, 0.01) == "pass"  # contains 0
    assert judge("sentiment_gap_occupation", -0.2, 100, gap, -0.3, -0.04) == "pass"  # reaches inside [-0.05, 0.05]
    assert judge("sentiment_gap_occupation", -0.2, 100, gap, -0.3, -0.06) == "warn"
    assert judge("sentiment_gap_occupation", 0.2, 100, gap, 0.16, 0.3) == "fail"
    assert judge("sentiment_gap_occupation", -0.2, 100, gap, -0.3, -0.15) == "fail"
    assert judge("sentiment_gap_occupation", -0.2, 100, gap, None, None) == "fail"  # no interval: the value
    assert worst(["pass", TOO_FEW, "warn"]) == "warn" and worst([TOO_FEW]) == "pass"
    for bad, message in (({"nope": [1, 2]}, "unknown metric 'nope'"), ({"class_tv_uniform": [0.1, 0.2]}, "direction"),
                         ({"copy_rate": [0.5, 0.1]}, "warn <= fail"), ({"copy_rate": [0.5]}, "warn <= fail")):
        with pytest.raises(ValueError, match=message):
            thresholds(bad)


def test_sparkline_is_numbers_only_with_an_escaped_label():
    svg = str(sparkline([3.0, 1.0, 2.0], '<script>alert("x")</script> & co', flagged=True))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp; co" in svg
    assert svg.count("<polyline") == 1 and "#c0392b" in svg
    assert "nan" not in str(sparkline([5.0], "one run")).lower()  # a single point and a flat series draw


def test_trends_flag_regressions_and_name_code_or_data_changes():
    def point(run, value, code="c1", data="d1", ci=(None, None)):
        return HistoryPoint(run, "vae", "fid", value, ci[0], ci[1], code, data)

    history = [point("r1", 10.0), point("r2", 11.0, code="c0"), point("r3", 20.0, ci=(15.0, 25.0))]
    worse = [Comparison("vae", "vae", "r2", "fid", 9.0, 50, 4.0, 14.0)]
    (trend,) = trends(history, "r3", ["vae", "gan"], ["fid"], worse)  # gan has no rows: no trend
    assert trend.regressed and trend.median == 10.5 and trend.changed == ["code"]
    assert "over 3 runs, oldest to newest: 10, 11, 20" in str(trend.sparkline)
    # the same values, but the paired difference's interval holds 0: no regression
    (steady,) = trends(history, "r3", ["vae"], ["fid"], [Comparison("vae", "vae", "r2", "fid", 9.0, 50, -1.0, 19.0)])
    assert not steady.regressed and steady.change.verdict == "indistinguishable"
    # without a comparison against an earlier run (a first run, or family-vs-family only) there is no flag
    (alone,) = trends(history, "r3", ["vae"], ["fid"], [Comparison("vae", "gan", None, "fid", 9.0, 50, 4.0, 14.0)])
    assert not alone.regressed and alone.change is None


def test_run_index_reads_archived_manifests_and_skips_what_it_cannot_list(tmp_path):
    runs = tmp_path / "runs"
    manifests = {"current": {"run_id": "current", "headline": {"status": "pass", "counts": {}, "leaders": {},
                                                                "values": {"FID": 1.0}}},
                 "failed": {"run_id": "failed", "failure": {"job": "nightly", "message": "boom"}},
                 "pre_status": {"run_id": "pre_status", "headline": {"FID": 2.0}}}
    for name, manifest in manifests.items():
        (runs / name).mkdir(parents=True)
        (runs / name / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    (runs / "torn").mkdir()
    (runs / "torn" / "manifest.json").write_text("{", "utf-8")
    warnings = []
    read = read_run_manifests(runs, "manifest.json", warnings.append)
    assert sorted(m["run_id"] for m in read) == ["current", "failed"]
    assert len(warnings) == 2 and any("pre_status" in w for w in warnings) and any("torn" in w for w in warnings)
