"""Coverage of the paired-difference intervals (metrics.comparisons) with more replicates than the tests.

    .venv/bin/python bench/comparisons.py [--replicates 400]

The simulation of tests/test_comparisons.py: two sets scored against one fixed reference set, from one
distribution (true difference 0), as two families (independent) and as a challenger and its champion
(paired: sample i of both shares its noise). Prints, per metric and design, the interval method, the
share of replicates whose 95% interval holds 0, and the mean interval width.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_comparisons import differences, draw_pair, reference_set  # noqa: E402

from genai_platform.metrics.comparisons import HALF_SAMPLED, JACKKNIFED  # noqa: E402
from genai_platform.metrics.manifold import RealManifold  # noqa: E402


def method(metric: str) -> str:
    return ("delete-1 jackknife" if metric in JACKKNIFED else "half-sampling" if metric in HALF_SAMPLED
            else "basic bootstrap")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=400)
    args = parser.parse_args()
    reference, histogram = reference_set()
    manifold = RealManifold(reference)
    print(f"| metric | design | interval | nominal | measured coverage | mean width |  ({args.replicates} replicates)")
    print("|---|---|---|---|---|---|")
    for paired in (False, True):
        rng = np.random.default_rng(20 + paired)
        covered: dict[str, int] = {}
        widths: dict[str, list[float]] = {}
        for replicate in range(args.replicates):
            first, second = draw_pair(rng, paired)
            for metric, estimate in differences(reference, histogram, manifold, first, second, paired,
                                                replicate).items():
                covered[metric] = covered.get(metric, 0) + (estimate.ci_low <= 0.0 <= estimate.ci_high)
                widths.setdefault(metric, []).append(estimate.ci_high - estimate.ci_low)
        design = "challenger vs its champion (paired)" if paired else "family vs family"
        for metric, count in covered.items():
            print(f"| {metric} | {design} | {method(metric)} | 0.95 | {count / args.replicates:.3f} | "
                  f"{np.mean(widths[metric]):.4g} |")


if __name__ == "__main__":
    main()
