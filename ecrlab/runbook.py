"""Inside a runbook notebook: validated parameters, the registry, and every apply recorded for the audit.

A notebook starts with `runbook = ecrlab.runbook.start("<feature>", globals())` right after its
`parameters` cell and applies plans with `runbook.apply(plan)`. Each apply displays the cumulative audit
record under its own MIME type; `ecrlab run` reads the last one from the executed notebook, so the record
survives in the notebook itself, on disk or on S3, and a failed apply still leaves what it did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecrlab.errors import ApplyError, GuardError
from ecrlab.parameters import Runbook, runbook
from ecrlab.plan import ApplyResult, Plan, apply

if TYPE_CHECKING:
    from ecrlab.registry import Registry

AUDIT_MIME = "application/vnd.ecrlab.audit+json"


@dataclass
class RunbookSession:
    """One execution of a runbook: what it was asked, where it ran, what it planned and applied."""

    runbook: Runbook
    params: dict[str, Any]
    registry: Registry
    results: list[ApplyResult] = field(default_factory=list)
    error: str | None = None
    previews: dict[str, Any] = field(default_factory=dict)

    def attach(self, name: str, value: Any) -> None:
        """Add a feature's preview (JSON-ready, e.g. who-can-do-what before and after) to the audit record."""
        self.previews[name] = value

    @property
    def dry_run(self) -> bool:
        """Real accounts are written only with apply=True; the emulator lesson always applies."""
        return self.params["target"] == "aws" and not self.params["apply"]

    def apply(self, plan: Plan, guard: Callable[[], object] | None = None) -> ApplyResult:
        """Apply `plan` behind the account guard, record it, and return the result.

        `guard` is a feature's own check before a write (e.g. the registry policy's lockout check); it runs
        unless this is a dry run, and a GuardError it raises is recorded as a refusal like the account guard's.
        """
        try:
            if guard is not None and not self.dry_run:
                guard()
            result = apply(
                plan, self.registry, dry_run=self.dry_run, expected_account_id=self.params["expected_account_id"]
            )
        except (GuardError, ApplyError) as error:
            self.error = f"{type(error).__name__}: {error}"
            if isinstance(error, ApplyError):
                self.results.append(ApplyResult(False, plan, error.applied, {}, verified=False))
            self.emit()
            raise
        self.results.append(result)
        self.emit()
        return result

    @property
    def outcome(self) -> str:
        if self.error:
            return "refused" if self.error.startswith("GuardError") else "failed"
        if any(r.applied for r in self.results):
            return "applied"
        return "dry-run" if self.dry_run else "no-changes"

    def record(self) -> dict[str, Any]:
        """The audit record: deterministic for a given registry state (the runner adds times and ids)."""
        return {
            "feature": self.runbook.feature,
            "parameters": self.runbook.redacted(self.params),
            **self.registry.summary(),
            "dry_run": self.dry_run,
            "applies": [result.to_dict() for result in self.results],
            "backups": [result.backup for result in self.results if result.backup],
            "verified": all(r.verified for r in self.results if not r.dry_run),
            "outcome": self.outcome,
            "error": self.error,
            **({"previews": self.previews} if self.previews else {}),
        }

    def emit(self) -> None:
        from IPython.display import display

        # An empty text/plain: front ends show nothing, `ecrlab run` reads the record from the saved notebook.
        display({AUDIT_MIME: self.record(), "text/plain": ""}, raw=True)


def start(feature: str, namespace: Mapping[str, Any]) -> RunbookSession:
    """Validate the notebook's parameters (taken from `namespace`, usually `globals()`) and connect."""
    import ecrlab

    book = runbook(feature)
    params = book.validate({p.name: namespace[p.name] for p in book.parameters if p.name in namespace})
    if params["target"] == "aws":
        registry = ecrlab.connect("aws", profile=params["profile"], region=params["region"])
    else:
        registry = ecrlab.connect(region=params["region"])
    if params["assume_role_arn"]:
        registry = registry.assume_role(params["assume_role_arn"], session_name=f"ecrlab-{feature}")
    return RunbookSession(book, params, registry)
