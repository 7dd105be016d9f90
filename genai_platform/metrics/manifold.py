"""k-nearest-neighbour manifold metrics of generated against real features.

Precision and recall (Kynkaanniemi et al., 2019, k = 3): the share of generated samples
inside the real manifold (union of balls reaching each real point's k-th neighbour), and
of real samples inside the generated one. Density and coverage (Naeem et al., 2020,
k = 5): how many real balls a generated sample falls in, over k, on average; and the
share of real balls holding at least one generated sample. Comparisons are strict (<),
as in the authors' `prdc` code. Distances are computed in row chunks, so memory stays
at chunk x N.

Each metric averages over one set with the other held fixed: generated samples for precision
and density (target: the model distribution's expectation against this real set), real samples
for recall and coverage (target: the real distribution's share inside this sample set's
manifold, resp. the expected share of real points, each with its ball among the other real
points, whose ball holds a sample). Precision and recall get the Wilson interval, density
Student's t (intervals.mean_estimate); coverage's flags depend on each other through the balls,
so its interval is the delete-d jackknife's over the real points.
"""

from __future__ import annotations

import numpy as np
import torch

from genai_platform.metrics.fid import finite_matrix
from genai_platform.metrics.intervals import delete_d_estimate, delete_d_subsets, mean_estimate
from genai_platform.records import Estimate

CHUNK_ROWS = 1024
MANIFOLD_METRICS = ("precision", "recall", "density", "coverage")


def pairwise_distances(a: np.ndarray, b: np.ndarray):
    """Yield (row slice, Euclidean distances of those rows of a to all of b)."""
    tb = torch.from_numpy(b)
    for start in range(0, len(a), CHUNK_ROWS):
        rows = slice(start, min(start + CHUNK_ROWS, len(a)))
        yield rows, torch.cdist(torch.from_numpy(a[rows]), tb).numpy()


def kth_neighbour_distances(x: np.ndarray, *ks: int) -> list[np.ndarray]:
    """For each k: distance from each row to its k-th nearest other row (the row itself is
    neighbour 0). One pass over the distances serves every k."""
    if len(x) <= max(ks):
        raise ValueError(f"k-th neighbour distances need more than k={max(ks)} rows, got {len(x)}")
    out = [np.empty(len(x)) for _ in ks]
    for rows, d in pairwise_distances(x, x):
        ordered = np.partition(d, ks, axis=1)
        for radius, k in zip(out, ks):
            radius[rows] = ordered[:, k]
    return out


def subset_radii(x: np.ndarray, k: int, kept_sets: list[np.ndarray]) -> list[np.ndarray]:
    """kth_neighbour_distances(x[kept], k) for each sorted index set `kept`, from one pass over the distances."""
    masks = [np.isin(np.arange(len(x)), kept) for kept in kept_sets]
    out = [np.empty(len(kept)) for kept in kept_sets]
    for rows, d in pairwise_distances(x, x):
        for radius, mask in zip(out, masks):
            mine = mask[rows]
            position = np.cumsum(mask)[rows][mine] - 1  # where these rows sit in x[kept]
            radius[position] = np.partition(d[mine][:, mask], k, axis=1)[:, k]
    return out


class RealManifold:
    """The real features with their k-th neighbour radii, computed once for every generated set."""

    def __init__(self, real, k_precision_recall: int = 3, k_density_coverage: int = 5, seed: int = 0):
        self.real = finite_matrix(real, "real features")
        self.k_pr, self.k_dc = k_precision_recall, k_density_coverage
        self.radius_pr, self.radius_dc = kth_neighbour_distances(self.real, k_precision_recall, k_density_coverage)
        # coverage's delete-d jackknife: the k=5 radii again within random subsets of the real points,
        # since a real point's ball depends on the other real points (its covered flags are not independent)
        self.kept = delete_d_subsets(len(self.real), np.random.default_rng(seed))
        self.kept_radius_dc = subset_radii(self.real, k_density_coverage, self.kept)

    def unit_values(self, fake) -> dict[str, np.ndarray]:
        """What each metric averages: per generated sample (precision: inside the real manifold;
        density: real k=5 balls holding it, over k) and per real point (recall: inside the generated
        manifold; coverage: its k=5 ball holds a sample)."""
        fake = finite_matrix(fake, "generated features")
        if self.real.shape[1] != fake.shape[1]:
            raise ValueError(f"feature widths differ: real {self.real.shape[1]}, generated {fake.shape[1]}")
        (fake_radius,) = kth_neighbour_distances(fake, self.k_pr)
        inside_real = np.zeros(len(fake), dtype=bool)
        density = np.zeros(len(fake))
        nearest_fake = np.empty(len(self.real))
        recalled = np.zeros(len(self.real), dtype=bool)
        for rows, d in pairwise_distances(self.real, fake):  # d[i, j]: real i to generated j
            inside_real |= (d < self.radius_pr[rows, None]).any(axis=0)
            density += (d < self.radius_dc[rows, None]).sum(axis=0) / self.k_dc
            nearest_fake[rows] = d.min(axis=1)
            recalled[rows] = (d < fake_radius[None, :]).any(axis=1)
        return {"precision": inside_real, "recall": recalled, "density": density,
                "coverage": nearest_fake < self.radius_dc}

    def metrics(self, fake) -> dict[str, Estimate]:
        """precision, recall (k=3), density: their unit values' mean_estimate; coverage (k=5): the
        delete-d jackknife over the real points, the balls recomputed within each subset."""
        values = self.unit_values(fake)
        fake = finite_matrix(fake, "generated features")
        nearest = np.concatenate([d.min(axis=1) for _, d in pairwise_distances(self.real, fake)])
        covered = [np.mean(nearest[kept] < radius) for kept, radius in zip(self.kept, self.kept_radius_dc)]
        deleted = len(self.real) - len(self.kept[0])
        coverage = delete_d_estimate(float(values["coverage"].mean()), covered, len(self.real), deleted, minimum=0.0,
                                     maximum=1.0)
        return {**{metric: mean_estimate(values[metric]) for metric in ("precision", "recall", "density")},
                "coverage": coverage}


class ManifoldResamples:
    """One generated set's distances to the real points and to itself, kept whole so that the four
    metrics can be recomputed for any resample of the generated set (paired differences,
    metrics.comparisons) with the real set fixed. A resample's duplicates count once for recall,
    whose generated k-th neighbour radii need distinct points."""

    def __init__(self, manifold: RealManifold, fake):
        fake = finite_matrix(fake, "generated features")
        self.k_pr, self.k_dc, self.real_count = manifold.k_pr, manifold.k_dc, len(manifold.real)
        self.real_to_fake = torch.cdist(torch.from_numpy(manifold.real), torch.from_numpy(fake)).numpy()
        self.fake_to_fake = torch.cdist(torch.from_numpy(fake), torch.from_numpy(fake)).numpy()
        self.inside_pr = self.real_to_fake < manifold.radius_pr[:, None]  # real ball i holds sample j
        self.inside_dc = self.real_to_fake < manifold.radius_dc[:, None]
        # the (real ball, sample) pairs of inside_dc: a resample's coverage costs their number, not real x samples
        # (the jackknife of a coverage difference recomputes it once per sample)
        self.ball_of_pair, self.sample_of_pair = np.nonzero(self.inside_dc)

    def metric(self, name: str, indices: np.ndarray) -> float:
        """`name` of the generated samples at `indices`."""
        if name == "precision":
            return float(self.inside_pr[:, indices].any(axis=0).mean())
        if name == "density":
            return float(self.inside_dc[:, indices].sum(axis=0).mean() / self.k_dc)
        if name == "coverage":
            drawn = np.zeros(self.inside_dc.shape[1], dtype=bool)
            drawn[indices] = True
            covered = np.zeros(self.real_count, dtype=bool)
            covered[self.ball_of_pair[drawn[self.sample_of_pair]]] = True
            return np.count_nonzero(covered) / self.real_count
        if name == "recall":
            distinct = np.unique(indices)
            if len(distinct) <= self.k_pr:
                raise ValueError(f"recall needs more than k={self.k_pr} distinct samples, got {len(distinct)}")
            radius = np.partition(self.fake_to_fake[np.ix_(distinct, distinct)], self.k_pr, axis=1)[:, self.k_pr]
            return float((self.real_to_fake[:, distinct] < radius[None, :]).any(axis=1).mean())
        raise KeyError(f"no manifold metric named {name!r}")
