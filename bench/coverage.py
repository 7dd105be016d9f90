"""Coverage of the reports' 95% intervals, by simulation with known truth (issue 12).

    .venv/bin/python bench/coverage.py [--scale 4] [--only fid]

Each scenario draws data whose target value is known (closed form, exact sums, or a Monte Carlo
average far more precise than the intervals), computes the estimate as the evaluation does and
counts how often the interval holds the target. Sizes are the product's: d = 64 classifier
features, 360-550 samples against 500-1437 reference rows, and a small-n case (n = 40, the smoke
profile's scale); coverage differences (metrics.comparisons, conditional on the reference) at 348
and 1,437 reference rows with 1, 3 and 10 times as many samples per set, as the gate compares them.
tests/test_coverage.py runs the same scenarios at `test_replicates` each and requires a measured
coverage in [0.90, 0.99]; this script runs `--scale` times as many and prints the table: scenario,
metric kind, interval method, target, nominal, measured, replicates, mean width.
Scenarios marked * are the bench's only (too slow for the suite, or edge cases outside the band).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genai_platform.metrics.bias import BiasCounts, amplification_estimates, bias_scores  # noqa: E402
from genai_platform.metrics.comparisons import bootstrap_difference, difference  # noqa: E402
from genai_platform.metrics.detectability import FOLDS, detectability_auc, detector  # noqa: E402
from genai_platform.metrics.fid import (EXTRAPOLATION_RATIO, FrechetToReference, fid_estimate,  # noqa: E402
                                        frechet_distance, kid_estimate)  # noqa: E402
from genai_platform.metrics.intervals import (LEVEL, Estimate, difference_estimate, mean_estimate,  # noqa: E402
                                              paired_ratio_difference, ratio_estimate, tv_estimate)
from genai_platform.metrics.manifold import (ManifoldResamples, RealManifold, kth_neighbour_distances,  # noqa: E402
                                             pairwise_distances)


@dataclass(frozen=True)
class Outcome:
    covered: np.ndarray  # per replicate: the interval holds the target
    widths: np.ndarray

    @property
    def coverage(self) -> float:
        return float(self.covered.mean())


def outcome(estimates: list[Estimate], truths) -> Outcome:
    truths = np.broadcast_to(np.asarray(truths, dtype=np.float64), (len(estimates),))
    low = np.array([e.ci_low for e in estimates], dtype=np.float64)
    high = np.array([e.ci_high for e in estimates], dtype=np.float64)
    return Outcome((low <= truths) & (truths <= high), high - low)


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # which interval of catalog.INTERVALS this checks
    method: str
    target: str
    test_replicates: int  # the bench runs --scale times as many
    simulate: Callable[[int, int], Outcome]  # (replicates, seed) -> outcome
    in_test: bool = True  # False: too slow for the suite, the bench only


# ---- FID and KID: Gaussians in d = 64 with known means and covariances

def _gaussians(d: int, shift: float, rng: np.random.Generator):
    """A reference and a model Gaussian (mean, Cholesky factor of the covariance): shift moves the
    model's mean and covariance away from the reference's."""
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    reference = (np.zeros(d), np.linalg.cholesky(mixing @ mixing.T + 0.1 * np.eye(d)))
    moved = mixing + shift * rng.normal(size=(d, d)) / np.sqrt(d)
    model = (3 * shift * rng.normal(size=d) / np.sqrt(d), np.linalg.cholesky(moved @ moved.T + 0.1 * np.eye(d)))
    return reference, model


def _draw(gaussian, rows: int, rng: np.random.Generator) -> np.ndarray:
    mean, factor = gaussian
    return mean + rng.normal(size=(rows, len(mean))) @ factor.T


def fid_infinity(d: int, n: int, r: int, shift: float) -> Callable[[int, int], Outcome]:
    """Target: the Frechet distance from the model's Gaussian to the drawn reference rows' Gaussian."""
    assert n >= EXTRAPOLATION_RATIO * d

    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        reference, model = _gaussians(d, shift, rng)
        model_covariance = model[1] @ model[1].T
        estimates, truths = [], []
        for replicate in range(replicates):
            rows = _draw(reference, r, rng)
            truths.append(frechet_distance(model[0], model_covariance, rows.mean(axis=0), np.cov(rows, rowvar=False)))
            estimates.append(fid_estimate(_draw(model, n, rng), rows, seed=replicate))
        return outcome(estimates, truths)
    return simulate


def fid_fixed_n(d: int, n: int, r: int, shift: float) -> Callable[[int, int], Outcome]:
    """Target: E[plug-in FID of n model draws | this reference set], from 2000 further draws."""
    assert n < EXTRAPOLATION_RATIO * d

    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        reference, model = _gaussians(d, shift, rng)
        rows = _draw(reference, r, rng)
        pool = FrechetToReference(rows, _draw(model, 2000 * n, rng))
        truth = np.mean([pool(np.arange(i * n, (i + 1) * n)) for i in range(2000)])
        return outcome([fid_estimate(_draw(model, n, rng), rows, seed=i) for i in range(replicates)], truth)
    return simulate


def _expected_cubic_kernel(mean1, covariance1, mean2, covariance2) -> float:
    """E[(x . y / d + 1)^3] for independent x ~ N(mean1, covariance1), y ~ N(mean2, covariance2)."""
    d = len(mean1)
    c = mean1 @ mean2 / d + 1
    return float(c ** 3 + 3 * c * (mean2 @ covariance1 @ mean2 + mean1 @ covariance2 @ mean1
                                   + np.trace(covariance1 @ covariance2)) / d ** 2
                 + 6 * (mean2 @ covariance1 @ covariance2 @ mean1) / d ** 3)


def kid_population(d: int, n: int, r: int, shift: float) -> Callable[[int, int], Outcome]:
    """Target: the population MMD^2 between the two Gaussians with the cubic kernel (closed form)."""
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        reference, model = _gaussians(d, shift, rng)
        moments = [(mean, factor @ factor.T) for mean, factor in (model, reference)]
        truth = (_expected_cubic_kernel(*moments[0], *moments[0]) + _expected_cubic_kernel(*moments[1], *moments[1])
                 - 2 * _expected_cubic_kernel(*moments[0], *moments[1]))
        return outcome([kid_estimate(_draw(model, n, rng), _draw(reference, r, rng)) for _ in range(replicates)], truth)
    return simulate


# ---- class TV: multinomial class draws against a fixed reference histogram

def class_tv(n: int, spread: float, classes: int = 10) -> Callable[[int, int], Outcome]:
    """Target: E[TV(histogram of n draws from p, q)], exact from binomial sums; q is a fixed
    1437-label histogram, p = q tilted by log-normal noise of sd `spread` (0: p = q)."""
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        reference = rng.multinomial(1437, np.full(classes, 1 / classes)).astype(np.float64)
        q = reference / reference.sum()
        p = q * np.exp(rng.normal(0, spread, classes))
        p /= p.sum()
        k = np.arange(n + 1)
        truth = 0.5 * sum((stats.binom.pmf(k, n, pk) * np.abs(k / n - qk)).sum() for pk, qk in zip(p, q))
        return outcome([tv_estimate(rng.multinomial(n, p), reference, seed=i) for i in range(replicates)], truth)
    return simulate


# ---- means, ratios, differences of per-unit values

def share(n: int, probability: float) -> Callable[[int, int], Outcome]:
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        return outcome([mean_estimate(rng.random(n) < probability) for _ in range(replicates)], probability)
    return simulate


def ball_counts(n: int) -> Callable[[int, int], Outcome]:
    """Density-like values: negative binomial counts (mean 5, overdispersed) over k = 5; target: 1."""
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        return outcome([mean_estimate(rng.negative_binomial(2, 2 / 7, n) / 5) for _ in range(replicates)], 1.0)
    return simulate


def sentence_scores(n: int, zero_share: float) -> Callable[[int, int], Outcome]:
    """BLEU-like values: 0 with probability zero_share, else Beta(2, 5); target: 2/7 (1 - zero_share)."""
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        draws = [np.where(rng.random(n) < zero_share, 0.0, rng.beta(2, 5, n)) for _ in range(replicates)]
        return outcome([mean_estimate(values) for values in draws], 2 / 7 * (1 - zero_share))
    return simulate


def per_character(documents: int) -> Callable[[int, int], Outcome]:
    """Documents of log-normal lengths whose nats per character vary by document (Gamma, mean
    1.5, independent of the length); target: E[nats] / E[characters] = 1.5."""
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        estimates = []
        for _ in range(replicates):
            characters = np.ceil(rng.lognormal(5.5, 0.9, documents))
            estimates.append(ratio_estimate(characters * rng.gamma(6.0, 0.25, documents), characters))
        return outcome(estimates, 1.5)
    return simulate


def sentiment_gap(per_group: int, gap: float) -> Callable[[int, int], Outcome]:
    """VADER-like compound scores: 0 with probability 0.4, else uniform on [-1, 1] moved by the
    group's shift; target: the difference of the groups' expectations, 0.6 x gap."""
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)

        def group(shift: float) -> np.ndarray:
            return np.where(rng.random(per_group) < 0.4, 0.0, np.clip(rng.uniform(-1, 1, per_group) + shift, -1, 1))
        # clip moves the mean: the target comes from a large draw of each group
        truth = np.mean(np.where(rng.random(2_000_000) < 0.4, 0.0, np.clip(rng.uniform(-1, 1, 2_000_000) + gap, -1, 1)))
        return outcome([difference_estimate(group(gap), group(0.0)) for _ in range(replicates)], truth)
    return simulate


# ---- paired differences recorded as metric rows (the watermark's cost: marked minus unmarked, same seeds)

def paired_fid_difference(n: int = 120, d: int = 8, shift: float = 0.3) -> Callable[[int, int], Outcome]:
    """Two sets sharing their noise (sample i of both from the same draw), the second moved by `shift`,
    against one fixed reference set; target: E[FID_N(first) - FID_N(second) | reference], a 1,500-draw
    average. The interval: comparisons.bootstrap_difference, paired (mark_fid_cost)."""
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        reference = rng.normal(size=(300, d))
        everything = np.arange(n)

        def pair() -> tuple[np.ndarray, np.ndarray]:
            common = rng.normal(0.1, 1.0, size=(n, d))
            return common + rng.normal(size=(n, d)), common + rng.normal(size=(n, d)) + shift

        def fid_difference(first, second) -> float:
            return FrechetToReference(reference, first)(everything) - FrechetToReference(reference, second)(everything)
        truth = np.mean([fid_difference(*pair()) for _ in range(1500)])
        return outcome([bootstrap_difference(FrechetToReference(reference, first), FrechetToReference(reference, second),
                                             n, n, replicate, paired=True)
                        for replicate, (first, second) in enumerate(pair() for _ in range(replicates))], truth)
    return simulate


def twin_documents_cost(documents: int, cost: float = 0.1) -> Callable[[int, int], Outcome]:
    """Documents written twice from the same seed, unmarked and marked: lengths log-normal, the marked one's
    within 20% of the unmarked one's; nats per character Gamma (mean 1.5) per unmarked document, `cost` more
    plus noise for its marked twin. Target: E[nats_m] / E[chars_m] - E[nats_u] / E[chars_u] from 2,000,000 pairs.
    The interval: intervals.paired_ratio_difference, the delete-one jackknife over pairs (mark_bpc_cost)."""
    def draw(n: int, rng: np.random.Generator):
        chars = np.ceil(rng.lognormal(5.0, 0.8, n))
        marked_chars = np.ceil(chars * rng.uniform(0.8, 1.2, n))
        rate = rng.gamma(6.0, 0.25, n)
        marked_rate = rate + cost + rng.normal(0, 0.05, n)
        return marked_rate * marked_chars, marked_chars, rate * chars, chars

    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        nats_m, chars_m, nats_u, chars_u = draw(2_000_000, rng)
        truth = nats_m.sum() / chars_m.sum() - nats_u.sum() / chars_u.sum()
        estimates = []
        for replicate in range(replicates):
            nats_m, chars_m, nats_u, chars_u = draw(documents, rng)
            estimates.append(paired_ratio_difference(nats_m, chars_m, nats_u, chars_u))
        return outcome(estimates, truth)
    return simulate


# ---- amplification: counts of group words and target co-occurrences per text

def amplification(texts: int, model_share: float, training_share: float) -> Callable[[int, int], Outcome]:
    """Texts with Poisson(1) group mentions (female share as given; two groups of 20 words) and
    Poisson(0.05) occurrences of 30 target words; target: E[score of n model texts] / E[score of n
    training texts] per score, each expectation a 4000-draw average; 8 reference sets as in bias.py."""
    def counts(n: int, female: float, rng: np.random.Generator) -> BiasCounts:
        mentions = rng.poisson([female, 1 - female], size=(n, 2)).astype(np.float64)
        targets = rng.poisson(0.05, size=(n, 30)).astype(np.float64)
        return BiasCounts(np.array([20.0, 20.0]), mentions, {"profession": targets[:, :, None] * mentions[:, None, :]})

    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)

        def expected(female: float) -> dict[str, float]:
            draws = [bias_scores(counts(texts, female, rng)) for _ in range(4000)]
            return {score: float(np.nanmean([d[score] for d in draws])) for score in draws[0]}
        model, training = expected(model_share), expected(training_share)
        estimates, truths = [], []
        for _ in range(replicates):
            references = [counts(texts, training_share, rng) for _ in range(8)]
            for score, estimate in amplification_estimates(counts(texts, model_share, rng), references, rng).items():
                estimates.append(estimate)
                truths.append(model[score] / training[score])
        return outcome(estimates, truths)
    return simulate


# ---- manifold metrics through RealManifold, Gaussians in d = 16

MONTE_CARLO_DRAWS = 100_000  # target error about 0.0015 on a share, a twentieth of an interval's half-width


def _inside(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Per point: inside at least one ball (centres, radii), strictly."""
    out = np.zeros(len(points), dtype=bool)
    for rows, d in pairwise_distances(points, centres):
        out[rows] = (d < radii[None, :]).any(axis=1)
    return out


def _covered_share(real: np.ndarray, samples: np.ndarray) -> float:
    """Coverage (k=5) without an interval: the share of real points whose ball holds a sample."""
    (radius,) = kth_neighbour_distances(real, 5)
    nearest = np.concatenate([d.min(axis=1) for _, d in pairwise_distances(real, samples)])
    return float(np.mean(nearest < radius))


def manifold(metric: str, n: int = 300, r: int = 500, d: int = 16) -> Callable[[int, int], Outcome]:
    """Precision and density: reference set fixed, samples redrawn; target: the model distribution's
    expectation of the per-sample value against that reference (MONTE_CARLO_DRAWS model draws).
    Recall and coverage: sample set fixed, reference sets redrawn; recall's target: the real
    distribution's share inside the samples' k=3 balls (MONTE_CARLO_DRAWS real draws); coverage's:
    the expected share of reference points whose k=5 ball holds a sample (mean over 1000 further
    reference sets)."""
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        scale = np.linspace(0.7, 1.3, d)
        real = lambda rows: rng.normal(size=(rows, d)) * scale  # noqa: E731
        fake = lambda rows: 0.2 + rng.normal(size=(rows, d)) * scale * 1.1  # noqa: E731
        if metric in ("precision", "density"):
            fixed = RealManifold(real(r))
            big = fake(MONTE_CARLO_DRAWS)
            if metric == "precision":
                truth = _inside(big, fixed.real, fixed.radius_pr).mean()
            else:
                balls = pairwise_distances(big, fixed.real)
                truth = sum(int((dist < fixed.radius_dc[None, :]).sum()) for _, dist in balls) / (fixed.k_dc * len(big))
            return outcome([fixed.metrics(fake(n))[metric] for _ in range(replicates)], truth)
        samples = fake(n)
        if metric == "recall":
            (radius,) = kth_neighbour_distances(samples, 3)
            truth = _inside(real(MONTE_CARLO_DRAWS), samples, radius).mean()
        else:
            truth = np.mean([_covered_share(real(r), samples) for _ in range(1000)])
        return outcome([RealManifold(real(r)).metrics(samples)[metric] for _ in range(replicates)], truth)
    return simulate


# ---- coverage differences: two generated sets scored on one fixed reference set, digit-shaped in d = 64

def _digit_classes() -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Per class of the 8x8 digits (pixels 0-16, d = 64): mean, Cholesky factor of the covariance
    (plus 0.5 on the diagonal, so that constant pixels vary), share of the digits."""
    digits = load_digits()
    out = []
    for label in range(10):
        rows = digits.data[digits.target == label]
        covariance = np.cov(rows, rowvar=False) + 0.5 * np.eye(rows.shape[1])
        out.append((rows.mean(axis=0), np.linalg.cholesky(covariance), len(rows) / len(digits.data)))
    return out


def _digit_draws(classes, temperature: float, uniforms: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Class Gaussians with their noise scaled by `temperature`: row i's class from uniforms[i]."""
    label = np.minimum(np.searchsorted(np.cumsum([share for *_, share in classes]), uniforms), len(classes) - 1)
    out = np.empty_like(noise)
    for c, (mean, factor, _) in enumerate(classes):
        rows = label == c
        out[rows] = mean + temperature * noise[rows] @ factor.T
    return out


def _ball_shares(points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Per ball (centres, radii): the share of the points strictly inside it."""
    hits = np.zeros(len(centres))
    for _, d in pairwise_distances(points, centres):
        hits += (d < radii[None, :]).sum(axis=0)
    return hits / len(points)


def coverage_difference(reference_rows: int, samples: int, paired: bool,
                        temperatures: tuple[float, float] = (1.2, 1.4)) -> Callable[[int, int], Outcome]:
    """Coverage of one generated set minus another's, scored on one fixed reference as
    ImageScorer.compare scores them (RealManifold, ManifoldResamples, comparisons.difference). The real
    distribution: class Gaussians of the 8x8 digits, d = 64; the reference: `reference_rows` draws,
    fixed. Paired: a challenger and its champion, those Gaussians at `temperatures`, sample i of both
    from the same class draw and noise (4% of the champion's noise variance redrawn). Unpaired: two
    families, a kernel density around 1,500 further real draws (pixel sd 2) and the Gaussians at the
    first temperature. Target: E[coverage of `samples` fresh draws | reference] of each, the mean over
    reference points of 1 - (1 - p)^samples with p the share of 200 x `samples` further draws in the
    point's ball (Monte Carlo sd about a thirtieth of the interval's half-width), first minus second."""
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        classes = _digit_classes()
        d = len(classes[0][0])
        reference = _digit_draws(classes, 1.0, rng.random(reference_rows), rng.normal(size=(reference_rows, d)))
        manifold = RealManifold(reference)
        pool = _digit_draws(classes, 1.0, rng.random(1500), rng.normal(size=(1500, d)))

        def first(uniforms, noise):
            return (_digit_draws(classes, temperatures[0], uniforms, noise) if paired
                    else pool[(uniforms * len(pool)).astype(int)] + 2.0 * noise)

        def second(uniforms, noise):
            if paired:
                return _digit_draws(classes, temperatures[1], uniforms,
                                    np.sqrt(0.96) * noise + 0.2 * rng.normal(size=noise.shape))
            return _digit_draws(classes, temperatures[0], uniforms, noise)

        def expected_coverage(draw) -> float:
            draws = 200 * samples
            inside = _ball_shares(draw(rng.random(draws), rng.normal(size=(draws, d))), reference, manifold.radius_dc)
            return float(np.mean(1 - (1 - inside) ** samples))
        truth = expected_coverage(first) - expected_coverage(second)
        estimates = []
        for replicate in range(replicates):
            uniforms, noise = rng.random(samples), rng.normal(size=(samples, d))
            sets = (first(uniforms, noise),
                    second(uniforms, noise) if paired else second(rng.random(samples), rng.normal(size=(samples, d))))
            statistics = [partial(ManifoldResamples(manifold, s).metric, "coverage") for s in sets]
            estimates.append(difference("coverage", *statistics, samples, samples, replicate, paired, reference_rows))
        return outcome(estimates, truth)
    return simulate


# ---- detectability: a classifier telling samples from real rows, two Gaussians with one covariance

def _detection_problem(d: int, bayes_auc: float, rng: np.random.Generator):
    """Real rows N(0, S) and samples N(shift, S): S mixed, its features on scales 0.5 to 3 (so that
    standardising matters); the shift along a random direction, of Mahalanobis length sqrt(2)
    Phi^-1(bayes_auc), so that the best linear score reaches AUC bayes_auc. Returns shift, S, chol(S)."""
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    scales = np.linspace(0.5, 3.0, d)
    covariance = (mixing @ mixing.T + 0.1 * np.eye(d)) * np.outer(scales, scales)
    direction = rng.normal(size=d)
    length = np.sqrt(2) * stats.norm.ppf(bayes_auc)
    shift = direction * length / np.sqrt(direction @ np.linalg.solve(covariance, direction))
    return shift, covariance, np.linalg.cholesky(covariance)


def detectability(d: int, samples: int, real: int, bayes_auc: float, fits: int = 500) -> Callable[[int, int], Outcome]:
    """Target: the expected AUC on new data of detectability.detector() fitted on a training fold's rows
    ((K - 1)/K of each side), over training sets: each fit's AUC in closed form for a linear score w.x on
    the two Gaussians, Phi(w.shift / sqrt(2 w'Sw)), averaged over `fits` fresh training sets (Monte Carlo
    sd under a fiftieth of the interval's half-width); exactly 0.5 when bayes_auc is 0.5."""
    def simulate(replicates: int, seed: int) -> Outcome:
        rng = np.random.default_rng(seed)
        shift, covariance, factor = _detection_problem(d, bayes_auc, rng)

        def draw(sample_rows: int, real_rows: int) -> tuple[np.ndarray, np.ndarray]:
            return (shift + rng.normal(size=(sample_rows, d)) @ factor.T, rng.normal(size=(real_rows, d)) @ factor.T)

        def fitted_auc(sample_rows: int, real_rows: int) -> float:
            moved, unmoved = draw(sample_rows, real_rows)
            labels = np.r_[np.ones(sample_rows), np.zeros(real_rows)]
            model = detector().fit(np.vstack([moved, unmoved]), labels)
            weights = model.decision_function(np.eye(d)) - model.decision_function(np.zeros((1, d)))
            return float(stats.norm.cdf(weights @ shift / np.sqrt(2 * weights @ covariance @ weights)))
        with threadpool_limits(1):  # small fits: a second BLAS thread beside other work made them 5x slower
            if bayes_auc == 0.5:
                truth = 0.5
            else:
                training = [round(rows * (FOLDS - 1) / FOLDS) for rows in (samples, real)]
                truth = np.mean([fitted_auc(*training) for _ in range(fits)])
            return outcome([detectability_auc(*draw(samples, real), seed=i) for i in range(replicates)], truth)
    return simulate


SCENARIOS = [
    Scenario("FID-inf, d=64 n=360 r=1437", "fid", "jackknife, 1/N-extrapolated, t", "FD(model, reference Gaussian)",
             200, fid_infinity(64, 360, 1437, 0.3)),
    Scenario("FID-inf, d=64 n=550 r=1437 far", "fid", "jackknife, 1/N-extrapolated, t",
             "FD(model, reference Gaussian)", 200, fid_infinity(64, 550, 1437, 1.0), in_test=False),
    Scenario("FID_N, d=64 n=120 r=500", "fid", "jackknife, t", "E[FID_N | reference]", 200,
             fid_fixed_n(64, 120, 500, 0.3)),
    Scenario("FID_N, d=64 n=40 r=500", "fid", "jackknife, t", "E[FID_N | reference]", 300,
             fid_fixed_n(64, 40, 500, 0.3), in_test=False),
    Scenario("FID_N, d=512 n=200 r=1000", "fid", "jackknife, t", "E[FID_N | reference]", 100,
             fid_fixed_n(512, 200, 1000, 0.3), in_test=False),
    Scenario("KID, d=64 n=360 r=500", "kid", "two-sample jackknife, normal", "population MMD^2", 200,
             kid_population(64, 360, 500, 0.1)),
    Scenario("KID, d=64 n=550 r=1437", "kid", "two-sample jackknife, normal", "population MMD^2", 100,
             kid_population(64, 550, 1437, 0.3), in_test=False),
    Scenario("KID, d=64 n=360 r=1437 same", "kid", "two-sample jackknife, normal", "population MMD^2 = 0", 100,
             kid_population(64, 360, 1437, 0.0), in_test=False),
    Scenario("KID, d=64 n=40 r=500", "kid", "two-sample jackknife, normal", "population MMD^2", 300,
             kid_population(64, 40, 500, 0.1)),
    Scenario("class TV, n=360 tilted", "class_tv", "multinomial bootstrap sd, normal", "E[TV_N | reference]", 400,
             class_tv(360, 0.5)),
    Scenario("class TV, n=550 equal", "class_tv", "multinomial bootstrap sd, normal", "E[TV_N | reference]", 400,
             class_tv(550, 0.0), in_test=False),
    Scenario("class TV, n=40 near", "class_tv", "multinomial bootstrap sd, normal", "E[TV_N | reference]", 400,
             class_tv(40, 0.15)),
    Scenario("share p=0.03, n=360", "share", "Wilson score", "probability", 1000, share(360, 0.03)),
    Scenario("share p=0, n=360", "share", "Wilson score", "probability", 1000, share(360, 0.0), in_test=False),
    Scenario("share p=0.5, n=40", "share", "Wilson score", "probability", 1000, share(40, 0.5)),
    Scenario("mean, ball counts / k, n=360", "mean", "Student t", "expectation", 1000, ball_counts(360)),
    Scenario("mean, BLEU-like 40% zeros, n=40", "mean", "Student t", "expectation", 1000, sentence_scores(40, 0.4)),
    Scenario("ratio, 50 documents", "ratio", "jackknife, t", "E[num] / E[den]", 1000, per_character(50)),
    Scenario("ratio, 20 documents", "ratio", "jackknife, t", "E[num] / E[den]", 1000, per_character(20)),
    Scenario("ratio, 200 documents", "ratio", "jackknife, t", "E[num] / E[den]", 1000, per_character(200)),
    Scenario("difference, 100 vs 100", "difference", "Welch t", "difference of expectations", 1000,
             sentiment_gap(100, 0.1)),
    Scenario("difference, 10 vs 10", "difference", "Welch t", "difference of expectations", 1000,
             sentiment_gap(10, 0.3)),
    Scenario("paired FID diff., d=8 n=120", "fid_difference", "basic bootstrap, paired", "E[FID_1 - FID_2 | ref.]",
             100, paired_fid_difference()),
    Scenario("paired ratio diff., 50 documents", "ratio_difference", "delete-one jackknife over pairs, t", "E[n]/E[c] diff.",
             300, twin_documents_cost(50)),
    Scenario("paired ratio diff., 5 documents", "ratio_difference", "delete-one jackknife over pairs, t", "E[n]/E[c] diff.",
             300, twin_documents_cost(5)),
    Scenario("amplification, 50 texts, none", "amplification", "jackknife + reference sets, delta method",
             "E[score_n model] / E[score_n train]", 150, amplification(50, 0.35, 0.35)),
    Scenario("amplification, 50 texts, skewed", "amplification", "jackknife + reference sets, delta method",
             "E[score_n model] / E[score_n train]", 150, amplification(50, 0.2, 0.35)),
    Scenario("precision, d=16 n=300 r=500", "precision", "Wilson score", "P_model(in reference manifold)", 200,
             manifold("precision")),
    Scenario("density, d=16 n=300 r=500", "density", "Student t", "E_model[balls holding x] / k", 200,
             manifold("density")),
    Scenario("recall, d=16 n=300 r=500", "recall", "Wilson score", "P_real(in sample manifold)", 200,
             manifold("recall")),
    Scenario("coverage, d=16 n=300 r=500", "coverage", "delete-d jackknife, real points, z",
             "E[share of covered real balls]", 150, manifold("coverage")),
    *[Scenario(f"coverage diff., r={r} n={n}{' paired' if paired else ''}", "coverage_difference",
               "jackknife x (1-e^-rate)/rate, z", "E[C_1 - C_2 | reference]", replicates,
               coverage_difference(r, n, paired), in_test)
      for r, n, paired, replicates, in_test in ((348, 348, True, 120, True), (348, 348, False, 120, True),
                                                 (348, 1044, True, 100, False), (348, 1044, False, 100, False),
                                                 (348, 3480, True, 100, False),
                                                 (1437, 1437, True, 50, False), (1437, 1437, False, 50, False),
                                                 (1437, 4311, True, 25, False), (1437, 4311, False, 25, False))],
    *[Scenario(f"detectability, d={d} n={n} r={r} {label}", "detectability", "pooled CV, DeLong x fold corr., logit z",
               "E[AUC of a fold-size model]", replicates, detectability(d, n, r, bayes_auc), in_test)
      for d, n, r, bayes_auc, label, replicates, in_test in (
          (16, 200, 200, 0.64, "~0.6", 200, True), (16, 200, 200, 0.5, "null", 250, False),
          (16, 200, 200, 0.82, "~0.8", 250, False), (16, 1000, 1000, 0.5, "null", 100, False),
          (16, 1000, 1000, 0.61, "~0.6", 100, False), (16, 1000, 1000, 0.805, "~0.8", 100, False),
          (64, 200, 200, 0.5, "null", 150, False), (64, 200, 200, 0.70, "~0.6", 150, False),
          (64, 200, 200, 0.86, "~0.8", 150, False), (64, 1000, 1000, 0.63, "~0.6", 75, False),
          (64, 1000, 1000, 0.81, "~0.8", 75, False), (16, 600, 200, 0.5, "null", 150, False),
          (16, 600, 200, 0.82, "~0.8", 150, False), (16, 200, 200, 0.97, "~0.96", 250, False))],
    # both sets cover 99.9-100%: the difference's true spread is under one reference point, and the interval
    # keeps about two points either side (coverage_difference's add-one smoothing)
    Scenario("coverage diff., r=348 n=1044 both ~1", "coverage_difference", "jackknife x (1-e^-rate)/rate, z",
             "E[C_1 - C_2 | reference]", 100, coverage_difference(348, 1044, True, (1.0, 0.8)), in_test=False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=4.0, help="replicates = scale x the test's")
    parser.add_argument("--only", default=None, help="run only scenarios of this kind")
    args = parser.parse_args()
    print(f"{'scenario':34s} {'kind':13s} {'interval':42s} {'target':36s} nominal measured  reps  mean width  seconds")
    for scenario in SCENARIOS:
        if args.only and scenario.kind != args.only:
            continue
        replicates = int(scenario.test_replicates * args.scale)
        start = time.perf_counter()
        result = scenario.simulate(replicates, 1)  # seed 1: the test runs seed 0
        name = scenario.name + ("" if scenario.in_test else " *")
        print(f"{name:34s} {scenario.kind:13s} {scenario.method:42s} {scenario.target:36s} {LEVEL:7.2f} "
              f"{result.coverage:8.3f} {len(result.covered):5d} {result.widths.mean():11.4g} "
              f"{time.perf_counter() - start:8.1f}")


if __name__ == "__main__":
    main()
