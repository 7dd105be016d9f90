"""FID bootstrap cost in a wide feature space: FrechetToReference's Gram route against the D x D
covariance route (frechet_distance on feature_statistics), side by side in one run.

    .venv/bin/python bench/fid.py [--samples 343] [--reference 1454] [--dim 2048] [--resamples 5]

Defaults are the default run's sizes with Inception's 2048-d features; the features are Gaussian
draws because only the shapes matter for the cost. Prints seconds per resample for both routes,
their ratio and the largest relative difference between the two FIDs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genai_platform.metrics.fid import FrechetToReference, feature_statistics, frechet_distance  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=343)
    parser.add_argument("--reference", type=int, default=1454)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--resamples", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    samples = np.abs(rng.normal(size=(args.samples, args.dim)))  # non-negative like pooled ReLU features
    reference = np.abs(rng.normal(0.1, 1.0, size=(args.reference, args.dim)))
    draws = [rng.integers(0, args.samples, size=args.samples) for _ in range(args.resamples)]

    start = time.perf_counter()
    distance = FrechetToReference(reference, samples)
    fast = [distance(idx) for idx in draws]
    fast_seconds = (time.perf_counter() - start) / args.resamples

    start = time.perf_counter()
    mu_ref, sigma_ref = feature_statistics(reference)
    slow = [frechet_distance(*feature_statistics(samples[idx]), mu_ref, sigma_ref) for idx in draws]
    slow_seconds = (time.perf_counter() - start) / args.resamples

    difference = max(abs(a - b) / abs(b) for a, b in zip(fast, slow))
    print(f"n={args.samples} reference={args.reference} D={args.dim}; route: "
          f"{'Gram' if distance.through_gram else 'covariance'}")
    print(f"FrechetToReference: {fast_seconds:.3f} s per resample (set-up included)")
    print(f"covariance route:   {slow_seconds:.3f} s per resample")
    print(f"ratio {slow_seconds / fast_seconds:.1f}x; largest relative difference {difference:.1e}")


if __name__ == "__main__":
    main()
