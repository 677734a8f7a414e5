"""The scanning panel (configuration form with a live "which repositories does this match?") and a findings
explorer (severity filter, fixable-only toggle) over `ecrlab.scan_results.findings()`.

Like every ecrlab form it edits a spec (`ScanningSpec`) and its buttons call `scanning.plan` and the plan engine;
the match list comes from `scanning.matching_repositories`, the rules the emulator scans by. Never boto3.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from ecrlab import repositories, scanning
from ecrlab.parameters import runbook
from ecrlab.scan_results import SEVERITIES
from ecrlab.scan_rules import SCAN_TYPES
from ecrlab.widgets.form import SpecForm, choice, lines

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

_COLOURS = {
    "scanned on push and continuously": "#2e7d32",
    "scanned on push": "#2e7d32",
    "manual scans only": "#ef6c00",
    "not scanned": "#c62828",
}


def runbook_parameters(values: dict[str, Any]) -> dict[str, Any]:
    """The `scanning` runbook parameters for the form's values (only those that differ from the defaults). The
    panel plans the registry's whole configuration, so the runbook is told to remove the filters it does not list."""
    wanted = {
        "scan_type": values["scan_type"],
        "scan_on_push_filters": list(values["on_push"]),
        "continuous_filters": list(values["continuous"]),
        "remove_unlisted": True,
    }
    defaults = {p.name: p.default for p in runbook("scanning").parameters}
    return {name: value for name, value in wanted.items() if value != defaults[name]}


def matches_html(frame: pd.DataFrame) -> str:
    """The match table: how each repository is scanned, and by which filters."""
    if frame.empty:
        return "<p><i>No repositories in this registry yet.</i></p>"
    rows = "".join(
        f"<tr><td><code>{html.escape(row.repository)}</code></td>"
        f"<td style='color:{_COLOURS[row.scanning]}'>{html.escape(row.scanning)}</td>"
        f"<td><code>{html.escape(row.matched_filters)}</code></td></tr>"
        for row in frame.itertuples()
    )
    scanned = int(frame["scanning"].str.startswith("scanned").sum())
    return (
        f"<p>{scanned} of {len(frame)} repositories scanned automatically.</p>"
        "<table><thead><tr><th>repository</th><th>scanning</th><th>matched by</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


class ScanningPanel:
    """Scan type and filters (plan/apply), and the repositories they match, updated as you type."""

    def __init__(self, registry: Registry, repository_names: Sequence[str] | None = None, **apply_options: Any):
        self.registry = registry
        if repository_names is None:
            repository_names = repositories.inventory(registry)["repository"].tolist()
        self.repository_names = list(repository_names)
        fields = [
            choice("scan_type", "Scan type", SCAN_TYPES, "BASIC: OS packages; ENHANCED: Amazon Inspector"),
            lines("on_push", "Scan on push filters", "one WILDCARD filter per line; no '*' means 'contains'"),
            lines("continuous", "Continuous filters", "ENHANCED only; wins over scan on push"),
        ]

        def live(reg: Registry) -> dict[str, Any]:
            current = scanning.read(reg)
            return {"scan_type": current.scan_type, "on_push": current.on_push, "continuous": current.continuous}

        self.form = SpecForm(
            registry,
            fields,
            scanning.ScanningSpec,
            # The panel opens with every filter of the registry, so a filter the learner deletes here is removed.
            partial(scanning.plan, remove_unlisted=True),
            runbook=("scanning", runbook_parameters),
            read=live,
            **apply_options,
        )
        self.matches = W.HTML()
        self.matches.add_class("ecrlab-matches")
        for widget in self.form.inputs.values():
            widget.observe(lambda _: self.refresh(), names="value")
        self.refresh()
        self.widget = W.VBox([self.form.widget, W.HTML("<h4>Which repositories does this match?</h4>"), self.matches])
        self.widget.add_class("ecrlab-panel")

    def refresh(self) -> pd.DataFrame | None:
        """Recompute the match list from the form; a broken rule shows at its field instead."""
        spec = self.form.spec()
        if spec is None:
            self.matches.value = "<p><i>Fix the highlighted field to see what it matches.</i></p>"
            return None
        frame = scanning.matching_repositories(spec, self.repository_names)
        self.matches.value = matches_html(frame)
        return frame


# What the explorer sorts by: the columns, in order. Severity is ECR's order (most severe first), not the alphabet.
SORT_KEYS = {
    "severity": ("severity", "package", "id"),
    "package": ("package", "installed", "id"),
    "vulnerability": ("id", "package"),
    "image": ("repository", "tag", "severity", "package"),
}


def _severity_first(column: pd.Series) -> pd.Series:
    return column.map(SEVERITIES.index) if column.name == "severity" else column


class FindingsExplorer:
    """A findings DataFrame filtered by severity, by package name and to findings a package upgrade fixes, sorted
    by the column a learner picks (a long findings list is read by package or by image as often as by severity)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        present = tuple(s for s in SEVERITIES if (frame["severity"] == s).any()) or SEVERITIES
        self.severity = W.SelectMultiple(options=SEVERITIES, value=present, rows=6, description="Severity")
        self.fixable = W.Checkbox(value=False, description="Fixable only", indent=False)
        self.package = W.Text(description="Package", placeholder="part of a package name")
        self.sort = W.Dropdown(options=list(SORT_KEYS), value="severity", description="Sort by")
        self.summary = W.HTML()
        self.table = W.HTML()
        self.severity.add_class("ecrlab-severity")
        self.fixable.add_class("ecrlab-fixable")
        self.package.add_class("ecrlab-package")
        self.sort.add_class("ecrlab-sort")
        self.table.add_class("ecrlab-findings")
        for widget in (self.severity, self.fixable, self.package, self.sort):
            widget.observe(lambda _: self.refresh(), names="value")
        self.refresh()
        for control in (self.severity, self.package, self.sort):
            control.style.description_width = "initial"
        self.widget = W.VBox(
            [W.HBox([self.severity, W.VBox([self.fixable, self.package, self.sort])]), self.summary, self.table]
        )
        self.widget.add_class("ecrlab-form").add_class("ecrlab-panel")

    def filtered(self) -> pd.DataFrame:
        """The rows shown, in the chosen order: the chosen severities, packages whose name contains the text, and
        only those with a fixed version when asked."""
        shown = self.frame[self.frame["severity"].isin(self.severity.value)]
        if self.fixable.value:
            shown = shown[shown["fixed"].notna()]
        if needle := self.package.value.strip().lower():
            shown = shown[shown["package"].str.lower().str.contains(needle, regex=False)]
        shown = shown.sort_values(list(SORT_KEYS[self.sort.value]), key=_severity_first, kind="stable")
        return shown.reset_index(drop=True)

    def refresh(self) -> None:
        shown = self.filtered()
        note = ""
        if self.fixable.value and not self.frame.empty and self.frame["fixed"].isna().all():
            note = (
                " Basic findings do not say which version fixes them; enhanced (Inspector) findings do, "
                "so switch the registry to ENHANCED to filter on fixes."
            )
        # A row is a (vulnerability, package) pair: one basic finding, or one package of an enhanced finding, which
        # covers every package a CVE affects. Counting both keeps the summary true for either scan type.
        vulnerabilities = len(shown[["digest", "id"]].drop_duplicates())
        self.summary.value = (
            f"<p>{len(shown)} of {len(self.frame)} rows shown: {vulnerabilities} vulnerabilities, "
            f"a row per affected package.{html.escape(note)}</p>"
        )
        columns = ["repository", "tag", "id", "severity", "package", "installed", "fixed"]
        self.table.value = shown[columns].to_html(index=False, na_rep="—", border=0) if len(shown) else ""
