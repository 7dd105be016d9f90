"""Fréchet distance between Gaussians fitted to features (Heusel et al., 2017).

FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).
The trace of the matrix square root is computed from eigenvalues of the symmetric
matrix S1^(1/2) S2 S1^(1/2), which has the same spectrum as S1 S2, so no general
`sqrtm` (whose `disp=` argument SciPy 1.18 removed) is needed. All in float64.
"""

from __future__ import annotations

import numpy as np

from genai_platform.metrics.intervals import RESAMPLES, Estimate, bootstrap, percentile_interval


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((sigma1 sigma2)^(1/2)) for symmetric positive semi-definite inputs."""
    root1 = _symmetric_sqrt(np.asarray(sigma1, dtype=np.float64))
    middle = root1 @ np.asarray(sigma2, dtype=np.float64) @ root1
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    return float(np.sqrt(np.clip(eigenvalues, 0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    sigma1, sigma2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"shapes do not match: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}"
        )
    for name, array in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.isfinite(array).all():
            raise ValueError(f"{name} has NaN or infinite entries")
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2)
    return max(float(value), 0.0)


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of an N x D feature matrix."""
    features = finite_matrix(features, "features")
    if features.shape[0] < 2:
        raise ValueError(f"need an N x D feature matrix with N >= 2, got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def fid_from_features(features1, features2) -> float:
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def fid_estimate(sample_features, reference_features, seed: int, resamples: int = RESAMPLES) -> Estimate:
    """FID of the samples against a fixed reference set, with a bootstrap interval over the samples."""
    samples = finite_matrix(sample_features, "sample features")
    mu_ref, sigma_ref = feature_statistics(reference_features)
    feature_statistics(samples)  # the clear error for fewer than 2 rows
    return bootstrap(lambda idx: frechet_distance(*feature_statistics(samples[idx]), mu_ref, sigma_ref),
                     len(samples), seed, resamples)


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x . y / d + 1)^3, the kernel of Binkowski et al. (2018)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased estimate of the squared MMD between the sets' distributions (Gretton et al., 2012)."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kid_estimate(sample_features, reference_features, seed: int, subsets: int = 100,
                 max_subset_size: int = 1000) -> Estimate:
    """KID: the mean unbiased MMD^2 over random subsets of both sets (without replacement).

    Subsets hold half the smaller set (at most max_subset_size), so both sides vary between
    them; the interval is the 2.5-97.5 percentile range of the subset estimates, the spread of
    a single subset's KID, and so wider than the interval of the mean.
    """
    x, y = finite_matrix(sample_features, "sample features"), finite_matrix(reference_features, "reference features")
    size = min(max_subset_size, len(x) // 2, len(y) // 2)
    if size < 2:
        raise ValueError(f"KID needs at least 4 feature rows per set, got {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    values = np.array([unbiased_mmd2(x[rng.choice(len(x), size, replace=False)], y[rng.choice(len(y), size, replace=False)])
                       for _ in range(subsets)])
    return Estimate(float(values.mean()), len(x), *percentile_interval(values))


def finite_matrix(features, name: str) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError(f"{name}: need an N x D matrix with N >= 1, got shape {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return features
