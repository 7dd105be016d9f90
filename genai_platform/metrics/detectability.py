"""Detectability without a key: how easily a simple classifier tells generated samples from held-out real data.

The statistic is the cross-validated ROC AUC of an L2 logistic regression on the features (samples:
class 1, real rows: class 0): about 0.5 when the samples pass for real, 1 when every sample is told
apart. Each of K stratified folds is scored by a model (features standardised, then the logistic
regression) fitted on the other K - 1 folds, and the AUC is the Mann-Whitney statistic of the pooled
out-of-fold scores, ties counting one half.

The interval's target is the expected AUC, on new data from the two distributions, of the model the
procedure fits on one training fold ((K - 1)/K of each side's rows), over training sets of that size; it
is exactly 0.5 when the two distributions are the same. DeLong's variance (DeLong, DeLong &
Clarke-Pearson, 1988) treats the fold models as fixed, but each fold's rows also train the other K - 1
models, so the folds' AUC errors correlate, the more the less the models learn (at the null every
learned direction is noise fitted to the other folds' rows): in simulation DeLong's interval alone held
the target in 83-87% of replicates at the null. For linear scores, with the class mean differences as
the noise, two folds' AUC errors correlate by rho = 1 - r, r the correlation of the two fold models'
class-centred scores: 1/(K - 1) at the null, less with any signal. K fold AUCs with common correlation
rho vary 1 + (K - 1) rho times as much as uncorrelated ones, so the interval is logit(AUC) +- z x
DeLong's standard error x sqrt(1 + (K - 1) rho) / (AUC (1 - AUC)) mapped back from the logit scale
(where the AUC's sampling distribution is nearly symmetric, even near 1), rho = 1 - the mean r over
pairs of fold models, clipped to [0, 1/(K - 1)]. Its coverage: bench/coverage.py.

Each side's rows must be independent draws: pieces cut from a few documents carry those documents'
topics, and in simulation two sets of 200-character pieces of the bundled news corpus, split by article,
were told apart (AUC about 0.55, 0.5 inside the interval in 18% of 150 splits; split by piece, 97%).

Classes of different sizes are weighted to count alike (class_weight='balanced') rather than
subsampled: the AUC does not depend on the class shares, and every row still informs the fit. All rows
are used: 8,000 samples against 2,000 real rows of 64 features take about 0.1 s on one core.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import special, stats
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from genai_platform.metrics.intervals import LEVEL, normal_interval
from genai_platform.records import Estimate

FOLDS = 5
REGULARISATION = 1.0  # scikit-learn's C: inverse strength of the L2 penalty on standardised features
MAX_ITERATIONS = 1000  # lbfgs; separable sets (a noise ceiling) took at most 15
BIGRAM_VOCABULARY = 256


def detector() -> Pipeline:
    """The classifier each fold fits: features standardised on its training rows, then L2 logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=REGULARISATION, class_weight="balanced",
                                                              max_iter=MAX_ITERATIONS))


@dataclass(frozen=True)
class CrossValidatedScores:
    labels: np.ndarray  # per row, samples first: 1 a generated sample, 0 a real row
    out_of_fold: np.ndarray  # per row: the score of the fold model that did not train on it
    every_model: np.ndarray  # [rows, folds]: each fold model's scores on all rows

    @property
    def positive(self) -> np.ndarray:
        """The samples' out-of-fold scores."""
        return self.out_of_fold[self.labels == 1]

    @property
    def negative(self) -> np.ndarray:
        """The real rows' out-of-fold scores."""
        return self.out_of_fold[self.labels == 0]


def _feature_matrix(features, name: str) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"{name}: need a rows x features matrix, got shape {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return features


def cross_validated_scores(sample_features, real_features, seed: int, folds: int = FOLDS) -> CrossValidatedScores:
    """Out-of-fold decision scores of detector() over `folds` stratified folds (shuffled by `seed`)."""
    samples, real = _feature_matrix(sample_features, "sample features"), _feature_matrix(real_features, "real features")
    if samples.shape[1] != real.shape[1]:
        raise ValueError(f"samples have {samples.shape[1]} features, real rows {real.shape[1]}")
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    if min(len(samples), len(real)) < 2 * folds:
        raise ValueError(f"{folds}-fold detectability needs at least {2 * folds} rows per side, "
                         f"got {len(samples)} samples and {len(real)} real rows")
    rows = np.vstack([samples, real])
    labels = np.concatenate([np.ones(len(samples), dtype=int), np.zeros(len(real), dtype=int)])
    out_of_fold, every_model = np.empty(len(rows)), np.empty((len(rows), folds))
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(rows, labels)
    for fold, (training, held_out) in enumerate(splits):
        every_model[:, fold] = detector().fit(rows[training], labels[training]).decision_function(rows)
        out_of_fold[held_out] = every_model[held_out, fold]
    return CrossValidatedScores(labels, out_of_fold, every_model)


def _placements(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components: per positive, the share of negatives it outscores; per negative, the
    share of positives that outscore it (ties one half each), from midranks."""
    pooled_ranks = stats.rankdata(np.concatenate([positive, negative]))
    positive_ranks, negative_ranks = pooled_ranks[:len(positive)], pooled_ranks[len(positive):]
    above_negatives = (positive_ranks - stats.rankdata(positive)) / len(negative)
    below_positives = 1 - (negative_ranks - stats.rankdata(negative)) / len(positive)
    return above_negatives, below_positives


def mann_whitney_auc(positive_scores, negative_scores) -> float:
    """The share of (positive, negative) pairs whose positive scores higher, ties counting one half."""
    above_negatives, _ = _placements(np.asarray(positive_scores, np.float64), np.asarray(negative_scores, np.float64))
    return float(above_negatives.mean())


def delong_variance(positive_scores, negative_scores) -> float:
    """DeLong, DeLong & Clarke-Pearson (1988): the variance of the Mann-Whitney AUC with the scores' two
    populations fixed, var(positive placements) / positives + var(negative placements) / negatives."""
    above, below = _placements(np.asarray(positive_scores, np.float64), np.asarray(negative_scores, np.float64))
    return float(above.var(ddof=1) / len(above) + below.var(ddof=1) / len(below))


def fold_error_correlation(scores: CrossValidatedScores) -> float:
    """rho, the correlation of two folds' AUC errors through the rows they train each other on: 1 - the mean
    correlation of two fold models' class-centred scores on all rows, clipped to [0, 1/(folds - 1)]."""
    centred = scores.every_model.copy()
    for label in (0, 1):
        centred[scores.labels == label] -= centred[scores.labels == label].mean(axis=0)
    folds = centred.shape[1]
    ceiling = 1 / (folds - 1)  # rho at the null, where every model is noise
    with np.errstate(invalid="ignore", divide="ignore"):  # a model with constant scores: no correlation
        correlations = np.corrcoef(centred, rowvar=False)[~np.eye(folds, dtype=bool)]
    if not np.isfinite(correlations).all():
        return ceiling
    return float(np.clip(1 - correlations.mean(), 0.0, ceiling))


def detectability_auc(sample_features: np.ndarray, real_features: np.ndarray, seed: int,
                      folds: int = FOLDS) -> Estimate:
    """Cross-validated AUC of detector() telling samples (class 1) from real rows (class 0), with its 95%
    interval (auc_estimate). Deterministic given `seed`."""
    return auc_estimate(cross_validated_scores(sample_features, real_features, seed, folds))


def auc_estimate(scores: CrossValidatedScores) -> Estimate:
    """The pooled out-of-fold AUC with the 95% interval of DeLong's variance inflated for the folds' shared
    training rows (see the module's note), on the logit scale; [1, 1] (or [0, 0]) when every sample
    outscores (or is outscored by) every real row. Count: the samples."""
    value, count = mann_whitney_auc(scores.positive, scores.negative), int(len(scores.positive))
    if value in (0.0, 1.0):  # every pair ordered alike: no placement varies, DeLong's variance is 0
        return Estimate(value, count, value, value)
    folds = scores.every_model.shape[1]
    inflation = 1 + (folds - 1) * fold_error_correlation(scores)
    standard_error = np.sqrt(delong_variance(scores.positive, scores.negative) * inflation)
    # on the logit scale, where the AUC's sampling distribution is nearly symmetric even close to 0 or 1
    low, high = normal_interval(special.logit(value), standard_error / (value * (1 - value)), LEVEL)
    return Estimate(value, count, float(special.expit(low)), float(special.expit(high)))


def char_bigram_features(texts: list[str], vocabulary: list[str] | None = None,
                         size: int = BIGRAM_VOCABULARY) -> tuple[np.ndarray, list[str]]:
    """Per text: the relative frequency of each vocabulary bigram among all the text's overlapping character
    bigrams (case and whitespace kept), then its mean word length (characters per whitespace-separated word),
    the share of its characters that are whitespace and the share that are punctuation (Unicode P*). A text
    with no bigram, or no word, gets 0 there. vocabulary None: the `size` most frequent bigrams over `texts`
    (ties alphabetical); compute it on the real texts and pass it for the samples, so both share one.
    Returns the [texts, len(vocabulary) + 3] float64 matrix and the vocabulary."""
    bigram_counts = [Counter(a + b for a, b in zip(text, text[1:])) for text in texts]
    if vocabulary is None:
        totals = Counter()
        for counts in bigram_counts:
            totals.update(counts)
        vocabulary = sorted(totals, key=lambda bigram: (-totals[bigram], bigram))[:size]
    column = {bigram: j for j, bigram in enumerate(vocabulary)}
    features = np.zeros((len(texts), len(vocabulary) + 3))
    for i, (text, counts) in enumerate(zip(texts, bigram_counts)):
        bigrams = max(len(text) - 1, 1)
        for bigram, count in counts.items():
            if bigram in column:
                features[i, column[bigram]] = count / bigrams
        words = text.split()
        if words:
            features[i, -3] = sum(map(len, words)) / len(words)
        if text:
            features[i, -2] = sum(character.isspace() for character in text) / len(text)
            features[i, -1] = sum(unicodedata.category(character).startswith("P") for character in text) / len(text)
    return features, list(vocabulary)
