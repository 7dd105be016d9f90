"""Small types shared by every layer: estimates, metric rows, image splits, profiles, model versions and promotions.

Nothing here imports the rest of the package, so the pure evaluation code and the store
can both use these without depending on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

PROFILES = ("smoke", "default", "full")  # smoke: seconds, for tests; default: 2 CPU cores; full: a GPU nightly
FEATURE_SPACES = ("classifier", "inception")  # image distribution metrics: the in-project CNN or Inception-v3

# What a metrics_history row describes: a trained family, or a reference beside the families
# (catalog.REFERENCES names each reference key and its label).
ROLES = ("model", "reference", "baseline", "data")


@dataclass(frozen=True)
class Estimate:
    """A value with the sample size behind it and, where it has one, its 95% interval."""
    value: float
    count: int
    ci_low: float | None = None
    ci_high: float | None = None

    def text(self, signed: bool = False) -> str:
        """The value and its interval as reports and logs write them, "0.123 [0.1, 0.15]"; `signed`, for a
        difference: "+0.023 [-0.01, +0.05]"; the value alone without an interval."""
        interval = self.interval_text(signed)
        return _number(self.value, signed) + (f" {interval}" if interval else "")

    def interval_text(self, signed: bool = False) -> str:
        """The interval alone, "[0.1, 0.15]"; "" without one."""
        return "" if self.ci_low is None else f"[{_number(self.ci_low, signed)}, {_number(self.ci_high, signed)}]"


def _number(value: float, signed: bool) -> str:
    return f"{value:+.4g}" if signed else f"{value:.4g}"


@dataclass
class MetricRow:
    subject: str  # a family name (role "model") or a reference key of the catalog
    metric: str
    value: float
    sample_count: int
    ci_low: float | None = None
    ci_high: float | None = None
    role: str = "model"

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"metric row role {self.role!r} is not one of {', '.join(ROLES)}")

    @classmethod
    def of(cls, subject: str, metric: str, estimate: Estimate, role: str = "model") -> MetricRow:
        return cls(subject, metric, estimate.value, estimate.count, estimate.ci_low, estimate.ci_high, role)

    @property
    def estimate(self) -> Estimate:
        return Estimate(self.value, self.sample_count, self.ci_low, self.ci_high)


@dataclass(frozen=True)
class Comparison:
    """A paired difference, subject minus baseline, on one reference set at one sample size."""
    subject: str  # a family
    baseline: str  # another family of the same run, or the subject itself: its champion
    baseline_run: str | None  # None: the same run; else the champion version (the run id that trained it)
    metric: str
    delta: float
    sample_count: int
    ci_low: float | None = None
    ci_high: float | None = None
    baseline_value: float | None = None  # the baseline's own value of the statistic differenced (None: recorded before it was kept)

    @classmethod
    def of(cls, subject: str, baseline: str, baseline_run: str | None, metric: str, difference) -> Comparison:
        """From a metrics.comparisons.Difference (value, count, ci_low, ci_high, baseline)."""
        return cls(subject, baseline, baseline_run, metric, difference.value, difference.count, difference.ci_low,
                   difference.ci_high, difference.baseline)

    @property
    def estimate(self) -> Estimate:
        """The difference (delta) as an estimate."""
        return Estimate(self.delta, self.sample_count, self.ci_low, self.ci_high)


@dataclass
class ImageSplit:
    pixels: np.ndarray  # [N, C, H, W] float32 in [0, 1]
    labels: np.ndarray | None
    content_hashes: list[str]


@dataclass(frozen=True)
class ModelVersion:
    """A trained model kept under models/<family>/versions/<version>/ and in the model_versions table."""
    family: str
    modality: str
    version: str  # the run id that trained it
    created_at: datetime
    chosen_at: datetime  # the last time a training step made or re-used it
    dataset: str
    data_version: str
    code_version: str  # digest of the family's model and training source
    fingerprint: str  # everything that decides the weights: equal means nothing to retrain
    config: dict  # model_config and training_config
    path: str


# promoted: the challenger passed the gate; kept: it did not (worse by more than the margin, a failing finding,
# nothing to compare), the champion stays; inconclusive: the intervals were too wide to show it within the
# margin, the champion stays; first: no champion before; withheld: a first version with a failing finding,
# nothing serves; unchanged: the challenger is the champion (nothing was retrained); forced / rolled back: by hand
# fallback: the version the decision left serving was damaged, and the newest intact earlier champion serves
DECISIONS = ("promoted", "kept", "inconclusive", "first", "withheld", "unchanged", "forced", "rolled back", "fallback")
KEEPING = ("kept", "inconclusive", "withheld", "fallback")  # the challenger was judged and does not serve
PROMOTING = ("promoted", "first", "forced", "rolled back")


@dataclass(frozen=True)
class Decision:
    """One promotion decision of a family: which version serves after it, and why."""
    family: str
    challenger: str | None
    previous: str | None  # the champion before
    champion: str | None  # the champion after (None: nothing serves, a withheld first version)
    decision: str
    reason: str
    run_id: str = ""
    decided_at: datetime | None = None
    best: str | None = None  # the best version that ever served, after it: the gate bounds drift from it

    def __post_init__(self):
        if self.decision not in DECISIONS:
            raise ValueError(f"decision {self.decision!r} is not one of {', '.join(DECISIONS)}")
