"""What a registry policy would change, shown before it is applied: the access matrix and the live lint.

One object for the runbook, the panel and the audit record: `print(preview)` for a terminal or a runbook
notebook, `preview` alone in Jupyter (HTML), `preview.to_record()` for the audit, `preview.check()` as the
apply guard (GuardError on a lockout unless forced).
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ecrlab.permissions.access import access_matrix, check_lockout, matrix_html, matrix_table
from ecrlab.permissions.account import AccountSnapshot
from ecrlab.permissions.findings import Finding
from ecrlab.permissions.lint import lint

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.permissions.policy import RegistryPolicy
    from ecrlab.registry import Registry

_COLOURS = {"error": "#c62828", "warning": "#ef6c00", "info": "#1565c0"}


@dataclass
class PolicyPreview:
    """The registry, the policy in force, the one planned, who-can-do-what for both, and the live findings."""

    registry: Registry
    before: RegistryPolicy | None
    after: RegistryPolicy | None
    matrix: pd.DataFrame
    findings: list[Finding]

    @property
    def changed(self) -> pd.DataFrame:
        """Only the cells the policy changes."""
        return self.matrix[self.matrix["changed"]]

    def check(self, force: bool = False) -> list[Finding]:
        """The apply guard: GuardError (nothing written) on a lockout unless `force`."""
        return check_lockout(self.registry, self.after, force=force, findings=self.findings)

    def to_record(self) -> dict[str, Any]:
        """JSON-ready: the matrix's rows and the findings, for the audit record."""
        return {
            "access_matrix": self.matrix.to_dict("records"),
            "changed_cells": int(self.matrix["changed"].sum()),
            "findings": [asdict(f) for f in self.findings],
        }

    def __str__(self) -> str:
        lines = [f"Who can do what ({int(self.matrix['changed'].sum())} cell(s) change, shown as before → after):"]
        lines.append(matrix_table(self.matrix).to_string())
        lines += [f"{f.severity:8} {f.code:22} {f.path}: {f.message}" for f in self.findings] or ["No findings."]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        items = "".join(
            f"<li><b style='color:{_COLOURS[f.severity]}'>{f.severity}</b> <code>{html.escape(f.code)}</code> "
            f"<code>{html.escape(f.path)}</code> {html.escape(f.message)}"
            + (f" <small>({html.escape(f.source)})</small>" if f.source else "")
            + "</li>"
            for f in self.findings
        )
        found = f"<ul style='margin:0'>{items}</ul>" if items else "<p>No findings.</p>"
        return matrix_html(self.matrix) + found


def policy_preview(registry: Registry, policy: RegistryPolicy | None) -> PolicyPreview:
    """The preview of replacing the registry's policy with `policy` (None: deleting it)."""
    snapshot = AccountSnapshot(registry)  # the lint and the matrix judge the same account, read once
    before = snapshot.policy
    findings = lint(policy, registry=registry, snapshot=snapshot) if policy is not None else []
    matrix = access_matrix(registry, before, policy, snapshot=snapshot)
    return PolicyPreview(registry, before, policy, matrix, findings)
