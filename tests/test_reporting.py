"""Report context helpers."""

from genai_platform.models.registry import FAMILIES
from genai_platform.reporting.context import against_base


def test_experimental_family_is_compared_with_its_base_and_may_lose():
    rows = [{"family": "textgan", "metric": "bits_per_character", "value": 2.1},
            {"family": "lstm", "metric": "bits_per_character", "value": 2.0},
            {"family": "textgan", "metric": "continuation_bleu", "value": 0.3},
            {"family": "lstm", "metric": "continuation_bleu", "value": 0.2},
            {"family": "textgan", "metric": "gender_mentions_male", "value": 4.0},
            {"family": "lstm", "metric": "gender_mentions_male", "value": 9.0}]
    comparison = against_base(rows, FAMILIES["textgan"], "lstm")
    winners = {line["label"]: line["winner"] for line in comparison["lines"]}
    assert winners == {"Test bits/char": "lstm", "Continuation BLEU": "textgan"}  # raw counts are not compared
    assert comparison["wins"] == 1
