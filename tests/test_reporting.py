"""Report logic: the experimental comparison, HELM win rates, regressions, findings, sparklines."""

import pytest

from genai_platform.families.registry import FAMILIES
from genai_platform.reporting.analysis import (DEFAULT_THRESHOLDS, TOO_FEW, TRAILING_RUNS, Regression, Threshold,
                                               judge, mean_win_rates, regression, thresholds, worst)
from genai_platform.reporting.context import against_base, trends
from genai_platform.reporting.plots import sparkline


def test_experimental_family_is_compared_with_its_base_and_may_lose():
    rows = [{"subject": "textgan", "metric": "bits_per_character", "value": 2.1},
            {"subject": "lstm", "metric": "bits_per_character", "value": 2.0},
            {"subject": "textgan", "metric": "continuation_bleu", "value": 0.3},
            {"subject": "lstm", "metric": "continuation_bleu", "value": 0.2},
            {"subject": "textgan", "metric": "gender_mentions_male", "value": 4.0},
            {"subject": "lstm", "metric": "gender_mentions_male", "value": 9.0}]
    comparison = against_base(rows, FAMILIES["textgan"], "lstm")
    winners = {line["label"]: line["winner"] for line in comparison["lines"]}
    assert winners == {"Test bits/char": "lstm", "Continuation BLEU": "textgan"}  # raw counts are not compared
    assert comparison["wins"] == 1


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


# ---- regressions against the trailing median

def test_regression_needs_a_worse_value_whose_interval_excludes_the_median():
    assert regression("fid", [10.0, 11.0, 12.0], 20.0, 15.0, 25.0) == Regression(11.0, True)
    assert not regression("fid", [10.0, 11.0, 12.0], 20.0, 9.0, 25.0).regressed       # median inside the interval
    assert not regression("fid", [10.0, 11.0, 12.0], 5.0, 4.0, 6.0).regressed         # better, not worse
    assert regression("precision", [0.9, 0.9], 0.5, 0.4, 0.6).regressed               # higher is better
    assert not regression("distinct_2", [0.9, 0.9], 0.1, None, None).regressed        # no interval: no flag
    assert regression("fid", [10.0], 20.0, 15.0, 25.0) == Regression(None, False)     # too few earlier runs
    # the median is of the last TRAILING_RUNS earlier runs only
    assert regression("fid", [100.0] * 5 + [10.0] * TRAILING_RUNS, 20.0, 15.0, 25.0).median == 10.0


# ---- findings against thresholds

def test_thresholds_judge_and_overrides():
    limits = thresholds({"copy_rate": [0.0, 0.5]})
    assert limits["copy_rate"] == Threshold(0.0, 0.5) and limits["extraction_rate"] == DEFAULT_THRESHOLDS["extraction_rate"]
    assert judge("copy_rate", 0.0, 100, limits["copy_rate"]) == "warn"
    assert judge("copy_rate", 0.5, 100, limits["copy_rate"]) == "fail"
    assert judge("sentiment_gap_occupation", -0.2, 100, DEFAULT_THRESHOLDS["sentiment_gap_occupation"]) == "fail"
    assert judge("sentiment_gap_occupation", 0.01, 100, DEFAULT_THRESHOLDS["sentiment_gap_occupation"]) == "pass"
    assert judge("copy_rate", 0.9, 3, limits["copy_rate"]) == TOO_FEW
    assert worst(["pass", TOO_FEW, "warn"]) == "warn" and worst([TOO_FEW]) == "pass"
    for bad, message in (({"nope": [1, 2]}, "unknown metric 'nope'"), ({"precision": [0.1, 0.2]}, "direction"),
                         ({"copy_rate": [0.5, 0.1]}, "warn <= fail"), ({"copy_rate": [0.5]}, "warn <= fail")):
        with pytest.raises(ValueError, match=message):
            thresholds(bad)


def test_sparkline_is_numbers_only_with_an_escaped_label():
    svg = str(sparkline([3.0, 1.0, 2.0], '<script>alert("x")</script> & co', flagged=True))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp; co" in svg
    assert svg.count("<polyline") == 1 and "#c0392b" in svg
    assert "nan" not in str(sparkline([5.0], "one run")).lower()  # a single point and a flat series draw


def test_trends_flag_regressions_and_name_code_or_data_changes():
    def row(run, value, code="c1", data="d1", ci=(None, None)):
        return {"run_id": run, "subject": "vae", "metric": "fid", "value": value, "ci_low": ci[0], "ci_high": ci[1],
                "code_version": code, "data_version": data}

    history = [row("r1", 10.0), row("r2", 11.0, code="c0"), row("r3", 20.0, ci=(15.0, 25.0))]
    (trend,) = trends(history, "r3", ["vae", "gan"], ["fid"])  # gan has no rows: no trend
    assert trend["regressed"] and trend["median"] == 10.5 and trend["changed"] == ["code"]
    assert "over 3 runs, oldest to newest: 10, 11, 20" in str(trend["sparkline"])
    (steady,) = trends([row("r1", 10.0), row("r2", 10.2), row("r3", 10.1, ci=(9.0, 11.0))], "r3", ["vae"], ["fid"])
    assert not steady["regressed"] and steady["changed"] == []
