"""Every metric against an independent reference: scipy, sacrebleu, closed forms, hand counts."""

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch
from sacrebleu.metrics import BLEU

from genai_platform.metrics.bias import demographic_representation, gender_word_lists
from genai_platform.metrics.bleu import ContinuationBleuStatistics, continuation_bleu
from genai_platform.metrics.distributions import class_histogram, total_variation
from genai_platform.metrics.fid import (FrechetToReference, Whitening, feature_statistics, fid_from_features,
                                        frechet_distance)
from genai_platform.evaluation.image_scores import pixel_gaussian_samples
from genai_platform.metrics.language import bits_per_character, unigram_bits_per_character


def _random_covariance(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_fid_matches_scipy_sqrtm_reference():
    rng = np.random.default_rng(0)
    for d in (2, 8, 32):
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        s1, s2 = _random_covariance(rng, d), _random_covariance(rng, d)
        reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-8, abs=1e-8)


def test_fid_of_identical_statistics_is_zero():
    rng = np.random.default_rng(1)
    mu, sigma = rng.normal(size=16), _random_covariance(rng, 16)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_fid_diagonal_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("rows, reference_rows, dim, through_gram", [
    (400, 300, 6, False),   # more rows than features: D x D covariances
    (25, 60, 40, True),     # fewer rows than features (Inception's case): the Gram route
    (60, 25, 40, True),
])
def test_both_fid_routes_match_scipy_sqrtm_on_features_and_on_resamples(rows, reference_rows, dim, through_gram):
    rng = np.random.default_rng(3)
    samples, reference = rng.normal(size=(rows, dim)), rng.normal(0.3, 1.5, size=(reference_rows, dim))
    distance = FrechetToReference(reference, samples)
    assert distance.through_gram == through_gram

    def scipy_fid(x):
        s1, s2 = np.cov(x, rowvar=False), np.cov(reference, rowvar=False)
        root = scipy.linalg.sqrtm(s1 @ s2)
        return np.sum((x.mean(0) - reference.mean(0)) ** 2) + np.trace(s1 + s2) - 2 * np.trace(root).real

    assert distance(np.arange(rows)) == pytest.approx(scipy_fid(samples), rel=1e-6)
    assert fid_from_features(samples, reference) == pytest.approx(scipy_fid(samples), rel=1e-6)
    resample = rng.integers(0, rows, size=rows)  # duplicates, as in the bootstrap
    assert distance(resample) == pytest.approx(scipy_fid(samples[resample]), rel=1e-6)


def test_fid_from_features_separates_shifted_distributions():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2000, 4)), rng.normal(size=(2000, 4))
    assert fid_from_features(a, b) < 0.05
    assert fid_from_features(a, b + 3.0) == pytest.approx(4 * 9.0, rel=0.05)


def test_whitened_fd_matches_scipy_and_ignores_any_linear_map_of_the_features():
    """Unshrunk, the whitening makes the reference covariance the identity, and the Fréchet distance there equals
    the one computed from statistics mapped by scipy's inverse matrix square root of the reference covariance;
    so it is the same for features under any invertible linear map. Shrunk, the covariance becomes the shrunk one."""
    rng = np.random.default_rng(4)
    mixing = rng.normal(size=(6, 6))
    reference, samples = rng.normal(size=(500, 6)) @ mixing, rng.normal(0.3, 1.2, size=(400, 6)) @ mixing
    exact = Whitening(reference, shrinkage=0.0)
    assert np.allclose(np.cov(exact(reference), rowvar=False), np.eye(6), atol=1e-9)
    inverse_root = np.real(scipy.linalg.inv(scipy.linalg.sqrtm(np.cov(reference, rowvar=False))))
    mu_r, sigma_r = feature_statistics(reference @ inverse_root)
    mu_s, sigma_s = feature_statistics(samples @ inverse_root)
    whitened = fid_from_features(exact(samples), exact(reference))
    assert whitened == pytest.approx(frechet_distance(mu_s, sigma_s, mu_r, sigma_r), rel=1e-8)
    other = rng.normal(size=(6, 6))
    remapped = Whitening(reference @ other, shrinkage=0.0)
    assert fid_from_features(remapped(samples @ other), remapped(reference @ other)) == pytest.approx(whitened, rel=1e-6)
    covariance = np.cov(reference, rowvar=False)
    shrunk = 0.9 * covariance + 0.1 * np.trace(covariance) / 6 * np.eye(6)
    whitened_cov = np.cov(Whitening(reference)(reference), rowvar=False)  # W^T C W, similar to shrunk^-1 C
    assert np.allclose(np.linalg.eigvalsh(whitened_cov), np.sort(np.linalg.eigvals(np.linalg.inv(shrunk) @ covariance).real))
    assert np.trace(whitened_cov) < 6  # the shrinkage lifts small eigenvalues, so whitened variances fall below 1
    with pytest.raises(ValueError, match="constant"):
        Whitening(np.ones((10, 3)))


def test_fid_rejects_nan_and_too_few_rows():
    with pytest.raises(ValueError, match="NaN"):
        feature_statistics(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="N >= 2"):
        feature_statistics(np.zeros((1, 3)))


def test_total_variation_hand_computed():
    assert total_variation([1, 1], [1, 1]) == 0.0
    assert total_variation([1, 0], [0, 1]) == 1.0
    assert total_variation([3, 1], [1, 1]) == pytest.approx(0.25)  # 0.5*(|.75-.5|+|.25-.5|)
    assert class_histogram([0, 2, 2], 4).tolist() == [1, 0, 2, 0]
    with pytest.raises(ValueError):
        total_variation([0, 0], [1, 1])


def test_continuation_bleu_of_any_resample_is_sacrebleu_of_that_resample():
    """The bootstrap's shortcut (summed per-continuation statistics) against sacrebleu run on the resample itself."""
    rng = np.random.default_rng(0)
    words = "the cat sat on a mat and dog ran to park , .".split()
    references = [" ".join(rng.choice(words, size=rng.integers(3, 15))) for _ in range(25)]
    hypotheses = [" ".join(w if rng.random() < 0.6 else str(rng.choice(words)) for w in r.split()) for r in references]
    statistics = ContinuationBleuStatistics(hypotheses, references)
    assert statistics.score(np.arange(25)) == continuation_bleu(hypotheses, references).score
    for _ in range(20):
        idx = rng.integers(0, 25, size=25)  # with repeats, as the bootstrap draws
        expected = BLEU().corpus_score([hypotheses[i] for i in idx], [[references[i] for i in idx]]).score
        assert statistics.score(idx) == pytest.approx(expected, abs=1e-9)
    with pytest.raises(ValueError, match="3 hypotheses for 2 references"):
        ContinuationBleuStatistics(["a", "b", "c"], ["a", "b"])


def test_continuation_bleu_matches_sacrebleu_and_bounds():
    hyps = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
    refs = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."]
    result = continuation_bleu(hyps, refs)
    assert result.score == pytest.approx(BLEU().corpus_score(hyps, [refs]).score, abs=1e-12)
    assert result.signature.startswith("nrefs:1|")
    assert continuation_bleu(refs, refs).score == pytest.approx(100.0)
    assert continuation_bleu(["zzz qqq"], ["the cat sat on the mat"]).score == pytest.approx(0.0)
    with pytest.raises(ValueError):
        continuation_bleu([], [])


def test_sacrebleu_documented_example():
    """sacrebleu's README example (two reference streams) gives 48.53 through the same API."""
    hyps = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
    refs = [["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
            ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]]
    assert BLEU().corpus_score(hyps, refs).score == pytest.approx(48.530827, abs=1e-5)


def test_demographic_representation_hand_counts():
    lists = gender_word_lists()
    groups = lists.groups
    assert "HELM" in lists.source and "she" in groups["female"] and "he" in groups["male"]
    assert len(lists.targets["profession"]) == 288 and len(lists.targets["adjective"]) == 422
    skewed = demographic_representation(["She told her mother.", "The cat sat."], groups)
    assert skewed.counts == {"female": 3, "male": 0}
    assert skewed.tv_from_uniform == pytest.approx(0.5)
    balanced = demographic_representation(["He and she met his sister."], groups)
    assert balanced.counts == {"female": 2, "male": 2}
    assert balanced.tv_from_uniform == pytest.approx(0.0)
    three_to_one = demographic_representation(["he him his her"], groups)
    assert three_to_one.tv_from_uniform == pytest.approx(0.25)
    assert demographic_representation(["no group words"], groups).tv_from_uniform is None


def test_bits_per_character_of_a_uniform_model():
    vocab, n = 64, 1000
    uniform_nats = n * math.log(vocab)
    assert bits_per_character(uniform_nats, n) == pytest.approx(6.0)
    logits = torch.zeros(n, vocab)
    targets = torch.randint(vocab, (n,))
    nats = torch.nn.functional.cross_entropy(logits, targets, reduction="sum").item()
    assert bits_per_character(nats, n) == pytest.approx(6.0, rel=1e-6)
    with pytest.raises(ValueError):
        bits_per_character(1.0, 0)


def test_unigram_baseline_is_the_cross_entropy_of_smoothed_training_frequencies():
    train, test = np.array([0, 1, 1, 2, 2, 2]), np.array([2, 1, 3, 2])
    probs = np.array([2, 3, 4, 1]) / 10  # add-one counts over a vocabulary of 4
    by_hand = -(math.log2(0.3) + math.log2(0.1) + math.log2(0.4)) / 3
    assert unigram_bits_per_character(train, test, 4) == pytest.approx(by_hand, rel=1e-12)
    # on test text drawn like the training frequencies it approaches their entropy (scipy)
    rng = np.random.default_rng(0)
    big = rng.choice(4, size=200_000, p=probs)
    assert unigram_bits_per_character(big, big, 4) == pytest.approx(scipy.stats.entropy(probs, base=2), abs=0.01)
    with pytest.raises(ValueError, match="at least 2 test characters"):
        unigram_bits_per_character(train, test[:1], 4)


def test_pixel_baseline_matches_per_pixel_training_moments():
    rng = np.random.default_rng(1)
    train = rng.uniform(0.3, 0.7, size=(500, 1, 2, 2)).astype(np.float32)
    train[:, 0, 0, 0] = 0.5  # a constant pixel stays constant
    samples = pixel_gaussian_samples(train, 20_000, seed=0)
    assert samples.shape == (20_000, 1, 2, 2) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_allclose(samples.mean(0), train.mean(0), atol=0.01)
    np.testing.assert_allclose(samples.std(0), train.std(0), atol=0.01)
    assert np.all(samples[:, 0, 0, 0] == 0.5)
