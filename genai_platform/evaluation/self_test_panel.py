"""The metric self-test (issue 12): every night, the evaluation's own metrics score generators whose
order is known, built from this night's real splits, and must order them as each metric declares.

Design. The product scores every family against the held-out split (val + test) as reference. The
panel needs real images (or text) that neither the reference nor the training split holds, so it
cuts the held-out split in two seeded halves: the *reference half* plays the product's reference,
the *unseen half* is "unseen real data", the set every other case is compared with. Exact copies
of training data are then as real as the unseen half and drawn from the same distribution (the
splits are assigned by content hash), and the reference never saw either, just as the product's
floor row: so a metric may not rank copies above unseen real data *beyond noise* (the copy's value
is not better by more than the larger half-width of the two 95% intervals), and the copies must
instead fail the memorization findings, judged with the reports' default thresholds
(reporting.analysis) exactly as the ethics report judges a family. The memorization metrics
compare with the whole train split, the reference half is the "unseen" side of the data-copying
test, as in the product.

Images (evaluation.image_scores.evaluate_images, the product's scoring, unchanged) at one N: unseen real
images, exact training copies, noisy copies (pixel sd 0.1), blurred unseen images (Gaussian, sd =
height / 8 px), the unseen images less one class, collapse onto a few unseen images, pure pixel
noise (uniform; the per-pixel Gaussian baseline is not a case: see the README); and training images
in disguise: moved by 1-2 px, turned by 3-6 degrees, mirrored, cropped and resized back (from 16 px
up), blends of two, and a collapse onto 20 training images with every repeat moved by up to a pixel
(scored apart and kept for the memorization metrics only, so a second feature space's cost is not
paid for them). Text (the product's model-free text metrics: BLEU-2..5 against the reference half's
sentences, Self-BLEU-2..5, distinct-2, training 8-gram overlap, training 4-gram excess over the
reference half's documents), every case N sentences: held-out sentences (whole documents of the
unseen half), training sentences (whole training documents, so both are clustered by document
alike), the held-out sentences with their words shuffled, unigram samples of the same lengths (train
word frequencies), one held-out sentence repeated, and sentences stitched from random training word
4-grams and 7-grams (scored for memorization only). Bits per character and continuation BLEU need a model, so the panel leaves them
out.

Each metric declares in DECLARATIONS what it exists to tell apart: a fidelity metric, unseen real
above pixel noise and blur; a diversity metric, unseen real above collapse and a dropped class; a
combined one (FID, KID) all of these; quality (BLEU) unseen real above shuffled words and unigram
samples; text diversity (Self-BLEU, distinct-2) unseen real above one repeated sentence; a
memorization metric, the copy cases it exists for fail its finding and unseen real data does not
(the near-copy rate: every copy, disguised or not; the 4-gram excess: copied and stitched text). A
declared pair is judged by the values' order (strictly better); a pair whose sets are smaller than
MIN_PANEL_SIZE or whose value rests on too few observations is "too few", neither passed nor failed.
Class entropy, missing modes and distinct-2 are recorded without an interval; the panel adds a
bootstrap one (over the samples) for the copy rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.ndimage import gaussian_filter, rotate, shift, zoom
from scipy.stats import norm

from genai_platform.evaluation.generation import split_sentences
from genai_platform.evaluation.image_scores import ImageDetails, evaluate_images
from genai_platform.evaluation.marks import bigram_documents, detection_row, image_p_values, jpeg_images, text_p_values
from genai_platform.evaluation.text_scores import quality_diversity
from genai_platform.evaluation.text_scores import BLEU_ORDERS, ngram_memorization_rows, sentence_tokens
from genai_platform.marking.image_mark import mark_images
from genai_platform.marking.key import WatermarkKey
from genai_platform.metrics.bleu import bleu_scores, self_bleu_scores, tokenize
from genai_platform.metrics.catalog import info
from genai_platform.metrics.distributions import class_histogram, missing_modes, normalized_entropy
from genai_platform.metrics.intervals import bootstrap, percentile_interval
from genai_platform.metrics.language import distinct_n
from genai_platform.records import ImageSplit, MetricRow
from genai_platform.verdicts.thresholds import DEFAULT_THRESHOLDS, TOO_FEW, Threshold, judge

PASS, FAIL, NOT_JUDGED = "pass", "fail", "not judged"
MIN_PANEL_SIZE = 50  # images or sentences per case below which no pair is judged ("too few")
MIN_CLASSIFIER_ACCURACY = 0.9  # below it the image feature space is not fit to judge (the smoke profile's is not)
PIXEL_METRICS = ("copy_rate", "near_copy_rate")  # image metrics that do not use the feature classifier
UNSEEN, COPIES, NOISY_COPIES = "unseen_real", "exact_copies", "noisy_copies"
COPY_CASES = (COPIES, NOISY_COPIES)
COPY_NOISE_SD = 0.1
COLLAPSE_IMAGES = 5
# Training images in disguise: judged by the memorization findings only (scored in pixels and classifier
# features, never in a second feature space), and not by the copy rule: a metric of fidelity may rank them
# where it likes, a memorization finding must fail them.
SHIFTED, ROTATED, FLIPPED, CROPPED, BLENDED, JITTERED = ("shifted_copies", "rotated_copies", "flipped_copies",
                                                          "cropped_copies", "blended_copies", "jittered_collapse")
DISGUISED_COPIES = (SHIFTED, ROTATED, FLIPPED, CROPPED, BLENDED, JITTERED)
SHIFT_PIXELS = (1, 2)
ROTATION_DEGREES = (3.0, 6.0)
CROPPED_SHARE = 1 / 7  # of the height and width a crop cuts away, at least one pixel
MIN_CROP_SIZE = 16  # below it a crop cuts away part of the object itself: the case is left out
BLEND_WEIGHTS = (0.3, 0.7)
JITTERED_IMAGES = 20
STITCHED = {4: "stitched_4grams", 7: "stitched_7grams"}  # word n-gram length -> text case
# The watermark's cases: items the key marked, and the same edited, beside the unmarked ones (marking/)
MARKED, MARKED_JPEG = "marked_unseen", "marked_jpeg"
BIGRAM, MARKED_BIGRAM = "bigram_text", "marked_bigram_text"
MARKED_TEXT_CHARACTERS = 300  # per bigram text, as long as a default free sample
STITCHED_TEXT = (COPIES, *STITCHED.values())  # text made of training n-grams
INTERVAL_RESAMPLES = 200
# The copy rule fails a copy that beats unseen real data by more than noise: the difference's standard
# error from the two 95% intervals (independent sets), at a one-sided level that keeps the chance of a
# false failure anywhere in the panel at COPY_RULE_FALSE_ALARM (Bonferroni over the panel's copy checks).
COPY_RULE_FALSE_ALARM = 0.05

CASES = {
    "image": {
        UNSEEN: "real images of the held-out split's unseen half (neither trained on nor in the reference half)",
        COPIES: "exact copies of training images",
        NOISY_COPIES: f"training images plus Gaussian pixel noise (sd {COPY_NOISE_SD}), clipped to [0, 1]",
        "blurred": "the unseen images blurred (Gaussian, sd = height / 8 pixels)",
        "dropped_class": "the unseen images less every image of one class (chosen by the seed)",
        "collapse": f"{COLLAPSE_IMAGES} unseen images, each repeated (mode collapse)",
        "pixel_noise": "pure pixel noise: every pixel uniform on [0, 1]",
        SHIFTED: f"training images moved by {SHIFT_PIXELS[0]} or {SHIFT_PIXELS[1]} pixels in a random direction "
                 f"(zero fill)",
        ROTATED: f"training images turned by {ROTATION_DEGREES[0]:g} to {ROTATION_DEGREES[1]:g} degrees either way "
                 f"(bilinear)",
        FLIPPED: "training images mirrored left-right",
        CROPPED: f"training images cropped by {CROPPED_SHARE:.0%} of their size at a random offset and resized back "
                 f"(bilinear)",
        BLENDED: f"blends w a + (1 - w) b of two training images, w uniform on [{BLEND_WEIGHTS[0]:g}, "
                 f"{BLEND_WEIGHTS[1]:g}]",
        JITTERED: f"{JITTERED_IMAGES} training images, each repeated, every repeat moved by up to one pixel each "
                  f"way (mode collapse onto training images)",
        MARKED: "the unseen images with this deployment's watermark",
        MARKED_JPEG: "the marked unseen images after JPEG at quality 75",
    },
    "text": {
        UNSEEN: "sentences of the held-out split's unseen half (whole documents)",
        COPIES: "sentences of training documents, copied verbatim (whole documents)",
        "shuffled_words": "the unseen sentences with their words shuffled",
        "unigram": "as many words as each unseen sentence, drawn from the training text's word frequencies",
        "repeated_sentence": "one unseen sentence repeated",
        **{case: f"as many words as each unseen sentence, stitched from random word {n}-grams of training sentences"
           for n, case in STITCHED.items()},
        BIGRAM: f"texts of {MARKED_TEXT_CHARACTERS} characters from the training text's character bigram "
                f"frequencies (as many as the unseen sentences)",
        MARKED_BIGRAM: "the same bigram model sampled with this deployment's watermark (the green-list bias)",
    },
}

FIDELITY = ((UNSEEN, "pixel_noise"), (UNSEEN, "blurred"))
DIVERSITY = ((UNSEEN, "collapse"), (UNSEEN, "dropped_class"))
QUALITY = ((UNSEEN, "shuffled_words"), (UNSEEN, "unigram"))
TEXT_DIVERSITY = ((UNSEEN, "repeated_sentence"),)


@dataclass(frozen=True)
class Declaration:
    """What a metric exists to tell apart: (better case, worse case) pairs it must order so; for a
    memorization metric, the cases its finding must fail and those it must not fail."""
    purpose: str
    pairs: tuple[tuple[str, str], ...] = ()
    must_fail: tuple[str, ...] = ()
    must_not_fail: tuple[str, ...] = ()

    @property
    def copy_rule(self) -> bool:
        """Copies must not rank above unseen real data; memorization metrics rank them below it instead, and the
        watermark's detection sees neither marked."""
        return self.purpose not in ("memorization", "misinformation")


# the watermark's detection: marked items (edited ones too) above unmarked ones (its findings never fail, so
# there is no finding to check)
MARK_IMAGE = Declaration("misinformation", ((MARKED, UNSEEN), (MARKED_JPEG, UNSEEN)))
MARK_TEXT = Declaration("misinformation", ((MARKED_BIGRAM, BIGRAM), (MARKED_BIGRAM, UNSEEN)))


# THE table: modality -> metric -> its declaration
DECLARATIONS: dict[str, dict[str, Declaration]] = {
    "image": {
        "fid": Declaration("combined", FIDELITY + DIVERSITY),
        "fd_whitened": Declaration("combined", FIDELITY + DIVERSITY),
        "kid": Declaration("combined", FIDELITY + DIVERSITY),
        # Not blur: in the classifier's feature space 1-px-blurred digits stay inside the real k-NN balls
        # (default profile, seed 0: precision 0.946 real, 0.926 blurred; density 1.099 and 1.038; the order
        # flipped at 2 and 4 of 6 seeds), while FID, KID, recall and coverage separate them by far.
        "precision": Declaration("fidelity", ((UNSEEN, "pixel_noise"),)),
        "density": Declaration("fidelity", ((UNSEEN, "pixel_noise"),)),
        "recall": Declaration("diversity", DIVERSITY),
        "coverage": Declaration("diversity", DIVERSITY),
        "class_entropy": Declaration("diversity", DIVERSITY),
        "class_tv_distance": Declaration("diversity", DIVERSITY),
        "missing_modes": Declaration("diversity", DIVERSITY),
        "copy_rate": Declaration("memorization", ((UNSEEN, COPIES),), must_fail=(COPIES,), must_not_fail=(UNSEEN,)),
        "near_copy_rate": Declaration("memorization", tuple((UNSEEN, case) for case in COPY_CASES + DISGUISED_COPIES),
                                      must_fail=COPY_CASES + DISGUISED_COPIES, must_not_fail=(UNSEEN,)),
        "data_copying": Declaration("memorization", ((UNSEEN, COPIES), (UNSEEN, NOISY_COPIES)),
                                    must_fail=COPY_CASES, must_not_fail=(UNSEEN,)),
        "mark_detection": MARK_IMAGE,
    },
    "text": {
        **{f"bleu_{n}": Declaration("quality", QUALITY) for n in (2, 3, 4, 5)},
        **{f"self_bleu_{n}": Declaration("diversity", TEXT_DIVERSITY) for n in (2, 3, 4, 5)},
        "distinct_2": Declaration("diversity", TEXT_DIVERSITY),
        "training_8gram_overlap": Declaration("memorization", ((UNSEEN, COPIES),), must_fail=(COPIES,),
                                              must_not_fail=(UNSEEN,)),
        "training_4gram_excess": Declaration("memorization", tuple((UNSEEN, case) for case in STITCHED_TEXT),
                                             must_fail=STITCHED_TEXT, must_not_fail=(UNSEEN,)),
        "mark_detection": MARK_TEXT,
    },
}


@dataclass(frozen=True)
class PairCheck:
    """One declared expectation of a metric and its verdict."""
    kind: str  # "order": better ranks above worse; "copy": copies not above unseen beyond noise; "fails" / "passes"
    better: str  # the case that must be better (for "fails"/"passes": the case judged)
    worse: str | None
    status: str  # PASS, FAIL, TOO_FEW or NOT_JUDGED
    message: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "better": self.better, "worse": self.worse, "status": self.status,
                "message": self.message}


@dataclass(frozen=True)
class MetricPanel:
    """A metric's values on every case, the cases ranked best first, and its declared expectations."""
    metric: str
    purpose: str
    direction: str
    values: dict[str, MetricRow | None]  # case -> row (subject = case), None where it was not computed
    ranking: list[str]
    checks: list[PairCheck]

    @property
    def violations(self) -> list[PairCheck]:
        return [c for c in self.checks if c.status == FAIL]


@dataclass(frozen=True)
class Panel:
    modality: str
    seed: int
    sample_size: int
    reference: str  # what the cases are scored against
    cases: dict[str, str]  # case -> description, in panel order
    metrics: list[MetricPanel]
    notes: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[tuple[str, PairCheck]]:
        return [(m.metric, c) for m in self.metrics for c in m.violations]

    @property
    def status(self) -> str:
        return FAIL if self.violations else PASS

    def summary(self) -> str:
        """One line per violated expectation, naming the metric and the pair; or a pass line."""
        if not self.violations:
            checks = [c for m in self.metrics for c in m.checks]
            return (f"{self.modality} self-test: no declared pair is violated ({sum(c.status == PASS for c in checks)} "
                    f"passed, {sum(c.status == TOO_FEW for c in checks)} too few, "
                    f"{sum(c.status == NOT_JUDGED for c in checks)} not judged)")
        return "\n".join(f"{metric}: {check.message}" for metric, check in self.violations)

    def as_dict(self) -> dict:
        """The panel as JSON-ready data (reporting.self_test_section reads it back)."""
        row = lambda r: None if r is None else {"value": r.value, "ci_low": r.ci_low, "ci_high": r.ci_high,  # noqa: E731
                                                "count": r.sample_count}
        return {"modality": self.modality, "seed": self.seed, "sample_size": self.sample_size,
                "reference": self.reference, "status": self.status, "notes": self.notes,
                "cases": [{"name": name, "description": text} for name, text in self.cases.items()],
                "metrics": [{"metric": m.metric, "label": info(m.metric).label, "arrow": info(m.metric).arrow,
                             "purpose": m.purpose, "direction": m.direction,
                             "values": {case: row(r) for case, r in m.values.items()}, "ranking": m.ranking,
                             "checks": [c.as_dict() for c in m.checks]} for m in self.metrics]}

    @classmethod
    def from_dict(cls, data: dict) -> Panel:
        """A panel as_dict wrote (a re-used self-test)."""
        row = lambda case, metric, r: None if r is None else MetricRow(  # noqa: E731
            case, metric, r["value"], r["count"], r["ci_low"], r["ci_high"])
        return cls(data["modality"], data["seed"], data["sample_size"], data["reference"],
                   {c["name"]: c["description"] for c in data["cases"]},
                   [MetricPanel(m["metric"], m["purpose"], m["direction"],
                                {case: row(case, m["metric"], r) for case, r in m["values"].items()}, m["ranking"],
                                [PairCheck(**c) for c in m["checks"]]) for m in data["metrics"]],
                   data["notes"])


def _standard_error(row: MetricRow) -> float:
    """From the row's 95% interval; 0 without one."""
    return 0.0 if row.ci_low is None or row.ci_high is None else (row.ci_high - row.ci_low) / (2 * norm.ppf(0.975))


def copy_rule_z(checks: int) -> float:
    """The one-sided z of each of `checks` copy checks for a panel-wide false alarm rate COPY_RULE_FALSE_ALARM."""
    return float(norm.ppf(1 - COPY_RULE_FALSE_ALARM / max(checks, 1)))


def _fmt(row: MetricRow) -> str:
    return f"{row.estimate.text()} (n={row.sample_count})"


def _usable(row: MetricRow | None, sample_size: int) -> bool:
    return row is not None and sample_size >= MIN_PANEL_SIZE and row.sample_count >= 2


def judge_metric(metric: str, declaration: Declaration, values: dict[str, MetricRow | None], sample_size: int,
                 threshold: Threshold | None, unfit: str | None = None, copy_z: float = copy_rule_z(1)) -> MetricPanel:
    """A metric's declared expectations judged on its values per case (`metric` may carry a feature-space
    suffix, e.g. fid_inception; `declaration` is the base metric's). `unfit`: why the instrument behind the
    metric cannot be trusted tonight; every expectation is then NOT_JUDGED with that reason."""
    entry = info(metric)
    key = entry.sort_key
    present = [case for case, row in values.items() if row is not None]
    ranking = sorted(present, key=lambda case: key(values[case].value))
    panel = _judge_metric(metric, declaration, values, sample_size, threshold, entry, key, copy_z)
    if unfit:
        panel = [replace(c, status=NOT_JUDGED, message=f"{c.message}; not judged: {unfit}")
                 if c.status != TOO_FEW else c for c in panel]
    return MetricPanel(metric, declaration.purpose, entry.direction, values, ranking, panel)


def _judge_metric(metric, declaration, values, sample_size, threshold, entry, key, copy_z) -> list[PairCheck]:
    """The checks of the declared expectations on the panel's cases (a case the panel left out, for the
    reason its notes give, has none)."""
    checks = []
    for better, worse in declaration.pairs:
        if better not in values or worse not in values:
            continue
        a, b = values.get(better), values.get(worse)
        if not (_usable(a, sample_size) and _usable(b, sample_size)):
            checks.append(PairCheck("order", better, worse, TOO_FEW, f"{better} above {worse}: too few to judge "
                                    f"({'no value' if a is None or b is None else f'N = {sample_size}'})"))
            continue
        ok = key(a.value) < key(b.value)
        checks.append(PairCheck("order", better, worse, PASS if ok else FAIL,
                                f"{better} must rank above {worse} ({entry.direction} is better): "
                                f"{better} {_fmt(a)}, {worse} {_fmt(b)}"))
    if declaration.copy_rule:
        for copy in COPY_CASES:
            a, b = values.get(UNSEEN), values.get(copy)
            if copy not in values:
                continue
            if not (_usable(a, sample_size) and _usable(b, sample_size)):
                checks.append(PairCheck("copy", UNSEEN, copy, TOO_FEW, f"{copy} not above {UNSEEN}: too few to judge"))
                continue
            margin = copy_z * float(np.hypot(_standard_error(a), _standard_error(b)))
            ok = key(b.value) >= key(a.value) - margin
            checks.append(PairCheck("copy", UNSEEN, copy, PASS if ok else FAIL,
                                    f"{copy} must not rank above {UNSEEN} beyond noise (margin {margin:.4g}: "
                                    f"{copy_z:.2f} standard errors of the difference): {UNSEEN} {_fmt(a)}, "
                                    f"{copy} {_fmt(b)}"))
    for kind, cases in (("fails", declaration.must_fail), ("passes", declaration.must_not_fail)):
        for case in (case for case in cases if case in values):
            row = values.get(case)
            verdict = (TOO_FEW if threshold is None or not _usable(row, sample_size) else
                       judge(metric, row.value, row.sample_count, threshold, row.ci_low, row.ci_high))
            if verdict == TOO_FEW:
                checks.append(PairCheck(kind, case, None, TOO_FEW, f"{case}'s finding: too few to judge"))
                continue
            ok = verdict == FAIL if kind == "fails" else verdict != FAIL
            limits = f"warn {threshold.warn:g}, fail {threshold.fail:g}"
            checks.append(PairCheck(kind, case, None, PASS if ok else FAIL,
                                    f"{case} must {'fail' if kind == 'fails' else 'not fail'} the {metric} finding "
                                    f"({limits}, judged on the interval): {_fmt(row)} is {verdict}"))
    return checks


def judge_panel(modality: str, rows: list[MetricRow], cases: dict[str, str], sample_size: int, seed: int,
                reference: str, suffix: str = "", thresholds: dict[str, Threshold] | None = None,
                notes: list[str] | None = None, unfit: Callable[[str], str | None] = lambda metric: None) -> Panel:
    """The panel from every case's metric rows (subject = case): per declared metric, values, ranking, verdicts.
    Distribution metrics in another feature space carry `suffix` (e.g. "_inception"); `unfit(metric)`: why
    that metric's instrument is not fit to judge tonight, or None."""
    limits = DEFAULT_THRESHOLDS if thresholds is None else thresholds
    by_key = {(r.subject, r.metric): r for r in rows}
    judged = {}
    for base, declaration in DECLARATIONS[modality].items():
        metric = base + suffix if (UNSEEN, base + suffix) in by_key else base
        values = {case: by_key.get((case, metric)) for case in cases}
        if any(values.values()):
            judged[base] = (metric, declaration, values)
    copy_z = copy_rule_z(sum(declaration.copy_rule for _, declaration, _ in judged.values())
                         * sum(case in cases for case in COPY_CASES))
    metrics = [judge_metric(metric, declaration, values, sample_size, limits.get(base), unfit(base), copy_z)
               for base, (metric, declaration, values) in judged.items()]
    return Panel(modality, seed, sample_size, reference, dict(cases), metrics, list(notes or []))


# ---------------------------------------------------------------- images

def heldout_halves(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded halves of the held-out indices: (reference half, unseen half)."""
    order = np.random.default_rng([seed, 12]).permutation(count)
    cut = (count + 1) // 2
    return np.sort(order[:cut]), np.sort(order[cut:])


def blur(images: np.ndarray) -> np.ndarray:
    sd = max(1.0, images.shape[-2] / 8)
    return np.clip(gaussian_filter(images, sigma=(0, 0, sd, sd)), 0, 1).astype(np.float32)


def image_cases(train: ImageSplit, heldout: ImageSplit, seed: int
                ) -> tuple[ImageSplit, dict[str, np.ndarray], list[str]]:
    """The reference half and every case's images at one N; notes on cases left out."""
    rng = np.random.default_rng([seed, 13])
    reference_idx, unseen_idx = heldout_halves(len(heldout.pixels), seed)
    take = lambda split, idx: ImageSplit(split.pixels[idx], None if split.labels is None else split.labels[idx],  # noqa: E731
                                         [split.content_hashes[i] for i in idx])
    reference, unseen = take(heldout, reference_idx), take(heldout, unseen_idx)
    notes = []
    dropped = None
    if unseen.labels is not None and len(np.unique(unseen.labels)) > 1:
        dropped_class = int(rng.choice(np.unique(unseen.labels)))
        dropped = unseen.pixels[unseen.labels != dropped_class]
        notes.append(f"dropped class: {dropped_class}")
    else:
        notes.append("no class labels: the dropped-class case is left out")
    n = min(len(reference.pixels), len(unseen.pixels), len(train.pixels) - 2,
            len(dropped) if dropped is not None else len(unseen.pixels))
    keep = np.sort(rng.permutation(len(unseen.pixels))[:n])
    real = unseen.pixels[keep]
    copies = train.pixels[rng.choice(len(train.pixels), size=n, replace=False)]
    collapse = unseen.pixels[rng.choice(len(unseen.pixels), size=min(COLLAPSE_IMAGES, len(unseen.pixels)),
                                        replace=False)]
    sets = {UNSEEN: real, COPIES: copies,
            NOISY_COPIES: np.clip(copies + rng.normal(0, COPY_NOISE_SD, copies.shape), 0, 1).astype(np.float32),
            "blurred": blur(real),
            "dropped_class": None if dropped is None else dropped[np.sort(rng.permutation(len(dropped))[:n])],
            "collapse": np.resize(collapse, (n, *collapse.shape[1:])).astype(np.float32),
            "pixel_noise": rng.random((n, *train.pixels.shape[1:]), dtype=np.float32)}
    disguised, disguise_notes = disguised_copies(copies, train.pixels, np.random.default_rng([seed, 16]))
    sets.update(disguised)
    return reference, {case: images for case, images in sets.items() if images is not None}, notes + disguise_notes


def disguised_copies(copies: np.ndarray, train: np.ndarray, rng: np.random.Generator
                     ) -> tuple[dict[str, np.ndarray], list[str]]:
    """The disguised cases made from `copies` (training images, one per sample) and the train split; notes
    on cases left out."""
    n, (height, width) = len(copies), copies.shape[-2:]

    def moved(image: np.ndarray, dy: int, dx: int) -> np.ndarray:  # zero fill
        return shift(image, (0, dy, dx), order=0, mode="constant")

    compass = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    steps, directions = rng.choice(SHIFT_PIXELS, size=n), rng.integers(len(compass), size=n)
    angles = rng.uniform(*ROTATION_DEGREES, size=n) * rng.choice([-1, 1], size=n)
    cut_y, cut_x = max(1, round(height * CROPPED_SHARE)), max(1, round(width * CROPPED_SHARE))
    corners = np.stack([rng.integers(0, cut_y + 1, size=n), rng.integers(0, cut_x + 1, size=n)], 1)
    weights = rng.uniform(*BLEND_WEIGHTS, size=(n, 1, 1, 1))
    partners = train[rng.integers(len(train), size=n)]
    few = train[rng.choice(len(train), size=min(JITTERED_IMAGES, len(train)), replace=False)]
    jitters = rng.integers(-1, 2, size=(n, 2))
    disguised = {
        SHIFTED: [moved(image, steps[i] * compass[directions[i]][0], steps[i] * compass[directions[i]][1])
                  for i, image in enumerate(copies)],
        # grid-constant: pixels at the frame blend with the zero outside it ("constant" blanks every edge pixel
        # whose source lies a hair outside, which at 8 px wipes a digit's border strokes)
        ROTATED: [rotate(image, angle, axes=(1, 2), reshape=False, order=1, mode="grid-constant")
                  for image, angle in zip(copies, angles)],
        FLIPPED: copies[..., ::-1],
        CROPPED: [zoom(image[:, y:y + height - cut_y, x:x + width - cut_x],
                       (1, height / (height - cut_y), width / (width - cut_x)), order=1, grid_mode=True,
                       mode="grid-constant") for image, (y, x) in zip(copies, corners)],
        BLENDED: weights * copies + (1 - weights) * partners,
        JITTERED: [moved(image, dy, dx) for image, (dy, dx) in zip(np.resize(few, (n, *few.shape[1:])), jitters)],
    }
    notes = []
    if min(height, width) < MIN_CROP_SIZE:
        del disguised[CROPPED]
        notes.append(f"images under {MIN_CROP_SIZE} px: the cropped copies are left out (a crop cuts away part of "
                     f"the object itself, and a copy cropped so differs from its source as much as an unseen image "
                     f"from its nearest training image)")
    return {case: np.clip(np.asarray(images), 0, 1).astype(np.float32) for case, images in disguised.items()}, notes


def _class_intervals(rows: list[MetricRow], details: ImageDetails, reference: ImageSplit, num_classes: int,
                     seed: int) -> list[MetricRow]:
    """Class entropy and missing modes with a bootstrap interval over the samples (from the predicted-class
    histograms in `details`); the evaluation records them without one."""
    histograms = details.class_histograms
    if reference.labels is None or num_classes < 2:
        return rows
    reference_histogram = class_histogram(reference.labels, num_classes)
    statistics = {"class_entropy": lambda h: normalized_entropy(h),
                  "missing_modes": lambda h: float(len(missing_modes(h, reference_histogram)))}
    out = []
    for row in rows:
        counts = histograms.get(row.subject)
        if row.metric in statistics and row.ci_low is None and counts is not None:
            labels = np.repeat(np.arange(len(counts)), np.asarray(counts, dtype=np.int64))
            statistic = statistics[row.metric]
            estimate = bootstrap(lambda idx: statistic(class_histogram(labels[idx], num_classes)), len(labels), seed,
                                 resamples=INTERVAL_RESAMPLES)
            row = replace(row, ci_low=estimate.ci_low, ci_high=estimate.ci_high)
        out.append(row)
    return out


def image_panel(classifier, num_classes: int, train: ImageSplit, heldout: ImageSplit, seed: int,
                feature_extractor=None, evaluate: Callable = evaluate_images,
                classifier_accuracy: float | None = None, key: WatermarkKey | None = None) -> Panel:
    """The image panel: every case scored by `evaluate` (the product's evaluate_images) against the reference
    half of the held-out split, memorization against the train split; then judged. With a feature classifier
    whose test accuracy is below MIN_CLASSIFIER_ACCURACY (the smoke profile trains it 20 steps), only the
    pixel metrics are judged: the others' feature space cannot place real digits yet. With `key`, the unseen
    images marked (and marked then JPEG-compressed) join the cases, and the watermark's detection is scored on
    every case, so its order is checked as the other metrics' are."""
    reference, sets, notes = image_cases(train, heldout, seed)
    mark_rows = []
    if key is not None:
        marked = mark_images(sets[UNSEEN], key)
        sets.update({MARKED: marked, MARKED_JPEG: jpeg_images(marked)})
        mark_rows = [detection_row(case, image_p_values(images, key)) for case, images in sets.items()]
    plain = {case: images for case, images in sets.items() if case not in DISGUISED_COPIES + (MARKED, MARKED_JPEG)}
    disguised = {case: images for case, images in sets.items() if case in DISGUISED_COPIES}
    rows, details = evaluate(classifier, num_classes, train, reference, plain, seed, feature_extractor)
    # disguised copies count for memorization alone: scored apart, so a second feature space's cost is not paid
    rows += [r for r in evaluate(classifier, num_classes, train, reference, disguised, seed)[0]
             if r.subject in disguised and info(r.metric).category == "memorization"]
    notes.append("disguised copies are scored for memorization only")
    rows = _class_intervals([r for r in rows if r.subject in sets], details, reference, num_classes, seed) + mark_rows
    n = details.sample_count
    suffix = "" if feature_extractor is None else f"_{feature_extractor.name}"
    unfit = None
    if classifier_accuracy is not None and classifier_accuracy < MIN_CLASSIFIER_ACCURACY:
        unfit = (f"the feature classifier's test accuracy {classifier_accuracy:.3f} is below "
                 f"{MIN_CLASSIFIER_ACCURACY:g}")
        notes.append(f"{unfit}: only {', '.join(PIXEL_METRICS)} is judged")
    return judge_panel("image", rows, {case: CASES["image"][case] for case in sets}, n, seed,
                       f"the reference half of the held-out split ({len(reference.pixels)} images); memorization "
                       f"against the train split ({len(train.pixels)} images)", suffix, notes=notes,
                       unfit=lambda metric: None if metric in PIXEL_METRICS else unfit)


# ---------------------------------------------------------------- text

def _sentences(documents: list[str]) -> list[str]:
    return [s for document in documents for s in split_sentences(document) if tokenize(s)]


def _words(sentence: str) -> list[str]:
    return [t for t in tokenize(sentence) if t not in (".", "!", "?")]


def text_cases(train_documents: list[str], heldout_documents: list[str], seed: int
               ) -> tuple[list[str], dict[str, tuple[list[str], np.ndarray]]]:
    """The reference half's documents and every case's N sentences with the document each comes from."""
    rng = np.random.default_rng([seed, 14])
    reference_idx, unseen_idx = heldout_halves(len(heldout_documents), seed)

    def whole_documents(documents: list[str], order) -> tuple[list[str], list[int]]:
        sentences, owners = [], []
        for i in order:
            found = _sentences([documents[i]])
            sentences += found
            owners += [int(i)] * len(found)
        return sentences, owners

    unseen, unseen_docs = whole_documents(heldout_documents, unseen_idx)
    copies, copy_docs = [], []
    for i in rng.permutation(len(train_documents)):  # whole documents, as the unseen sentences come
        found = _sentences([train_documents[i]])
        copies += found
        copy_docs += [int(i)] * len(found)
        if len(copies) >= len(unseen):
            break
    n = min(len(unseen), len(copies))
    unseen, copies = unseen[:n], copies[:n]
    unseen_docs, copy_docs = np.asarray(unseen_docs[:n]), np.asarray(copy_docs[:n])
    shuffled = [" ".join(rng.permutation(_words(sentence)).tolist()) + " ." for sentence in unseen]
    train_words = [_words(s) for s in _sentences(train_documents)]
    vocabulary, counts = np.unique([w for words in train_words for w in words], return_counts=True)
    unigram = [" ".join(rng.choice(vocabulary, size=max(1, len(_words(s))), p=counts / counts.sum()).tolist()) + " ."
               for s in unseen]
    lengths = np.array([len(_words(s)) for s in unseen])
    repeated = unseen[int(np.argsort(lengths)[len(lengths) // 2])] if n else ""
    stitched = {case: (stitched_sentences(lengths, train_words, size, rng), unseen_docs)
                for size, case in STITCHED.items()}
    return [heldout_documents[i] for i in reference_idx], {
        UNSEEN: (unseen, unseen_docs), COPIES: (copies, copy_docs), "shuffled_words": (shuffled, unseen_docs),
        "unigram": (unigram, unseen_docs), "repeated_sentence": ([repeated] * n, np.zeros(n, dtype=np.int64)),
        **stitched}


def stitched_sentences(lengths, train_words: list[list[str]], n: int, rng: np.random.Generator) -> list[str]:
    """Per length, random word n-grams of the training sentences put end to end, whole, until the sentence
    holds at least that many words: every word of it lies inside a training n-gram."""
    grams = [words[i:i + n] for words in train_words for i in range(len(words) - n + 1)]
    sentences = []
    for length in lengths:
        words = []
        while len(words) < max(1, length):
            words += grams[rng.integers(len(grams))]
        sentences.append(" ".join(words) + " .")
    return sentences


def document_interval(statistic: Callable[[np.ndarray], float], documents: np.ndarray, seed: int,
                      resamples: int = INTERVAL_RESAMPLES) -> tuple[float, float]:
    """Percentile interval of statistic(sentence indices) when whole documents are resampled: sentences of one
    document share words, so resampling sentences alone understates the spread between two sets of documents."""
    owners = np.unique(documents)
    members = [np.flatnonzero(documents == d) for d in owners]
    rng = np.random.default_rng([seed, 15])
    values = [statistic(np.concatenate([members[i] for i in rng.integers(0, len(owners), len(owners))]))
              for _ in range(resamples)]
    return percentile_interval(values, statistic(np.arange(len(documents))))


def _case_tokens(case: str, sentences: list[str], documents: np.ndarray) -> list[list[str]]:
    """The word tokens of each of the case's sentences, one per document entry."""
    tokens = sentence_tokens(sentences)
    if len(tokens) != len(documents):
        raise ValueError(f"{case}: {len(tokens)} sentences after cutting, {len(documents)} expected")
    return tokens


def _text_rows(case: str, sentences: list[str], documents: np.ndarray, references: list[list[str]],
               seed: int) -> list[MetricRow]:
    """The product's model-free quality and diversity metrics of one case, their intervals over documents."""
    rows = quality_diversity(case, sentences, references, seed)
    tokens = _case_tokens(case, sentences, documents)
    per_sentence = {f"bleu_{n}": bleu_scores(tokens, references, n) for n in BLEU_ORDERS}
    if len(tokens) >= 2:
        per_sentence.update({f"self_bleu_{n}": self_bleu_scores(tokens, n) for n in BLEU_ORDERS})
    statistics = {metric: (lambda scores: lambda idx: float(scores[idx].mean()))(scores)
                  for metric, scores in per_sentence.items()}
    statistics["distinct_2"] = lambda idx: distinct_n([tokens[i] for i in idx], 2) or 0.0
    out = []
    for row in rows:
        if row.metric in statistics:
            low, high = document_interval(statistics[row.metric], documents, seed)
            row = replace(row, ci_low=low, ci_high=high)
        out.append(row)
    return out


def _memorization_rows(case: str, sentences: list[str], documents: np.ndarray, reference_tokens: list[list[str]],
                       train_tokens: list[list[str]]) -> list[MetricRow]:
    """The product's n-gram memorization metrics of one case, each document's sentences one unit, against
    the reference half's documents."""
    tokens = _case_tokens(case, sentences, documents)
    units = [[token for i in np.flatnonzero(documents == d) for token in tokens[i]] for d in np.unique(documents)]
    return ngram_memorization_rows(case, units, reference_tokens, train_tokens)


def text_panel(train_documents: list[str], heldout_documents: list[str], seed: int,
               key: WatermarkKey | None = None) -> Panel:
    """The text panel: BLEU, Self-BLEU and distinct-2 against the reference half's sentences, training
    8-gram overlap against the train split and training 4-gram excess over the reference half's documents,
    of every case (stitched text: memorization only); then judged. Intervals of the first three are over
    documents (document_interval). With `key`, texts of a character bigram model of the training text, sampled
    with and without the watermark, join the cases, and the watermark's detection is scored on every case."""
    reference_documents, sets = text_cases(train_documents, heldout_documents, seed)
    references, reference_tokens = sentence_tokens(reference_documents), [tokenize(d) for d in reference_documents]
    train_tokens = [tokenize(d) for d in train_documents]
    rows = []
    for case, (sentences, documents) in sets.items():
        if case not in STITCHED.values():  # stitched text counts for memorization alone, as disguised images do
            rows += _text_rows(case, sentences, documents, references, seed)
        rows += _memorization_rows(case, sentences, documents, reference_tokens, train_tokens)
    cases = {case: text for case, text in CASES["text"].items() if case not in (BIGRAM, MARKED_BIGRAM)}
    if key is not None:
        count = len(sets[UNSEEN][0])
        texts = {case: sentences for case, (sentences, _) in sets.items()}
        texts.update({case: bigram_documents(train_documents, count, MARKED_TEXT_CHARACTERS, seed, case_key)
                      for case, case_key in ((BIGRAM, None), (MARKED_BIGRAM, key))})
        rows += [detection_row(case, text_p_values(items, key)) for case, items in texts.items()]
        cases = CASES["text"]
    return judge_panel("text", rows, cases, len(sets[UNSEEN][0]), seed,
                       f"the sentences of the reference half of the held-out documents ({len(references)} "
                       f"sentences); memorization against the train split ({len(train_documents)} documents)",
                       notes=["bits per character and continuation BLEU need a model: not in the panel",
                              "BLEU, Self-BLEU and distinct-2 intervals: bootstrap over documents",
                              "stitched text is scored for memorization only"])
