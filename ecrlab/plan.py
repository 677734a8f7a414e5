"""One spec → plan → apply engine for every feature.

A feature describes its state as `Setting`s — an address plus how to read and write it — and a desired
value for each. The engine diffs, renders the plan, and applies it behind the same guard, backup and
verification for all five features. A setting several teams share (a registry policy, a replication or scanning
configuration, an EventBridge rule) is planned, written and rolled back part by part (`Parts`), so a runbook never
touches a part it was not asked to change.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ecrlab.errors import ApplyError, GuardError, VerificationError

if TYPE_CHECKING:
    from ecrlab.registry import Registry

Action = Literal["create", "update", "delete"]


@dataclass(frozen=True)
class Parts:
    """How a shared setting splits into parts that different teams own (statements by Sid, rules by content).

    `split` turns a whole value (None: absent) into ordered parts by key; `join` puts ordered parts back together
    (None when nothing is left); `label` names a part for a reviewer. The engine plans, writes and rolls back
    such a setting part by part, so a change never touches a part it does not name.
    """

    split: Callable[[Any], dict[str, Any]]
    join: Callable[[dict[str, Any]], Any]
    noun: str = "part"
    label: Callable[[str, Any], str] = lambda key, part: key


@dataclass(frozen=True)
class Setting:
    """One addressable piece of registry state: `read` returns None when absent, `write(None)` deletes.

    A setting shared by teams has `parts`; the rest are written whole.
    """

    kind: str
    key: str
    read: Callable[[Registry], Any] = field(compare=False, repr=False)
    write: Callable[[Registry, Any], None] = field(compare=False, repr=False)
    parts: Parts | None = field(default=None, compare=False, repr=False)

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.key}"


@dataclass(frozen=True)
class Wanted:
    """The desired parts of a shared setting: these parts present with these values; `remove` names parts to take
    out; `remove_unlisted` takes out every part not in `parts` (each removal is still listed by name)."""

    parts: Mapping[str, Any]
    remove: tuple[str, ...] = ()
    remove_unlisted: bool = False


_KINDS: dict[str, Callable[[str], Setting]] = {}
# A factory keeps its own signature (its default key) through the decorator.
_Factory = TypeVar("_Factory", bound=Callable[[str], Setting])


def setting_kind(kind: str) -> Callable[[_Factory], _Factory]:
    """Register how to build the `Setting` of `kind` for a key, so backups can be restored by address."""

    def register(factory: _Factory) -> _Factory:
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
    "ecrlab.event_delivery",
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
class PartChange:
    """One part of a shared setting added (before None), changed, or removed (after None)."""

    key: str
    before: Any
    after: Any

    @property
    def action(self) -> Action:
        if self.before is None:
            return "create"
        return "delete" if self.after is None else "update"

    def to_dict(self, parts: Parts) -> dict[str, Any]:
        shown = self.after if self.after is not None else self.before
        return {
            "action": self.action,
            "key": self.key,
            "label": parts.label(self.key, shown),
            "before": self.before,
            "after": self.after,
        }


def merge_parts(parts: Parts, base: Any, changes: Iterable[PartChange]) -> Any:
    """`base` with each part change made: changed parts in place, added ones at the end, removed ones gone."""
    merged = dict(parts.split(base))
    for change in changes:
        if change.after is None:
            merged.pop(change.key, None)
        else:
            merged[change.key] = change.after
    return parts.join(merged)


@dataclass(frozen=True)
class Change:
    """A setting's value before and after; for a shared setting also its part changes and how many parts stay."""

    setting: Setting
    before: Any
    after: Any
    parts: tuple[PartChange, ...] = ()
    kept: int = 0

    @property
    def action(self) -> Action:
        if self.before is None:
            return "create"
        return "delete" if self.after is None else "update"

    def to_dict(self) -> dict[str, Any]:
        data = {
            "action": self.action,
            "kind": self.setting.kind,
            "key": self.setting.key,
            "before": self.before,
            "after": self.after,
        }
        if self.setting.parts is not None:
            data["parts"] = [part.to_dict(self.setting.parts) for part in self.parts]
            data["kept"] = self.kept
        return data

    def summary(self) -> str:
        """One line a reviewer reads first: for a shared setting, what it adds, changes, removes and keeps."""
        head = f"{_SYMBOL[self.action]} {self.action} {self.setting.address}"
        if self.setting.parts is None:
            return head
        noun = self.setting.parts.noun
        # Members of the document itself ("@" keys: a policy's Version, a rule's pattern) are listed, not counted.
        counted = [p for p in self.parts if not p.key.startswith("@")]
        counts = {action: sum(1 for p in counted if p.action == action) for action in ("create", "update", "delete")}
        return (
            f"{head}: {counts['create']} {noun}(s) added, {counts['update']} changed, {counts['delete']} removed; "
            f"{self.kept} {noun}(s) of others kept"
        )

    def part_lines(self) -> list[str]:
        parts = self.setting.parts
        if parts is None:
            return []
        return [
            f"{_SYMBOL[p.action]} {'' if p.key.startswith('@') else parts.noun + ' '}"
            f"{parts.label(p.key, p.after if p.after is not None else p.before)}"
            for p in self.parts
        ]


_SYMBOL = {"create": "+", "update": "~", "delete": "-"}


def _show(value: Any) -> str:
    return "(absent)" if value is None else json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True, repr=False)
class Plan:
    """What applying a spec would change in one registry; empty when it already matches.

    `observed` holds what the plan read of every setting it compared, so a saved plan can be applied only to the
    registry it was reviewed against.
    """

    account_id: str
    region: str
    changes: tuple[Change, ...]
    checked: tuple[str, ...] = ()  # every setting compared, changed or not: the basis of a compliance report
    observed: tuple[tuple[str, Any], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_text(self) -> str:
        """The review: one line per setting, then for a shared setting each part added, changed or removed.
        A setting written whole shows its before and after; `details()` shows them for every setting."""
        head = f"Plan for account {self.account_id} in {self.region}: "
        if self.empty:
            return head + "no changes (the registry already matches the spec)."
        lines = [head + f"{len(self.changes)} change(s)"]
        for change in self.changes:
            lines.append(f"  {change.summary()}")
            if change.setting.parts is not None:
                lines += [f"      {line}" for line in change.part_lines()]
                continue
            lines += _before_after(change)
        if any(c.setting.parts is not None for c in self.changes):
            lines.append("  (full before/after of every setting: plan.details())")
        return "\n".join(lines)

    def details(self) -> str:
        """Every change with its whole value before and after."""
        lines = [f"Plan for account {self.account_id} in {self.region}: {len(self.changes)} change(s)"]
        for change in self.changes:
            lines.append(f"  {change.summary()}")
            lines += [f"      {line}" for line in change.part_lines()]
            lines += _before_after(change)
        return "\n".join(lines)

    __str__ = __repr__ = to_text

    def _repr_html_(self) -> str:
        if self.empty:
            return f"<p><b>No changes</b> for account {self.account_id} in {self.region}.</p>"
        rows = []
        for c in self.changes:
            parts = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in c.part_lines())
            detail = (
                f"<details><summary>full before/after</summary><p>before: <code>{html.escape(_show(c.before))}"
                f"</code></p><p>after: <code>{html.escape(_show(c.after))}</code></p></details>"
            )
            rows.append(
                f"<tr><td>{_SYMBOL[c.action]} {c.action}</td>"
                f"<td><code>{html.escape(c.setting.address)}</code></td>"
                f"<td>{html.escape(c.summary().split(': ', 1)[1] if c.setting.parts else '')}"
                f"{f'<ul>{parts}</ul>' if parts else ''}{detail}</td></tr>"
            )
        return (
            f"<p><b>Plan</b> for account {self.account_id} in {self.region}: "
            f"{len(self.changes)} change(s)</p>"
            "<table><thead><tr><th>action</th><th>setting</th><th>what changes</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "region": self.region,
            "changes": [change.to_dict() for change in self.changes],
            "observed": {address: value for address, value in self.observed},
        }


def _before_after(change: Change) -> list[str]:
    lines = []
    if change.action != "create":
        lines.append(f"      before: {_show(change.before)}")
    if change.action != "delete":
        lines.append(f"      after:  {_show(change.after)}")
    return lines


def _part_changes(item: Setting, current: Any, want: Wanted) -> tuple[list[PartChange], int]:
    """The part changes that make `current` hold `want`, and how many current parts stay as they are."""
    assert item.parts is not None
    now = item.parts.split(current)
    changes = [PartChange(key, now.get(key), part) for key, part in want.parts.items() if now.get(key) != part]
    # "@" keys are the document's own members (a policy's Version): never a team's part to remove.
    unlisted = [key for key in now if key not in want.parts and not key.startswith("@")]
    gone = unlisted if want.remove_unlisted else want.remove
    changes += [PartChange(key, now[key], None) for key in dict.fromkeys(gone) if key in now]
    touched = {c.key for c in changes} | set(want.parts)
    # Keys starting with "@" are the document's own members (a policy's Version, the scan type), not a team's part.
    return changes, sum(1 for key in now if key not in touched and not key.startswith("@"))


def make_plan(
    registry: Registry, desired: Iterable[tuple[Setting, Any]], *, read: Mapping[str, Any] | None = None
) -> Plan:
    """Read each setting's current value and keep those that differ from the desired value.

    For a shared setting the desired value is a `Wanted`: only the parts it names are planned, and the value
    after is the current value with those part changes made. `read`: values by setting address that the caller
    read just now to say what it wants (rules kept as the registry spells them): used, not read again.
    """
    read = read or {}
    changes, checked, observed = [], [], []
    for item, want in desired:
        current = read[item.address] if item.address in read else item.read(registry)
        checked.append(item.address)
        observed.append((item.address, current))
        if isinstance(want, Wanted):
            if item.parts is None:
                raise TypeError(f"{item.address} is written whole; give its value, not Wanted parts")
            part_changes, kept = _part_changes(item, current, want)
            if part_changes:
                after = merge_parts(item.parts, current, part_changes)
                changes.append(Change(item, current, after, tuple(part_changes), kept))
        elif current != want:
            changes.append(Change(item, current, want))
    return Plan(registry.account_id, registry.region, tuple(changes), tuple(checked), tuple(observed))


def combine(*plans: Plan) -> Plan:
    """One plan from several features' plans of the same registry, applied in the order given."""
    if not plans:
        raise ValueError("combine() needs at least one plan")
    places = {(p.account_id, p.region) for p in plans}
    if len(places) > 1:
        raise GuardError(f"plans of different registries cannot be combined: {sorted(places)}")
    first = plans[0]
    changes = tuple(change for p in plans for change in p.changes)
    return Plan(
        first.account_id,
        first.region,
        changes,
        tuple(a for p in plans for a in p.checked),
        tuple(o for p in plans for o in p.observed),
    )


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


def collisions(change: Change, current: Any) -> list[str]:
    """What changed since `change` was planned and stops it: for a shared setting, the planned parts that hold
    neither what the plan read nor what it would write (others' parts may change freely); for a whole setting, any
    difference."""
    parts = change.setting.parts
    if parts is None:
        return [change.setting.address] if current != change.before else []
    now = parts.split(current)
    return [
        parts.label(p.key, p.after if p.after is not None else p.before)
        for p in change.parts
        if now.get(p.key) not in (p.before, p.after)
    ]


def _target(change: Change, current: Any) -> Any:
    """The value to write now: for a shared setting the planned part changes merged into what is there now."""
    parts = change.setting.parts
    if parts is None:
        return change.after
    merged = merge_parts(parts, current, change.parts)
    # Nothing else changed since the plan: write its value as planned (a restore writes the text read before).
    return change.after if parts.split(merged) == parts.split(change.after) else merged


def _holds(change: Change, actual: Any, target: Any) -> bool:
    parts = change.setting.parts
    if parts is None:
        return actual == target
    now = parts.split(actual)
    return all(now.get(p.key) == p.after for p in change.parts)


def _entry(change: Change, before: Any, after: Any) -> dict[str, Any]:
    """A setting's backup: the value read just before the write, the value written, and the part changes made."""
    entry = {"kind": change.setting.kind, "key": change.setting.key, "value": before, "after": after}
    if change.setting.parts is not None:
        entry["parts"] = [{"key": p.key, "before": p.before, "after": p.after} for p in change.parts]
    return entry


def apply(
    plan: Plan,
    registry: Registry,
    *,
    dry_run: bool = True,
    expected_account_id: str | None = None,
    backup_dir: str | Path | None = None,
    on_backup: Callable[[dict[str, Any]], None] | None = None,
) -> ApplyResult:
    """Guard → per setting: re-read, merge, back up, write → verify. Dry-run by default.

    Each setting is re-read immediately before its write and the planned part changes are merged into what is
    there now, so a part another team changed since the plan is kept; a planned part that changed since refuses.
    `on_backup` receives each setting's backup before its write, so a record exists whatever fails next.
    """
    check_account(registry, expected_account_id, writing=not dry_run)
    if (registry.account_id, registry.region) != (plan.account_id, plan.region):
        raise GuardError(
            f"this plan was made for {plan.account_id}/{plan.region}, not "
            f"{registry.account_id}/{registry.region}: nothing was written."
        )
    if dry_run or plan.empty:
        return ApplyResult(dry_run, plan, [], {}, verified=not dry_run)
    latest: Any = None
    for change in plan.changes:
        latest = change.setting.read(registry)
        _refuse_if_changed(change, latest, "nothing was written")
    backup: dict[str, Any] = {"account_id": plan.account_id, "region": plan.region, "settings": []}
    path = _backup_path(plan, backup_dir)
    applied: list[Change] = []
    targets: list[Any] = []
    for index, change in enumerate(plan.changes):
        try:
            # A one-setting plan's guard read is that re-read: nothing was read or written since.
            current = latest if len(plan.changes) == 1 else change.setting.read(registry)
            _refuse_if_changed(change, current, f"applied before it: {[c.setting.address for c in applied]}")
            target = _target(change, current)
            entry = _entry(change, current, target)
            backup["settings"].append(entry)
            if path:
                path.write_text(json.dumps(backup, indent=2, sort_keys=True, default=str))
            if on_backup:
                on_backup(entry)
            change.setting.write(registry, target)
        except GuardError:
            raise
        except Exception as error:
            pending = list(plan.changes[index + 1 :])
            raise ApplyError(
                f"{change.action} {change.setting.address} failed: {error}. Applied before it: "
                f"{[c.setting.address for c in applied] or 'nothing'}; not applied: "
                f"{[c.setting.address for c in pending] or 'nothing'}. Every setting it may have written is in "
                f"the backup{f' {path}' if path else ''}: roll back with ecrlab rollback or ecrlab.plan.restore().",
                applied,
                change,
                pending,
            ) from error
        applied.append(change)
        targets.append(target)
    for change, target in zip(plan.changes, targets, strict=True):
        try:
            actual = change.setting.read(registry)
        except Exception as error:
            raise VerificationError(
                f"{change.setting.address} was written but could not be re-read to verify it ({error}); every "
                "change is in the backup: check the registry, or roll back with ecrlab rollback."
            ) from error
        if not _holds(change, actual, target):
            raise VerificationError(
                f"{change.setting.address} reads {_show(actual)} after apply, expected {_show(target)}"
            )
    return ApplyResult(False, plan, applied, backup, path, verified=True)


def _refuse_if_changed(change: Change, current: Any, written: str) -> None:
    stale = collisions(change, current)
    if stale:
        if change.setting.parts is None:
            what = f"now {_show(current)}"
        else:
            what = f"{change.setting.parts.noun}s changed by someone else: {', '.join(stale)}"
        raise GuardError(
            f"{change.setting.address} changed since the plan was made ({what}): {written}. Make a new plan."
        )


def _backup_path(plan: Plan, backup_dir: str | Path | None) -> Path | None:
    if not backup_dir:
        return None
    Path(backup_dir).mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return Path(backup_dir) / f"backup-{plan.account_id}-{plan.region}-{stamp}.json"


def restore_plan(registry: Registry, backup: dict[str, Any], *, force: bool = False) -> Plan:
    """The plan that undoes exactly what a backup's apply changed, keeping what others changed since.

    A three-way merge per setting: the value before the run, what the run wrote, and what is there now. For a
    shared setting each part the run changed goes back to its value before, if it still holds what the run wrote;
    a setting written whole goes back if it still holds what the run wrote. Anything else is a collision with a
    later change: `GuardError` listing them, unless `force` (then the run's values before win). When the result
    has exactly the parts the setting had before, the value before is written as it was read (byte for byte).
    """
    if (backup["account_id"], backup["region"]) != (registry.account_id, registry.region):
        raise GuardError(
            f"this backup is of {backup['account_id']}/{backup['region']}, not "
            f"{registry.account_id}/{registry.region}: nothing was written."
        )
    changes, checked, observed, clashes = [], [], [], []
    for entry in reversed(backup["settings"]):
        item = setting(entry["kind"], entry["key"])
        current = item.read(registry)
        checked.append(item.address)
        observed.append((item.address, current))
        before = entry["value"]
        if "after" not in entry:  # a backup from before part-wise records: put the whole value back
            if current != before:
                changes.append(Change(item, current, before))
            continue
        if item.parts is None or "parts" not in entry:
            if current == before:
                continue
            if current != entry["after"]:
                clashes.append(item.address)
                if not force:
                    continue
            changes.append(Change(item, current, before))
            continue
        now = item.parts.split(current)
        undo = []
        for part in entry["parts"]:
            here = now.get(part["key"])
            if here == part["before"]:
                continue  # already as it was
            if here != part["after"]:
                clashes.append(
                    f"{item.address} {item.parts.noun} {item.parts.label(part['key'], here or part['after'])}"
                )
                if not force:
                    continue
            undo.append(PartChange(part["key"], here, part["before"]))
        if not undo:
            continue
        merged = merge_parts(item.parts, current, undo)
        if item.parts.split(merged) == item.parts.split(before):
            merged = before
        kept = sum(1 for key in now if key not in {u.key for u in undo} and not key.startswith("@"))
        changes.append(Change(item, current, merged, tuple(undo), kept))
    if clashes and not force:
        raise GuardError(
            "changed since the run by someone else, so rolling back would overwrite their change: "
            f"{'; '.join(clashes)}. Nothing was written; review them, then roll back with --force to put the run's "
            "values before back anyway."
        )
    return Plan(registry.account_id, registry.region, tuple(changes), tuple(checked), tuple(observed))


def restore(registry: Registry, backup: dict[str, Any], *, force: bool = False, **apply_options: Any) -> ApplyResult:
    """Roll back an apply from its backup (dry-run by default, like every apply); see `restore_plan`."""
    return apply(restore_plan(registry, backup, force=force), registry, **apply_options)
