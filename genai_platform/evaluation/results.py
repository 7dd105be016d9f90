"""What a modality's evaluation returns, and which sets of families it compares pairwise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

from genai_platform.records import Comparison, MetricRow


@dataclass
class Details:
    """What an evaluation keeps beside its rows for the reports (a modality's subclass names the fields), as
    the details JSON file holds it."""

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        """The details a file holds: its fields that this class knows (an older file may lack some; they keep
        their defaults)."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass
class Evaluation:
    """What a modality's evaluation records: metrics_history rows, the reports' plot details, and the
    paired comparisons of its families (with each other, and each challenger with its champion)."""
    rows: list[MetricRow]
    details: Details
    comparisons: list[Comparison]


def compare_families(compare: Callable, current: dict, earlier: dict[str, dict], log: Callable[[str], None]
                     ) -> list[Comparison]:
    """compare(first, second, paired) -> {metric: difference estimate} for every pair of this run's
    families (each pair once, in name order; independent sets) and for each challenger against the sets of
    its earlier versions (`earlier`: family -> {version: set}, drawn with the same seeds, so paired)."""
    comparisons = []
    names = sorted(current)
    for i, subject in enumerate(names):
        for baseline in names[i + 1:]:
            comparisons += [Comparison.of(subject, baseline, None, metric, estimate)
                            for metric, estimate in compare(current[subject], current[baseline], False).items()]
    for family, sets in sorted(earlier.items()):
        for version, other in sets.items():
            log(f"comparing {family}'s challenger with its version {version}")
            comparisons += [Comparison.of(family, family, version, metric, estimate)
                            for metric, estimate in compare(current[family], other, True).items()]
    return comparisons
