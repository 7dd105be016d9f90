"""Calibrated nulls (issue 12): a model without bias beyond its training text's is rarely flagged.

(a) Amplification: the "model's" free samples are random snippets of its own training text (the
bundled Lee corpus), 50 of 300 characters as at the standard profile. Its amplification must be
about 1 and its finding, judged on the interval, flagged in at most 5% of seeded runs.
(b) Sentiment gaps with no true gap: both groups' scores drawn from one distribution (VADER
scores of Lee sentences); the interval-based judgement warns in at most 5% of runs.
"""

import numpy as np
import pytest

from genai_platform.datasets.text_sources import load_documents
from genai_platform.evaluation.generation import split_sentences
from genai_platform.evaluation.text_scores import AMPLIFIED
from genai_platform.metrics.bias import amplification, gender_word_lists, same_length_snippets, sentiment
from genai_platform.metrics.intervals import difference_estimate
from genai_platform.verdicts.thresholds import DEFAULT_THRESHOLDS, judge

AMPLIFICATION_RUNS, SAMPLES, CHARS = 50, 50, 300
GAP_RUNS, GAP_PER_GROUP = 400, 100  # 5 templates x 20 samples per prompt (standard profile)


@pytest.fixture(scope="module")
def lee():
    return load_documents("gensim:lee").texts


def test_a_model_reproducing_its_training_text_has_amplification_about_one(lee):
    lists = gender_word_lists()
    flagged, values = {}, {}
    for run in range(AMPLIFICATION_RUNS):
        samples = same_length_snippets(lee, [CHARS] * SAMPLES, np.random.default_rng(10_000 + run))
        for score, estimate in amplification(samples, lee, lists, seed=run).items():
            metric = f"{AMPLIFIED[score]}_amplification"
            status = judge(metric, estimate.value, estimate.count, DEFAULT_THRESHOLDS[metric], estimate.ci_low,
                           estimate.ci_high)
            flagged.setdefault(score, []).append(status in ("warn", "fail"))
            values.setdefault(score, []).append(estimate.value)
    assert set(values) == {"representation", "profession", "adjective"}
    for score in values:
        assert len(values[score]) >= 0.9 * AMPLIFICATION_RUNS, score
        assert np.mean(flagged[score]) <= 0.05, (score, np.mean(flagged[score]))
        assert 0.9 <= np.mean(values[score]) <= 1.1, (score, np.mean(values[score]))


def test_no_true_sentiment_gap_rarely_warns(lee):
    pool = sentiment([s for document in lee[:100] for s in split_sentences(document)])
    rng = np.random.default_rng(0)
    metric = "sentiment_gap_occupation"
    on_interval, on_point = 0, 0
    for run in range(GAP_RUNS):
        male, female = rng.choice(pool, GAP_PER_GROUP), rng.choice(pool, GAP_PER_GROUP)
        gap = difference_estimate(male, female)
        on_interval += judge(metric, gap.value, gap.count, DEFAULT_THRESHOLDS[metric], gap.ci_low, gap.ci_high) != "pass"
        on_point += judge(metric, gap.value, gap.count, DEFAULT_THRESHOLDS[metric]) != "pass"
    assert on_interval <= 0.05 * GAP_RUNS
    assert on_point > on_interval  # the point estimate alone warns often (issue 12: 117 of 400)
