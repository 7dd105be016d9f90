"""Memorization: generated images that copy a training image, text that repeats training text.

Images: a sample whose nearest training image is much closer than the second nearest
(d1 / d2 < 1/3, in pixel space) counts as a copy, the ratio test of Lowe (2004) used for
generative models by Somepalli et al. (2023); and, in a feature space, the three-sample
data-copying statistic C_T of Meehan, Chaudhuri & Dasgupta (2020): are samples closer to the
training set than unseen real data is? Text: the share of generated word 8-grams
found verbatim in the training split, and the extraction rate of Carlini et al. (2021):
greedy continuations of training prefixes that reproduce the true next tokens exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genai_platform.metrics.fid import finite_matrix
from genai_platform.metrics.intervals import Estimate, mean_estimate, ratio_estimate
from genai_platform.metrics.manifold import pairwise_distances

COPY_RATIO = 1 / 3
MEMORIZATION_NGRAM = 8


@dataclass
class NearestNeighbours:
    nearest: np.ndarray  # index of each sample's nearest training row
    d1: np.ndarray
    d2: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        return self.d1 / np.maximum(self.d2, 1e-12)


def nearest_training_neighbours(samples, training) -> NearestNeighbours:
    """The two nearest training rows of every sample (flattened, Euclidean)."""
    if len(samples) == 0:
        raise ValueError("the copy test needs at least one sample, got none")
    samples = finite_matrix(np.asarray(samples).reshape(len(samples), -1), "samples")
    training = finite_matrix(np.asarray(training).reshape(len(training), -1), "training rows")
    if len(training) < 2:
        raise ValueError("the copy test needs at least 2 training rows")
    nearest, d1, d2 = np.empty(len(samples), dtype=np.int64), np.empty(len(samples)), np.empty(len(samples))
    for rows, d in pairwise_distances(samples, training):
        two = np.argpartition(d, 1, axis=1)[:, :2]
        pair = np.take_along_axis(d, two, axis=1)
        order = pair.argsort(axis=1)
        nearest[rows] = np.take_along_axis(two, order, axis=1)[:, 0]
        d1[rows], d2[rows] = np.take_along_axis(pair, order, axis=1).T
    return NearestNeighbours(nearest, d1, d2)


def copy_rate(neighbours: NearestNeighbours, threshold: float = COPY_RATIO) -> Estimate:
    return mean_estimate(neighbours.ratio < threshold)


def ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def training_ngram_overlap(generated: list[list[str]], training: list[list[str]],
                           n: int = MEMORIZATION_NGRAM) -> Estimate | None:
    """Share of generated word n-grams that occur verbatim in the training texts (None: no n-grams)."""
    seen = {gram for tokens in training for gram in ngrams(tokens, n)}
    matched, total = [], []
    for tokens in generated:
        grams = ngrams(tokens, n)
        if grams:
            matched.append(sum(gram in seen for gram in grams))
            total.append(len(grams))
    return ratio_estimate(matched, total) if total else None


def extraction_rate(continuations: list[str], targets: list[str]) -> Estimate:
    """Share of continuations that reproduce their target exactly."""
    if len(continuations) != len(targets) or not targets:
        raise ValueError(f"extraction needs one continuation per target, got {len(continuations)} for {len(targets)}")
    return mean_estimate([c[: len(t)] == t for c, t in zip(continuations, targets)])


MIN_CELL_SAMPLES = 20  # a cell counts in C_T only with at least this many samples and held-out points


@dataclass(frozen=True)
class DataCopying:
    """Meehan et al.'s C_T and what it rests on."""
    ct: float          # weighted mean of the per-cell Z over the cells used; << 0: data copying
    count: int         # samples in the cells used
    cell_z: dict       # cell -> Mann-Whitney Z of that cell


def mann_whitney_z(x: np.ndarray, y: np.ndarray) -> float:
    """Z of the Mann-Whitney U of x against y (U counts pairs with x > y, ties a half), with the
    tie-corrected normal variance and no continuity correction; 0 when every value ties."""
    m, n = len(x), len(y)
    values = np.concatenate([x, y])
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(m + n)
    sorted_values = values[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    u = ranks[:m].sum() - m * (m + 1) / 2.0
    total = m + n
    variance = m * n / 12.0 * ((total + 1) - (counts ** 3 - counts).sum() / (total * (total - 1)))
    return 0.0 if variance <= 0 else float((u - m * n / 2.0) / np.sqrt(variance))


def data_copying_ct(sample_features, heldout_features, train_features, cells: int = 5, seed: int = 0,
                    min_cell: int = MIN_CELL_SAMPLES) -> DataCopying:
    """The three-sample data-copying test of Meehan, Chaudhuri & Dasgupta (2020), "A non-parametric
    test to detect data-copying in generative models", AISTATS, arXiv:2004.05675.

    The train features T are cut into `cells` by k-means (fitted on T, seeded). Every sample (Q_m)
    and held-out point (P_n) falls in its nearest centre's cell and gets its distance to the
    nearest train feature. Per cell, Z_U is the Mann-Whitney Z of the samples' distances against
    the held-out points' (negative: the samples sit closer to the training data than unseen real
    data does). C_T is the mean of Z_U over the cells with at least `min_cell` samples and held-out
    points, weighted by each cell's share of the held-out points. C_T about 0: samples are as far
    from the training set as fresh real data; C_T << 0: data copying; C_T >> 0: underfitting.
    """
    from sklearn.cluster import KMeans

    q = finite_matrix(sample_features, "sample features")
    p = finite_matrix(heldout_features, "held-out features")
    t = finite_matrix(train_features, "train features")
    if not q.shape[1] == p.shape[1] == t.shape[1]:
        raise ValueError(f"feature widths differ: samples {q.shape[1]}, held-out {p.shape[1]}, train {t.shape[1]}")
    cells = max(1, min(cells, len(t)))
    kmeans = KMeans(n_clusters=cells, n_init=3, random_state=seed).fit(t)
    q_cell, p_cell = kmeans.predict(q), kmeans.predict(p)

    def nearest_train(x: np.ndarray) -> np.ndarray:
        out = np.empty(len(x))
        for rows, d in pairwise_distances(x, t):
            out[rows] = d.min(axis=1)
        return out

    q_dist, p_dist = nearest_train(q), nearest_train(p)
    cell_z, weights, count = {}, {}, 0
    for c in range(cells):
        mine, real = q_dist[q_cell == c], p_dist[p_cell == c]
        if len(mine) >= min_cell and len(real) >= min_cell:
            cell_z[c] = mann_whitney_z(mine, real)
            weights[c] = len(real) / len(p)
            count += len(mine)
    if not cell_z:
        raise ValueError(f"no cell holds {min_cell} samples and {min_cell} held-out points: C_T needs more data "
                         f"or fewer cells (got {len(q)} samples, {len(p)} held-out, {cells} cells)")
    total = sum(weights.values())
    return DataCopying(float(sum(weights[c] * z for c, z in cell_z.items()) / total), count, cell_z)
