"""Memorization: generated images that copy a training image, text that repeats training text.

Images: a sample whose nearest training image is much closer than the second nearest
(d1 / d2 < 1/3, in pixel space) counts as a copy, the ratio test of Lowe (2004) used for
generative models by Somepalli et al. (2023); the near-copy test, which sees through
disguises: a sample matched to a training image up to a small shift, a horizontal flip, a
rescale (a crop resized back) and a small rotation, or to a blend of two training images, more
closely than all but a few unseen real images are (NearCopyTest); and, in a feature space, the
three-sample data-copying statistic C_T of Meehan, Chaudhuri & Dasgupta (2020): are samples
closer to the training set than unseen real data is? Text: the share of generated word 8-grams
found verbatim in the training split; the share of words inside a training 4-gram beyond what
held-out text has, which catches text stitched from training phrases (McCoy et al., 2021, judge
n-gram novelty against human text the same way); and the extraction rate of Carlini et al.
(2021): greedy continuations of training prefixes that reproduce the true next tokens exactly.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from genai_platform.metrics.fid import finite_matrix
from genai_platform.metrics.intervals import difference_estimate, mean_estimate, ratio_estimate
from genai_platform.metrics.manifold import pairwise_distances
from genai_platform.records import Estimate

COPY_RATIO = 1 / 3
MEMORIZATION_NGRAM = 8
STITCHING_NGRAM = 4  # a word inside a training n-gram of any length n >= 4 is inside a training 4-gram


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


# ---- near copies: training images under small transformations, or blends of two, calibrated on unseen data

NEAR_COPY_SHARE = 0.05  # of unseen real images the near-copy test flags: its false-alarm rate
SHIFT = 2  # pixels each way that a training image is moved to match a sample
ROTATIONS = (-6.0, -3.0, 0.0, 3.0, 6.0)  # degrees a normalised sample is turned to match
ZOOM_LIMIT = 1.5  # normalisation rescales an image by at most this factor either way
CANDIDATES = 8  # training images per retrieval whose transformed versions are compared exactly
KTH_NEIGHBOUR = 5  # a match's distance is taken relative to the distance to this nearest training image
BLEND_BASES = 4  # nearest training images each tried as one part of a two-image blend


def _image_batch(images, name: str) -> torch.Tensor:
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"{name}: need N x C x H x W images with N >= 1, got shape {images.shape}")
    if not np.isfinite(images).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return torch.from_numpy(images)


@functools.lru_cache(maxsize=8)
def _blur_matrix(size: int, sd: float) -> torch.Tensor:
    """[size, size]: row i holds the Gaussian weights (sd pixels, cut at 3 sd, summing to 1) that pixel i
    gives its neighbours; those beyond the frame are zeros."""
    radius = max(1, int(3 * sd + 0.5))  # as scipy.ndimage.gaussian_filter cuts it
    kernel = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sd ** 2))
    offsets = np.arange(size)[None, :] - np.arange(size)[:, None]
    weights = np.where(np.abs(offsets) <= radius, kernel[np.clip(offsets + radius, 0, 2 * radius)], 0.0)
    return torch.from_numpy((weights / kernel.sum()).astype(np.float32))


def _blurred(images: torch.Tensor, sd: float) -> torch.Tensor:
    """Each channel blurred by a Gaussian of `sd` pixels (zero beyond the frame): pixel noise and
    sub-pixel resampling matter less than the strokes. Two matrix products (rows, columns), which CPUs run
    far faster than a one-channel convolution over many images."""
    height, width = images.shape[-2:]
    return _blur_matrix(height, sd) @ images @ _blur_matrix(width, sd).T


def _centroid_and_radius(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each image's intensity centroid (row, column) and radius of gyration, in pixels (a blank image:
    the centre and 0)."""
    _, _, height, width = images.shape
    weights = images.clamp_min(0).sum(1)
    mass = weights.sum((1, 2))
    rows = torch.arange(height, dtype=torch.float32)[None, :, None]
    columns = torch.arange(width, dtype=torch.float32)[None, None, :]
    safe = mass.clamp_min(1e-8)
    cy, cx = (weights * rows).sum((1, 2)) / safe, (weights * columns).sum((1, 2)) / safe
    spread = (weights * ((rows - cy[:, None, None]) ** 2 + (columns - cx[:, None, None]) ** 2)).sum((1, 2)) / safe
    blank = mass <= 1e-8
    return (torch.where(blank, (height - 1) / 2, cy), torch.where(blank, (width - 1) / 2, cx),
            torch.where(blank, 0.0, spread.sqrt()))


def _normalised(images: torch.Tensor, radius: float, degrees: float = 0.0) -> torch.Tensor:
    """Each image resampled (bilinear) with its centroid at the centre of the frame and its radius of
    gyration at `radius`, then turned by `degrees`: a shift or a crop resized back is undone."""
    n, channels, height, width = images.shape
    cy, cx, spread = _centroid_and_radius(images)
    zoom = torch.where(spread > 0, (spread / radius).clamp(1 / ZOOM_LIMIT, ZOOM_LIMIT), 1.0)
    cos, sin = float(np.cos(np.deg2rad(degrees))), float(np.sin(np.deg2rad(degrees)))
    theta = torch.zeros(n, 2, 3)  # output to input coordinates, both in [-1, 1] (align_corners=False)
    theta[:, 0, 0], theta[:, 0, 1] = zoom * cos, -zoom * sin * height / width
    theta[:, 1, 0], theta[:, 1, 1] = zoom * sin * width / height, zoom * cos
    theta[:, 0, 2], theta[:, 1, 2] = (2 * cx + 1) / width - 1, (2 * cy + 1) / height - 1
    grid = F.affine_grid(theta, [n, channels, height, width], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _shift_offsets() -> list[tuple[int, int]]:
    return [(dy, dx) for dy in range(-SHIFT, SHIFT + 1) for dx in range(-SHIFT, SHIFT + 1)]


def _shifted(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """The images moved dy rows down and dx columns right, zero fill."""
    height, width = images.shape[-2:]
    padded = F.pad(images, (SHIFT, SHIFT, SHIFT, SHIFT))
    return padded[..., SHIFT - dy:SHIFT - dy + height, SHIFT - dx:SHIFT - dx + width]


def _shifted_energies(images: torch.Tensor) -> torch.Tensor:
    """[n, offsets]: the squared norm of each image moved by each _shift_offsets() offset (what stays in
    the frame), from one integral image instead of the moved copies."""
    _, _, height, width = images.shape
    integral = F.pad((images ** 2).sum(1).cumsum(1).cumsum(2), (1, 0, 1, 0))
    energies = []
    for dy, dx in _shift_offsets():
        y0, y1, x0, x1 = max(0, -dy), min(height, height - dy), max(0, -dx), min(width, width - dx)
        energies.append(integral[:, y1, x1] - integral[:, y0, x1] - integral[:, y1, x0] + integral[:, y0, x0])
    return torch.stack(energies, 1)


def _nearest(queries: torch.Tensor, reference: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the k nearest reference rows of every query row, nearest first (ranked by
    |r|^2 - 2 q . r, the squared distance less |q|^2)."""
    return ((reference ** 2).sum(1) - 2 * queries @ reference.T).topk(k, dim=1, largest=False).indices


class InvariantMatcher:
    """The training images prepared for matching samples up to small transformations.

    ratios(images) gives each image three match ratios, one per way of matching, each a distance between
    Gaussian-blurred images (sd max(0.5, height / 28) px) over the distance to the KTH_NEIGHBOUR-th
    nearest training image in the same space, so that dense regions of the data (a plain digit 1) do not
    look like copies: (1) the best training image moved by up to SHIFT pixels and/or flipped
    left-right, exactly (zero fill, as a shifted copy has); (2) both normalised (centroid and radius of
    gyration, _normalised) and the sample turned by each of ROTATIONS; (3) the sample's residual after
    least squares on two training images, one of its BLEND_BASES nearest and the one that explains most
    of the rest. Candidates for (1) and (2) come from nearest-neighbour retrieval on 2x-pooled images
    (raw and normalised, sample and its mirror image), CANDIDATES each. A copy scores about 0; unseen
    real images about 0.5 (28-px digits)."""

    def __init__(self, training):
        training = _image_batch(training, "training images")
        self.blur = max(0.5, training.shape[-2] / 28)
        self.pool = 2 if training.shape[-2] >= 16 else 1
        self.radius = float(_centroid_and_radius(training)[2].median())
        self._keep(_blurred(training, self.blur), _blurred(_normalised(training, self.radius), self.blur))

    def _keep(self, raw: torch.Tensor, normalised: torch.Tensor) -> None:
        """The prepared training images, and how many neighbours each step uses among them."""
        self.raw, self.normalised = raw, normalised
        self.raw_coarse, self.normalised_coarse = self._coarse(raw), self._coarse(normalised)
        self.k = min(KTH_NEIGHBOUR, len(raw))
        self.candidates = min(max(CANDIDATES, KTH_NEIGHBOUR), len(raw))
        self.bases = min(BLEND_BASES, self.candidates)

    def subset(self, indices) -> InvariantMatcher:
        """The matcher of training[indices], from this one's prepared images (and its normalising radius)."""
        indices = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        part = copy.copy(self)
        part._keep(self.raw[indices], self.normalised[indices])
        return part

    def _coarse(self, blurred: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool2d(blurred, self.pool) if self.pool > 1 else blurred
        return pooled.reshape(len(pooled), -1)

    def ratios(self, images, chunk: int = 256) -> np.ndarray:
        """[N, 3]: each image's ratio for each way of matching (shifted or mirrored, normalised and turned,
        blend of two); lower is closer."""
        images = _image_batch(images, "images")
        if images.shape[1:] != self.raw.shape[1:]:
            raise ValueError(f"images are {tuple(images.shape[1:])}, the training images {tuple(self.raw.shape[1:])}")
        return np.concatenate([self._chunk_ratios(images[start:start + chunk])
                               for start in range(0, len(images), chunk)])

    def _chunk_ratios(self, images: torch.Tensor) -> np.ndarray:
        raw = {mirrored: _blurred(images.flip(-1) if mirrored else images, self.blur) for mirrored in (False, True)}
        normalised = {mirrored: _blurred(_normalised(images.flip(-1) if mirrored else images, self.radius), self.blur)
                      for mirrored in (False, True)}
        raw_nearest = {m: _nearest(self._coarse(raw[m]), self.raw_coarse, self.candidates) for m in raw}
        normalised_nearest = {m: _nearest(self._coarse(normalised[m]), self.normalised_coarse, self.candidates)
                              for m in normalised}
        flat = raw[False].reshape(len(images), -1)
        raw_distances = (flat[:, None] - self.raw[raw_nearest[False]].flatten(2)).norm(dim=2)
        kth_raw = raw_distances.sort(dim=1).values[:, self.k - 1]
        shifted = self._shifted_distance(flat, {m: torch.cat([raw_nearest[m], normalised_nearest[m]], 1) for m in raw})
        rotated, kth_normalised = self._rotated_distance(images, normalised, normalised_nearest)
        blend = self._blend_residual(flat, raw_nearest[False][:, :self.bases])
        ratios = torch.stack([shifted / kth_raw.clamp_min(1e-12), rotated / kth_normalised.clamp_min(1e-12),
                              blend / kth_raw.clamp_min(1e-12)], 1)
        return ratios.numpy().astype(np.float64)

    def _shifted_distance(self, flat: torch.Tensor, candidates: dict[bool, torch.Tensor]) -> torch.Tensor:
        """Distance to the nearest candidate moved by any offset up to SHIFT, or mirrored and moved:
        |x - moved(c)|^2 = |x|^2 + |moved(c)|^2 - 2 x . moved(c), where x . moved(c) = moved back(x) . c."""
        n = len(flat)
        sample = flat.view(n, *self.raw.shape[1:])
        moved_back = torch.stack([_shifted(sample, -dy, -dx).reshape(n, -1) for dy, dx in _shift_offsets()], 2)
        best = torch.full((n,), float("inf"))
        for mirrored, indices in candidates.items():
            found = self.raw[indices.reshape(-1)]
            found = found.flip(-1) if mirrored else found
            products = found.view(n, indices.shape[1], -1) @ moved_back
            squared = (flat ** 2).sum(1)[:, None, None] + _shifted_energies(found).view(products.shape) - 2 * products
            best = torch.minimum(best, squared.flatten(1).min(1).values)
        return best.clamp_min(0).sqrt()

    def _rotated_distance(self, images: torch.Tensor, normalised: dict[bool, torch.Tensor],
                          nearest: dict[bool, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Distance between the normalised sample, turned by each of ROTATIONS (and mirrored), and its nearest
        normalised candidate; and the k-th smallest distance of the sample as it stands."""
        best = torch.full((len(images),), float("inf"))
        kth = None
        for mirrored, indices in nearest.items():
            found = self.normalised[indices].flatten(2)
            for degrees in ROTATIONS:
                turned = normalised[mirrored] if degrees == 0 else _blurred(
                    _normalised(images.flip(-1) if mirrored else images, self.radius, degrees), self.blur)
                distances = (turned.flatten(1)[:, None] - found).norm(dim=2)
                best = torch.minimum(best, distances.min(1).values)
                if degrees == 0 and not mirrored:
                    kth = distances.sort(dim=1).values[:, self.k - 1]
        return best, kth

    def _blend_residual(self, flat: torch.Tensor, bases: torch.Tensor) -> torch.Tensor:
        """The smallest residual of the sample after least squares on a pair of training images: a base a
        (one of its nearest) and the partner b that explains most of what a leaves (searched on the pooled
        images over the whole training set: max over b of ((r . b)^2 / |b - (b . a^)a^|^2), r the sample less
        its projection on a)."""
        n = len(flat)
        query = self._coarse(flat.view(n, *self.raw.shape[1:]))
        training, energies = self.raw_coarse, (self.raw_coarse ** 2).sum(1)
        products = query @ training.T
        best = torch.full((n,), float("inf"))
        for j in range(bases.shape[1]):
            base = training[bases[:, j]]
            unit = base / base.norm(dim=1, keepdim=True).clamp_min(1e-8)
            along = unit @ training.T
            rest = products - (query * unit).sum(1, keepdim=True) * along
            explained = rest ** 2 / (energies[None] - along ** 2).clamp_min(1e-8)
            explained[torch.arange(n), bases[:, j]] = -1.0
            pair = torch.stack([self.raw[bases[:, j]].reshape(n, -1), self.raw[explained.argmax(1)].reshape(n, -1)], 2)
            fitted = pair @ torch.linalg.lstsq(pair, flat[..., None]).solution
            best = torch.minimum(best, (flat[..., None] - fitted).squeeze(-1).norm(dim=1))
        return best


class NearCopyTest:
    """Copies under disguise of the training images `matcher` holds, calibrated on `heldout`, real images
    never trained on: their false-alarm rate is the test's level.

    Each image gets a conformal p-value per way of matching (InvariantMatcher.ratios): (1 + the number of
    held-out images whose ratio is at most its own) / (1 + H). A sample is a near copy when its smallest
    p-value lies below the `share`-quantile of the held-out images' own smallest p-values (each left out of
    its own count): so about a share `share` of unseen real images is flagged, whichever way of matching
    catches a disguise."""

    def __init__(self, matcher: InvariantMatcher, heldout, share: float = NEAR_COPY_SHARE):
        self.matcher = matcher
        reference = self.matcher.ratios(heldout)
        self.reference = np.sort(reference, axis=0)
        leave_one_out = np.stack([np.searchsorted(self.reference[:, j], reference[:, j], side="right")
                                  for j in range(reference.shape[1])], 1) / len(reference)
        self.level = float(np.quantile(leave_one_out.min(axis=1), share, method="lower"))

    def p_values(self, images) -> np.ndarray:
        """Each image's smallest p-value over the ways of matching."""
        ratios = self.matcher.ratios(images)
        counts = np.stack([np.searchsorted(self.reference[:, j], ratios[:, j], side="right")
                           for j in range(ratios.shape[1])], 1)
        return ((counts + 1) / (len(self.reference) + 1)).min(axis=1)

    def flags(self, images) -> np.ndarray:
        return self.p_values(images) < self.level


def near_copy_rate(test: NearCopyTest, images) -> Estimate:
    """Share of the images the near-copy test flags (Wilson interval; unseen real data: about NEAR_COPY_SHARE)."""
    return mean_estimate(test.flags(images))


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


def training_ngram_coverage(units: list[list[str]], seen: set[tuple[str, ...]], n: int) -> np.ndarray:
    """Per unit (a sample, a document) with at least n tokens: the share of its tokens that lie inside one
    of its n-grams found in `seen` (the training split's n-grams)."""
    shares = []
    for tokens in units:
        if len(tokens) < n:
            continue
        covered = np.zeros(len(tokens), dtype=bool)
        for start, gram in enumerate(ngrams(tokens, n)):
            if gram in seen:
                covered[start:start + n] = True
        shares.append(covered.mean())
    return np.asarray(shares)


def training_ngram_excess(generated: list[list[str]], heldout: list[list[str]], training: list[list[str]],
                          n: int = STITCHING_NGRAM) -> Estimate | None:
    """The share of generated words inside a training word n-gram minus the same share of held-out text
    (real text never trained on), each a mean over units (samples; documents), with Welch's interval;
    None when either side has no unit of n tokens. Text stitched from training phrases of n words or
    more has nearly every word covered, unseen real text only its stock phrases."""
    seen = {gram for tokens in training for gram in ngrams(tokens, n)}
    mine, real = training_ngram_coverage(generated, seen, n), training_ngram_coverage(heldout, seen, n)
    return difference_estimate(mine, real) if len(mine) and len(real) else None


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
