"""Findings per severity as a bar chart: HTML in a notebook, text elsewhere, with no plotting library to install."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecrlab.scan_results import SEVERITIES, severity_counts

if TYPE_CHECKING:
    import pandas as pd

_COLOURS = {
    "CRITICAL": "#b71c1c",
    "HIGH": "#e65100",
    "MEDIUM": "#f9a825",
    "LOW": "#1565c0",
    "INFORMATIONAL": "#607d8b",
    "UNDEFINED": "#9e9e9e",
}


@dataclass(frozen=True)
class SeverityChart:
    """Findings per severity as bars: HTML in a notebook, text elsewhere (no plotting library needed)."""

    counts: dict[str, int]
    title: str = "Findings by severity"

    def __str__(self) -> str:
        width = max(self.counts.values(), default=0)
        lines = [self.title]
        for severity in SEVERITIES:
            count = self.counts.get(severity, 0)
            bar = "█" * round(30 * count / width) if width else ""
            lines.append(f"  {severity:<13} {bar} {count}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        width = max(self.counts.values(), default=0)
        rows = "".join(
            f"<tr><td style='padding-right:8px'>{severity}</td><td style='width:24em'>"
            f"<div style='background:{_COLOURS[severity]};height:1em;"
            f"width:{100 * self.counts.get(severity, 0) / width if width else 0:.0f}%'></div></td>"
            f"<td style='padding-left:8px'>{self.counts.get(severity, 0)}</td></tr>"
            for severity in SEVERITIES
        )
        return f"<p><b>{html.escape(self.title)}</b></p><table>{rows}</table>"


def severity_chart(frame: pd.DataFrame, title: str = "Findings by severity") -> SeverityChart:
    """A bar chart of a findings DataFrame's severities."""
    return SeverityChart(severity_counts(frame), title)
