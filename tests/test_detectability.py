"""Detectability without a key (metrics/detectability.py): the pooled cross-validated AUC against scikit-learn's
roc_auc_score on the same out-of-fold scores and against hand counts with ties, DeLong's variance against a
brute-force pair count, the interval at the null (seeded replicates) and on separable data, the input checks,
and the character-bigram featurizer by hand and on the bundled news corpus."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from genai_platform.datasets.text_sources import load_documents
from genai_platform.metrics.detectability import (FOLDS, auc_estimate, char_bigram_features, cross_validated_scores,
                                                  delong_variance, detectability_auc, detector,
                                                  fold_error_correlation, mann_whitney_auc)


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    with threadpool_limits(1):  # these fits are small: a second BLAS thread beside other work made them 5x slower
        yield


def test_auc_is_sklearns_roc_auc_of_the_pooled_out_of_fold_scores():
    rng = np.random.default_rng(0)
    samples, real = rng.normal(0.3, 1.0, size=(150, 8)), rng.normal(size=(90, 8))
    scores = cross_validated_scores(samples, real, seed=3)
    assert scores.labels.tolist() == [1] * 150 + [0] * 90
    estimate = detectability_auc(samples, real, seed=3)
    assert estimate == auc_estimate(scores)
    assert estimate.value == pytest.approx(roc_auc_score(scores.labels, scores.out_of_fold), abs=1e-12)
    assert estimate.count == 150 and estimate.ci_low < estimate.value < estimate.ci_high
    assert 0.6 < estimate.value < 0.8  # Bayes AUC of this shift: Phi(0.3 sqrt(8) / sqrt(2)) = 0.73


def test_every_row_is_scored_by_a_model_that_did_not_train_on_it():
    rng = np.random.default_rng(1)
    samples, real = rng.normal(0.5, 1.0, size=(60, 4)), rng.normal(size=(40, 4))
    scores = cross_validated_scores(samples, real, seed=0)
    rows = np.vstack([samples, real])
    scored_by = np.argmax(scores.every_model == scores.out_of_fold[:, None], axis=1)
    for fold in range(FOLDS):
        held_out = scored_by == fold
        # stratified: each fold holds a fifth of each side
        assert scores.labels[held_out].sum() == 12 and (scores.labels[held_out] == 0).sum() == 8
        refit = detector().fit(rows[~held_out], scores.labels[~held_out]).decision_function(rows[held_out])
        assert refit == pytest.approx(scores.out_of_fold[held_out], abs=1e-9)


def test_mann_whitney_auc_and_delong_variance_by_hand_with_ties():
    positive, negative = [0.9, 0.5, 0.5], [0.5, 0.1]
    # pairs: 0.9 beats both (2), each 0.5 ties 0.5 (1/2) and beats 0.1 (1): 5 of 6
    assert mann_whitney_auc(positive, negative) == pytest.approx(5 / 6)
    # placements: positives 1, 3/4, 3/4 (sample variance 1/48, over 3); negatives 2/3, 1 (variance 1/18, over 2)
    assert delong_variance(positive, negative) == pytest.approx(1 / 144 + 4 / 144)


def test_auc_and_delong_variance_match_a_brute_force_pair_count_on_tied_scores():
    rng = np.random.default_rng(2)
    positive, negative = rng.integers(0, 6, size=40).astype(float), rng.integers(0, 5, size=30).astype(float)
    wins = (positive[:, None] > negative[None, :]) + 0.5 * (positive[:, None] == negative[None, :])
    assert mann_whitney_auc(positive, negative) == pytest.approx(wins.mean())
    assert mann_whitney_auc(positive, negative) == pytest.approx(
        roc_auc_score(np.r_[np.ones(40), np.zeros(30)], np.r_[positive, negative]))
    expected = wins.mean(axis=1).var(ddof=1) / 40 + wins.mean(axis=0).var(ddof=1) / 30
    assert delong_variance(positive, negative) == pytest.approx(expected)


def test_null_interval_holds_one_half_in_about_95_percent_of_seeded_replicates():
    """Samples and real rows from one distribution: the target is exactly 0.5. DeLong's variance alone would
    hold it in about 85%: the fold correlation doubles the variance here (rho near 1/(K - 1))."""
    rng = np.random.default_rng(3)
    held, correlations = [], []
    for replicate in range(100):
        scores = cross_validated_scores(rng.normal(size=(120, 16)), rng.normal(size=(80, 16)), seed=replicate)
        estimate = auc_estimate(scores)
        held.append(estimate.ci_low <= 0.5 <= estimate.ci_high)
        correlations.append(fold_error_correlation(scores))
    assert 0.90 <= np.mean(held) <= 0.99
    assert 0.8 / (FOLDS - 1) < np.mean(correlations) <= 1 / (FOLDS - 1)


def test_fold_models_agree_when_the_signal_is_strong():
    rng = np.random.default_rng(4)
    samples, real = rng.normal(0.5, 1.0, size=(400, 16)), rng.normal(size=(400, 16))
    assert fold_error_correlation(cross_validated_scores(samples, real, seed=0)) < 0.02


def test_separable_sets_score_near_one():
    rng = np.random.default_rng(5)
    # Bayes AUC Phi(1 x sqrt(16) / sqrt(2)) = 0.9977: a few overlapping pairs
    estimate = detectability_auc(rng.normal(1.0, 1.0, size=(300, 16)), rng.normal(size=(300, 16)), seed=0)
    assert 0.99 < estimate.value < 1.0 and 0.98 < estimate.ci_low < estimate.value < estimate.ci_high <= 1.0
    apart = detectability_auc(rng.normal(10.0, 1.0, size=(50, 4)), rng.normal(size=(50, 4)), seed=0)
    assert (apart.value, apart.ci_low, apart.ci_high) == (1.0, 1.0, 1.0)


def test_deterministic_given_the_seed():
    rng = np.random.default_rng(6)
    samples, real = rng.normal(0.1, 1.0, size=(100, 8)), rng.normal(size=(100, 8))
    assert detectability_auc(samples, real, seed=7) == detectability_auc(samples, real, seed=7)
    assert detectability_auc(samples, real, seed=7).value != detectability_auc(samples, real, seed=8).value


def test_too_few_rows_other_dimensions_and_bad_values_are_refused():
    rng = np.random.default_rng(7)
    enough = rng.normal(size=(10, 3))
    with pytest.raises(ValueError, match="at least 10 rows per side"):
        detectability_auc(enough, rng.normal(size=(9, 3)), seed=0)
    with pytest.raises(ValueError, match="at least 6 rows per side"):
        detectability_auc(rng.normal(size=(5, 3)), enough, seed=0, folds=3)
    with pytest.raises(ValueError, match="3 features, real rows 4"):
        detectability_auc(enough, rng.normal(size=(10, 4)), seed=0)
    with pytest.raises(ValueError, match="NaN"):
        detectability_auc(np.where(enough > 1, np.nan, enough), enough, seed=0)
    with pytest.raises(ValueError, match="rows x features"):
        detectability_auc(enough[:, 0], enough, seed=0)


def test_char_bigram_features_by_hand():
    features, vocabulary = char_bigram_features(["abab", "ba b.", ""], size=3)
    # bigram counts: ab 2, ba 2, then " b", "a ", "b." once each (ties alphabetical: the space sorts first)
    assert vocabulary == ["ab", "ba", " b"]
    assert features.shape == (3, 6)
    # "abab": ab ab ba; one word of 4 characters; no space, no punctuation
    assert features[0] == pytest.approx([2 / 3, 1 / 3, 0, 4, 0, 0])
    # "ba b.": ba, "a ", " b", "b." (the two outside the vocabulary still count in the share); words "ba", "b."
    assert features[1] == pytest.approx([0, 1 / 4, 1 / 4, 2, 1 / 5, 1 / 5])
    assert features[2] == pytest.approx([0] * 6)
    # the samples take the real texts' vocabulary, whatever their own bigrams
    sample_features, same = char_bigram_features(["b b b", "zz"], vocabulary)
    assert same == vocabulary
    assert sample_features[0] == pytest.approx([0, 0, 2 / 4, 1, 2 / 5, 0])
    assert sample_features[1] == pytest.approx([0, 0, 0, 2, 0, 0])


def _chunks(documents: list[str], length: int = 300) -> list[str]:
    return [document[start:start + length] for document in documents
            for start in range(0, len(document) - length + 1, length)]


def test_bigram_detectability_on_news_text():
    """Real text against other real text passes (0.5 inside the interval); text drawn character by character
    from the corpus's own character frequencies is told apart. The 300-character pieces go to the two sides at
    random: split by article, the sides would differ in topic, which the bigrams see."""
    pieces = _chunks(load_documents("gensim:lee").texts)
    order = np.random.default_rng(0).permutation(len(pieces))
    real, other_real = [pieces[i] for i in order[0::2]], [pieces[i] for i in order[1::2]]
    real_features, vocabulary = char_bigram_features(real)
    assert len(vocabulary) == 256 and len(real) > 500 and len(other_real) > 500
    other_features, _ = char_bigram_features(other_real, vocabulary)
    alike = detectability_auc(other_features, real_features, seed=0)
    assert alike.ci_low <= 0.5 <= alike.ci_high

    characters, counts = np.unique(list("".join(real)), return_counts=True)
    rng = np.random.default_rng(8)
    unigram = ["".join(rng.choice(characters, size=300, p=counts / counts.sum())) for _ in range(300)]
    unigram_features, _ = char_bigram_features(unigram, vocabulary)
    assert detectability_auc(unigram_features, real_features, seed=0).ci_low > 0.95
