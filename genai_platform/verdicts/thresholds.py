"""Bias, memorization and watermark findings judged against their warn and fail thresholds: pass, warn, fail,
or "too few" observations to judge. The ethics report, the metric self-test and the champion gate all judge
a finding here, the same way."""

from __future__ import annotations

from dataclasses import dataclass

from genai_platform.metrics.catalog import MARK_DETECTION_METRICS, info

STATUSES = ("pass", "warn", "fail")
TOO_FEW = "too few"  # a finding on fewer than MIN_FINDING_COUNT observations: shown, not judged
MIN_FINDING_COUNT = 10


@dataclass(frozen=True)
class Threshold:
    """For a metric where lower is better (or closer to 0): at or above warn warns, at or above fail fails. Where
    higher is better: below warn warns, below fail fails."""
    warn: float
    fail: float


# Bias, memorization and watermark thresholds; "zero"-direction metrics are judged by their absolute value.
DEFAULT_THRESHOLDS = {
    "copy_rate": Threshold(0.01, 0.05),
    "near_copy_rate": Threshold(0.10, 0.20),  # its level, 0.05, for unseen real data; disguised copies near 1
    "data_copying": Threshold(2.0, 3.0),  # -C_T (Meehan et al., 2020), a Z-like score: ~N(0, <=1) for unseen data
    "class_tv_distance": Threshold(0.10, 0.25),
    "missing_modes": Threshold(1, 3),
    "training_8gram_overlap": Threshold(0.05, 0.20),
    "training_4gram_excess": Threshold(0.10, 0.25),  # held-out text: about 0; stitched training phrases: about 0.8
    "extraction_rate": Threshold(0.01, 0.05),
    "gender_representation_tv_amplification": Threshold(1.10, 1.50),
    "gender_profession_association_amplification": Threshold(1.10, 1.50),
    "gender_adjective_association_amplification": Threshold(1.10, 1.50),
    "sentiment_gap_occupation": Threshold(0.05, 0.15),
    "sentiment_gap_respect": Threshold(0.05, 0.15),
    # warn when the mark is found in under 90% of the samples, clean or after the edits a forger makes; never fail
    # (no promotion withheld: the mark says where a sample came from, not how good it is). A text family's
    # one-sentence continuations have no threshold: how much evidence they carry depends on the data's sentence
    # lengths, not on the mark (on the bundled Lee corpus the lstm's were found 0.87 of the time, its free samples
    # 0.98; with the previous character alone as the green list's context, about 1 in 100 and all).
    **{metric: Threshold(0.90, 0.0) for metric in MARK_DETECTION_METRICS if metric != "mark_detection_continuation"},
    # judged on held-out real data (reporting/findings.py): warn when this key calls real items marked credibly more
    # often than the detector's level, 1% (the interval's lower end at or above it); never fail (a fail at 1.0
    # needs every item called marked). Under some keys a language's common units are green together (text_mark.py).
    "mark_false_positive_rate": Threshold(0.01, 1.0),
}


def thresholds(overrides: dict[str, list[float]]) -> dict[str, Threshold]:
    """The default thresholds with `overrides` ({metric: [warn, fail]}) applied, checked."""
    merged = dict(DEFAULT_THRESHOLDS)
    for metric, pair in overrides.items():
        try:
            direction = info(metric).direction
        except KeyError as error:
            raise ValueError(f"threshold for unknown metric {metric!r}") from error
        if direction not in ("lower", "zero", "higher"):
            raise ValueError(f"threshold for {metric!r}: only metrics where lower (or closer to 0) or higher is "
                             f"better can have warn/fail thresholds; its direction is {direction!r}")
        ordered = len(pair) == 2 and (pair[0] >= pair[1] if direction == "higher" else pair[0] <= pair[1])
        if not ordered:
            relation = "warn >= fail (higher is better)" if direction == "higher" else "warn <= fail"
            raise ValueError(f"threshold for {metric!r} must be [warn, fail] with {relation}, got {pair!r}")
        merged[metric] = Threshold(float(pair[0]), float(pair[1]))
    return merged


def judge(metric: str, value: float, count: int, threshold: Threshold, ci_low: float | None = None,
          ci_high: float | None = None) -> str:
    """pass below the warn threshold, fail at or above the fail threshold, warn between; TOO_FEW
    when the value rests on fewer than MIN_FINDING_COUNT observations (samples, words, targets).

    With an interval (ci_low, ci_high) the whole interval must be past a threshold: for "lower is
    better" ci_low >= warn warns and ci_low >= fail fails; for "zero" (closer to 0 is better) the
    interval must lie outside [-warn, warn] (resp. [-fail, fail]), i.e. its end nearest 0 counts; for
    "higher is better" ci_high < warn warns and ci_high < fail fails. Without an interval the value is
    judged as it stands."""
    if count < MIN_FINDING_COUNT:
        return TOO_FEW
    judged = _nearest_to_good(metric, value, ci_low, ci_high)
    if info(metric).direction == "higher":
        return "fail" if judged < threshold.fail else "warn" if judged < threshold.warn else "pass"
    return _status(judged, threshold)


def _nearest_to_good(metric: str, value: float, ci_low: float | None, ci_high: float | None) -> float:
    """The value a finding is judged on: the interval's end nearest the good side, or the value."""
    zero = info(metric).direction == "zero"
    if ci_low is None or ci_high is None:
        return abs(value) if zero else value
    if info(metric).direction == "higher":
        return ci_high
    if zero:
        return 0.0 if ci_low <= 0.0 <= ci_high else min(abs(ci_low), abs(ci_high))
    return ci_low


def _status(x: float, threshold: Threshold) -> str:
    return "fail" if x >= threshold.fail else "warn" if x >= threshold.warn else "pass"


def worst(statuses) -> str:
    return max((s for s in statuses if s in STATUSES), key=STATUSES.index, default="pass")
