"""One spec → plan → apply engine for every feature.

A feature describes its state as `Setting`s — an address plus how to read and write it — and a desired
value for each. The engine diffs, renders the plan, and applies it behind the same guard, backup and
verification for all five features, so rollback is simply applying the backup.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ecrlab.errors import ApplyError, GuardError, VerificationError

if TYPE_CHECKING:
    from ecrlab.registry import Registry

Action = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class Setting:
    """One addressable piece of registry state: `read` returns None when absent, `write(None)` deletes."""

    kind: str
    key: str
    read: Callable[[Registry], Any] = field(compare=False, repr=False)
    write: Callable[[Registry, Any], None] = field(compare=False, repr=False)

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.key}"


_KINDS: dict[str, Callable[[str], Setting]] = {}


def setting_kind(kind: str) -> Callable[[Callable[[str], Setting]], Callable[[str], Setting]]:
    """Register how to build the `Setting` of `kind` for a key, so backups can be restored by address."""

    def register(factory: Callable[[str], Setting]) -> Callable[[str], Setting]:
        _KINDS[kind] = factory
        return factory

    return register


# The modules that define setting kinds, imported on demand so a backup can be restored in a fresh process.
FEATURE_MODULES = (
    "ecrlab.account_settings",
    "ecrlab.repositories",
    "ecrlab.permissions.registry_policy",
    "ecrlab.pull_through_cache",
    "ecrlab.templates",
    "ecrlab.replication",
    "ecrlab.scanning",
    "ecrlab.signing",
    "ecrlab.pull_time_exclusions",
    "ecrlab.archive",
)


def setting(kind: str, key: str) -> Setting:
    """The `Setting` at `kind/key`, e.g. to restore a backup."""
    if kind not in _KINDS:
        import importlib

        for module in FEATURE_MODULES:
            importlib.import_module(module)
    if kind not in _KINDS:
        raise KeyError(f"no setting kind {kind!r}; add its module to ecrlab.plan.FEATURE_MODULES")
    return _KINDS[kind](key)


@dataclass(frozen=True)
class Change:
    setting: Setting
    before: Any
    after: Any

    @property
    def action(self) -> Action:
        if self.before is None:
            return "create"
        return "delete" if self.after is None else "update"

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.setting.kind,
            "key": self.setting.key,
            "before": self.before,
            "after": self.after,
        }


_SYMBOL = {"create": "+", "update": "~", "delete": "-"}


def _show(value: Any) -> str:
    return "(absent)" if value is None else json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True, repr=False)
class Plan:
    """What applying a spec would change in one registry; empty when it already matches."""

    account_id: str
    region: str
    changes: tuple[Change, ...]
    checked: tuple[str, ...] = ()  # every setting compared, changed or not: the basis of a compliance report

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_text(self) -> str:
        head = f"Plan for account {self.account_id} in {self.region}: "
        if self.empty:
            return head + "no changes (the registry already matches the spec)."
        lines = [head + f"{len(self.changes)} change(s)"]
        for change in self.changes:
            lines.append(f"  {_SYMBOL[change.action]} {change.action} {change.setting.address}")
            if change.action != "create":
                lines.append(f"      before: {_show(change.before)}")
            if change.action != "delete":
                lines.append(f"      after:  {_show(change.after)}")
        return "\n".join(lines)

    __str__ = __repr__ = to_text

    def _repr_html_(self) -> str:
        if self.empty:
            return f"<p><b>No changes</b> for account {self.account_id} in {self.region}.</p>"
        rows = "".join(
            f"<tr><td>{_SYMBOL[c.action]} {c.action}</td>"
            f"<td><code>{html.escape(c.setting.address)}</code></td>"
            f"<td><code>{html.escape(_show(c.before))}</code></td>"
            f"<td><code>{html.escape(_show(c.after))}</code></td></tr>"
            for c in self.changes
        )
        return (
            f"<p><b>Plan</b> for account {self.account_id} in {self.region}: "
            f"{len(self.changes)} change(s)</p>"
            "<table><thead><tr><th>action</th><th>setting</th><th>before</th><th>after</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "region": self.region,
            "changes": [change.to_dict() for change in self.changes],
        }


def make_plan(registry: Registry, desired: Iterable[tuple[Setting, Any]]) -> Plan:
    """Read each setting's current value and keep those that differ from the desired value."""
    changes, checked = [], []
    for item, want in desired:
        current = item.read(registry)
        checked.append(item.address)
        if current != want:
            changes.append(Change(item, current, want))
    return Plan(registry.account_id, registry.region, tuple(changes), tuple(checked))


def combine(*plans: Plan) -> Plan:
    """One plan from several features' plans of the same registry, applied in the order given."""
    if not plans:
        raise ValueError("combine() needs at least one plan")
    places = {(p.account_id, p.region) for p in plans}
    if len(places) > 1:
        raise GuardError(f"plans of different registries cannot be combined: {sorted(places)}")
    first = plans[0]
    changes = tuple(change for p in plans for change in p.changes)
    return Plan(first.account_id, first.region, changes, tuple(a for p in plans for a in p.checked))


@dataclass
class ApplyResult:
    """What an apply did: for the notebook, the audit record and a later rollback."""

    dry_run: bool
    plan: Plan
    applied: list[Change]
    backup: dict[str, Any]
    backup_path: Path | None = None
    verified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "plan": self.plan.to_dict(),
            "applied": [change.to_dict() for change in self.applied],
            "backup": self.backup,
            "backup_path": str(self.backup_path) if self.backup_path else None,
            "verified": self.verified,
        }

    def __str__(self) -> str:
        if self.dry_run:
            return f"Dry run: nothing written. {self.plan.to_text()}"
        if self.plan.empty:
            return f"Nothing to apply: account {self.plan.account_id} in {self.plan.region} already matches."
        return (
            f"Applied {len(self.applied)} change(s) to account {self.plan.account_id} in "
            f"{self.plan.region}; verified by re-reading: {'yes' if self.verified else 'no'}."
        )


def check_account(registry: Registry, expected_account_id: str | None, *, writing: bool) -> None:
    """Refuse before any write when the credentials reach another account than the operator expects."""
    if expected_account_id is not None and registry.account_id != expected_account_id:
        raise GuardError(
            f"expected_account_id is {expected_account_id} but the credentials reach account "
            f"{registry.account_id}: nothing was written. Check your profile or the expected id."
        )
    if writing and registry.target == "aws" and expected_account_id is None:
        raise GuardError(
            "writing to a real AWS account needs expected_account_id (the 12-digit account "
            "you mean to change): nothing was written."
        )


def _backup(plan: Plan, backup_dir: Path | None) -> tuple[dict[str, Any], Path | None]:
    backup = {
        "account_id": plan.account_id,
        "region": plan.region,
        "settings": [{"kind": c.setting.kind, "key": c.setting.key, "value": c.before} for c in plan.changes],
    }
    if backup_dir is None:
        return backup, None
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = backup_dir / f"backup-{plan.account_id}-{plan.region}-{stamp}.json"
    path.write_text(json.dumps(backup, indent=2, sort_keys=True, default=str))
    return backup, path


def apply(
    plan: Plan,
    registry: Registry,
    *,
    dry_run: bool = True,
    expected_account_id: str | None = None,
    backup_dir: str | Path | None = None,
) -> ApplyResult:
    """Guard → backup → write → verify. Dry-run by default: nothing is written unless `dry_run=False`."""
    check_account(registry, expected_account_id, writing=not dry_run)
    if (registry.account_id, registry.region) != (plan.account_id, plan.region):
        raise GuardError(
            f"this plan was made for {plan.account_id}/{plan.region}, not "
            f"{registry.account_id}/{registry.region}: nothing was written."
        )
    if dry_run or plan.empty:
        return ApplyResult(dry_run, plan, [], {}, verified=not dry_run)
    for change in plan.changes:
        current = change.setting.read(registry)
        if current != change.before:
            raise GuardError(
                f"{change.setting.address} changed since the plan was made (now "
                f"{_show(current)}): nothing was written. Make a new plan."
            )
    backup, path = _backup(plan, Path(backup_dir) if backup_dir else None)
    applied: list[Change] = []
    for index, change in enumerate(plan.changes):
        try:
            change.setting.write(registry, change.after)
        except Exception as error:
            pending = list(plan.changes[index + 1 :])
            raise ApplyError(
                f"{change.action} {change.setting.address} failed: {error}. Applied before it: "
                f"{[c.setting.address for c in applied] or 'nothing'}; not applied: "
                f"{[c.setting.address for c in pending] or 'nothing'}. To undo, restore the backup"
                f"{f' in {path}' if path else ''} with ecrlab.plan.restore().",
                applied,
                change,
                pending,
            ) from error
        applied.append(change)
    for change in plan.changes:
        actual = change.setting.read(registry)
        if actual != change.after:
            raise VerificationError(
                f"{change.setting.address} reads {_show(actual)} after apply, expected {_show(change.after)}"
            )
    return ApplyResult(False, plan, applied, backup, path, verified=True)


def restore_plan(registry: Registry, backup: dict[str, Any]) -> Plan:
    """The plan that puts every setting in `backup` back to the value it had."""
    if (backup["account_id"], backup["region"]) != (registry.account_id, registry.region):
        raise GuardError(
            f"this backup is of {backup['account_id']}/{backup['region']}, not "
            f"{registry.account_id}/{registry.region}: nothing was written."
        )
    desired = [(setting(item["kind"], item["key"]), item["value"]) for item in backup["settings"]]
    return make_plan(registry, desired)


def restore(registry: Registry, backup: dict[str, Any], **apply_options: Any) -> ApplyResult:
    """Roll back an apply by applying its backup (dry-run by default, like every apply)."""
    return apply(restore_plan(registry, backup), registry, **apply_options)
