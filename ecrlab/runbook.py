"""Inside a runbook notebook: validated parameters, the registry, and every apply recorded for the audit.

A notebook starts with `runbook = ecrlab.runbook.start("<feature>", globals())` right after its
`parameters` cell and applies plans with `runbook.apply(plan)`. Each apply displays the cumulative audit
record under its own MIME type; `ecrlab run` reads the last one from the executed notebook, so the record
survives in the notebook itself, on disk or on S3, and a failed apply still leaves what it did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecrlab.errors import ApplyError, GuardError
from ecrlab.parameters import Runbook, runbook
from ecrlab.plan import ApplyResult, Plan, apply

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

AUDIT_MIME = "application/vnd.ecrlab.audit+json"
BACKUP_MIME = "application/vnd.ecrlab.backup+json"  # one setting's backup, shown just before its write


def canonical(value: Any) -> Any:
    """A JSON value as it reads back from a file, so a plan made now compares with one saved earlier."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _first_difference(reviewed: dict[str, Any], planned: dict[str, Any]) -> str:
    """Where a plan made now departs from the reviewed one: the first setting read differently, else the changes."""
    for address, value in planned.get("observed", {}).items():
        if reviewed.get("observed", {}).get(address, "(not read)") != value:
            return f"{address} is not as the reviewed plan read it"
    if (reviewed["account_id"], reviewed["region"]) != (planned["account_id"], planned["region"]):
        return f"the plan was reviewed for {reviewed['account_id']}/{reviewed['region']}"
    return "the changes differ from the reviewed ones"


@dataclass
class RunbookSession:
    """One execution of a runbook: what it was asked, where it ran, what it planned and applied."""

    runbook: Runbook
    params: dict[str, Any]
    registry: Registry
    results: list[ApplyResult] = field(default_factory=list)
    error: str | None = None
    original_caller: str | None = None
    backups: list[dict[str, Any]] = field(default_factory=list)
    previews: dict[str, Any] = field(default_factory=dict)
    started: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def attach(self, name: str, value: Any) -> None:
        """Add a feature's preview (JSON-ready, e.g. who-can-do-what before and after) to the audit record."""
        self.previews[name] = value

    def record_started(self, name: str, jobs: pd.DataFrame) -> None:
        """Record jobs a run started on the account (e.g. replication backfills) at once: they are changes too,
        though no rollback undoes them, so the audit record must say what was started even if a later cell fails."""
        self.started[name] = [{str(k): str(v) for k, v in row.items()} for row in jobs.to_dict("records")]
        self.emit()

    @property
    def dry_run(self) -> bool:
        """Real accounts are written only with apply=True; the emulator lesson always applies."""
        return self.params["target"] == "aws" and not self.params["apply"]

    def _check_reviewed(self, plan: Plan) -> None:
        """With `reviewed_plan`, refuse unless this plan is exactly the one reviewed, from the same reads."""
        path = self.params.get("reviewed_plan")
        if not path:
            return
        saved = json.loads(Path(path).read_text())
        index = len(self.results)
        if saved.get("feature") != self.runbook.feature or index >= len(saved.get("plans", [])):
            raise GuardError(f"{path} is not a plan of this {self.runbook.feature} run: nothing was written.")
        reviewed, planned = saved["plans"][index], canonical(plan.to_dict())
        if reviewed != planned:
            raise GuardError(
                f"the registry changed since the plan in {path} was reviewed ({_first_difference(reviewed, planned)})"
                ": nothing was written. Review a new plan (--plan-out) and apply that."
            )

    def apply(self, plan: Plan, guard: Callable[[], object] | None = None) -> ApplyResult:
        """Apply `plan` behind the account guard and record it; each setting's backup is recorded before its write,
        so a run that fails at any point can be rolled back.

        `guard` is a feature's own check before a write (e.g. the registry policy's lockout check); it runs
        unless this is a dry run, and a GuardError it raises is recorded as a refusal like the account guard's.
        """
        backup: dict[str, Any] = {"account_id": plan.account_id, "region": plan.region, "settings": []}

        def before_write(entry: dict[str, Any]) -> None:
            backup["settings"].append(entry)
            self.emit_backup(entry)

        self.backups.append(backup)
        try:
            self._check_reviewed(plan)
            if guard is not None and not self.dry_run:
                guard()
            result = apply(
                plan,
                self.registry,
                dry_run=self.dry_run,
                expected_account_id=self.params["expected_account_id"],
                on_backup=before_write,
            )
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"
            applied = error.applied if isinstance(error, ApplyError) else []
            self.results.append(ApplyResult(False, plan, applied, backup, verified=False))
            self.emit()
            raise
        self.results.append(result)
        self.emit()
        return result

    @property
    def outcome(self) -> str:
        if self.error:
            return "refused" if self.error.startswith("GuardError") else "failed"
        if any(r.applied for r in self.results) or (not self.dry_run and any(self.started.values())):
            return "applied"
        return "dry-run" if self.dry_run else "no-changes"

    def record(self) -> dict[str, Any]:
        """The audit record: deterministic for a given registry state (the runner adds times and ids)."""
        from ecrlab import __version__

        record = {
            "feature": self.runbook.feature,
            "parameters": self.runbook.redacted(self.params),
            **self.registry.summary(),
            "ecrlab_version": __version__,
            "dry_run": self.dry_run,
            "applies": [result.to_dict() for result in self.results],
            "backups": [backup for backup in self.backups if backup["settings"]],
            "verified": all(r.verified for r in self.results if not r.dry_run),
            "outcome": self.outcome,
            "error": self.error,
            **({"previews": self.previews} if self.previews else {}),
            # Jobs the run started, which `ecrlab rollback` does not stop or undo (it restores settings only).
            **({"started": self.started} if self.started else {}),
        }
        if self.original_caller:
            record["original_caller"] = self.original_caller  # who assumed the role `caller` acts as
        return record

    def emit(self) -> None:
        from IPython.display import display

        # An empty text/plain: front ends show nothing, `ecrlab run` reads the record from the saved notebook.
        display({AUDIT_MIME: self.record(), "text/plain": ""}, raw=True)

    def emit_backup(self, entry: dict[str, Any]) -> None:
        """Show one setting's backup just before its write: if the run stops before the next whole record (a killed
        kernel), `ecrlab run` still finds where it ran and what was about to be overwritten."""
        from IPython.display import display

        place = {"target": self.registry.target, "account_id": self.registry.account_id, "region": self.registry.region}
        display({BACKUP_MIME: {**place, "setting": entry}, "text/plain": ""}, raw=True)


def start(feature: str, namespace: Mapping[str, Any]) -> RunbookSession:
    """Validate the notebook's parameters (taken from `namespace`, usually `globals()`) and connect; against the
    emulator, start from an empty registry (the lesson sets up everything it shows)."""
    import ecrlab

    book = runbook(feature)
    params = book.validate({p.name: namespace[p.name] for p in book.parameters if p.name in namespace})
    if params["target"] == "aws":
        registry = ecrlab.connect("aws", profile=params["profile"], region=params["region"])
    else:
        registry = ecrlab.connect(region=params["region"])
        # The lesson owns its embedded emulator: every run starts from the same empty registry at the workshop
        # start, so a learner's second Run All shows what the first showed instead of "already exists" errors.
        assert registry.emulator is not None  # connect() to the emulator always hands its knobs
        registry.emulator.reset()
    original = None
    if params["assume_role_arn"]:
        original = registry.caller_arn
        registry = registry.assume_role(params["assume_role_arn"], session_name=f"ecrlab-{feature}")
    return RunbookSession(book, params, registry, original_caller=original)
