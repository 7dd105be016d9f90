"""k-nearest-neighbour manifold metrics of generated against real features.

Precision and recall (Kynkaanniemi et al., 2019, k = 3): the share of generated samples
inside the real manifold (union of balls reaching each real point's k-th neighbour), and
of real samples inside the generated one. Density and coverage (Naeem et al., 2020,
k = 5): how many real balls a generated sample falls in, over k, on average; and the
share of real balls holding at least one generated sample. Comparisons are strict (<),
as in the authors' `prdc` code. Distances are computed in row chunks, so memory stays
at chunk x N.

Each interval resamples the set the metric averages over (generated samples for
precision and density, real samples for recall and coverage) with the other held fixed.
"""

from __future__ import annotations

import numpy as np
import torch

from genai_platform.metrics.fid import finite_matrix
from genai_platform.metrics.intervals import Estimate, mean_estimate

CHUNK_ROWS = 1024


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


class RealManifold:
    """The real features with their k-th neighbour radii, computed once for every generated set."""

    def __init__(self, real, k_precision_recall: int = 3, k_density_coverage: int = 5):
        self.real = finite_matrix(real, "real features")
        self.k_pr, self.k_dc = k_precision_recall, k_density_coverage
        self.radius_pr, self.radius_dc = kth_neighbour_distances(self.real, k_precision_recall, k_density_coverage)

    def metrics(self, fake, seed: int) -> dict[str, Estimate]:
        """precision, recall (k=3), density, coverage (k=5), each with its bootstrap interval."""
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
        covered = nearest_fake < self.radius_dc
        return {"precision": mean_estimate(inside_real, seed), "recall": mean_estimate(recalled, seed),
                "density": mean_estimate(density, seed), "coverage": mean_estimate(covered, seed)}
