"""The CI gate over scan findings: pass or block on a severity threshold, with the exit code a CI step needs.

`ecrlab scan-gate` runs it; the threshold uses ECR's severity scale from `ecrlab.scan_results`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecrlab.errors import ValidationError
from ecrlab.scan_results import SEVERITIES, severity_counts, severity_rank

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)
class GateResult:
    """Whether findings pass a severity threshold, and the findings that block when they do not."""

    threshold: str
    counts: dict[str, int]
    blocking: pd.DataFrame

    @property
    def passed(self) -> bool:
        return self.blocking.empty

    @property
    def exit_code(self) -> int:
        """What a CI step exits with: 0 passes, 1 blocks."""
        return 0 if self.passed else 1

    def __str__(self) -> str:
        found = ", ".join(f"{count} {severity}" for severity, count in self.counts.items()) or "no findings"
        if self.passed:
            return f"PASS: nothing at or above {self.threshold} ({found})."
        blocking = severity_counts(self.blocking)
        worst = ", ".join(f"{count} {severity}" for severity, count in blocking.items())
        return f"FAIL: {len(self.blocking)} finding(s) at or above {self.threshold}: {worst} (all: {found})."


def gate(frame: pd.DataFrame, threshold: str = "HIGH") -> GateResult:
    """Block on any finding at or above `threshold` on ECR's scale; unrated (UNDEFINED) findings block only under
    the threshold UNDEFINED, which blocks on every finding."""
    if threshold not in SEVERITIES:
        raise ValidationError("threshold", threshold, f"must be one of {', '.join(SEVERITIES)}")
    at_or_above = frame["severity"].map(lambda s: severity_rank(s) <= severity_rank(threshold))
    return GateResult(threshold, severity_counts(frame), frame[at_or_above].reset_index(drop=True))
