"""Who can do what, before a registry policy is applied: the account's real principals × the registry's actions.

Every cell is the simulator's decision from the principal's identity policies and the registry policy before and
after, under the registry's REGISTRY_POLICY_SCOPE, so the preview says what the emulator enforces and what AWS's
evaluation logic decides. Rows are the account's IAM roles and users, its root, and the accounts the policies let
replicate in; columns are the everyday repository actions, the registry-policy actions, and per pull through
cache prefix the two actions a first pull needs.

`lockout_problems` and `check_lockout` use the same decisions to refuse a policy that nobody who exists could
change again, or that locks out the caller applying it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecrlab.errors import GuardError
from ecrlab.permissions.account import AccountSnapshot, Flows, Principal, caller
from ecrlab.permissions.findings import Finding, finding
from ecrlab.permissions.patterns import ACCOUNT_ID, split_arn
from ecrlab.permissions.policy import RegistryPolicy
from ecrlab.permissions.shadowing import statement_path
from ecrlab.permissions.simulate import Decision, simulate

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

SAMPLE_REPOSITORY = "new-app"
REPOSITORY_COLUMNS = ("ecr:CreateRepository", "ecr:DeleteRepository", "ecr:PutImage", "ecr:BatchGetImage")
POLICY_ACTIONS = ("ecr:PutRegistryPolicy", "ecr:DeleteRegistryPolicy")
ADMIN_ACTIONS = ("ecr:CreateRepository", "ecr:DeleteRepository")
SOURCE_ACTIONS = ("ecr:ReplicateImage", "ecr:CreateRepository")
CACHE_ACTIONS = ("ecr:CreateRepository", "ecr:BatchImportUpstreamImage")
MATRIX_COLUMNS = ["principal", "arn", "kind", "action", "resource", "before", "after", "changed"]
_SYMBOLS = {"Allowed": "allow", "ExplicitlyDenied": "DENY", "ImplicitlyDenied": "-"}


@dataclass(frozen=True)
class Cell:
    """One column of the matrix: an action on a repository (a sample name under a prefix) or on the registry."""

    action: str
    repository: str | None  # None: a registry-level action, evaluated on "*"

    @property
    def resource(self) -> str:
        return self.repository if self.repository is not None else "*"

    def arn(self, account: str, region: str) -> str:
        if self.repository is None:
            return "*"
        name = self.repository.replace("*", "ecrlab-sample")
        return f"arn:aws:ecr:{region}:{account}:repository/{name}"


def replication_sources(account: str, *policies: RegistryPolicy | None) -> list[str]:
    """Other accounts the policies let replicate in (an Allow of ecr:ReplicateImage naming them)."""
    found: list[str] = []
    for policy in policies:
        for statement in policy.statements if policy else ():
            if statement.effect != "Allow" or not any(
                "replicateimage" in a.lower() or a in ("*", "ecr:*") for a in statement.action
            ):
                continue
            for entry in (statement.principal or {}).get("AWS", ()):
                other = entry if ACCOUNT_ID.fullmatch(entry) else (split_arn(entry) or [""] * 6)[4]
                if ACCOUNT_ID.fullmatch(other) and other != account:
                    found.append(other)
    return sorted(dict.fromkeys(found))


def cells(account_flows: Flows) -> list[Cell]:
    """The matrix's columns: everyday repository actions, policy actions, and a first cache pull per prefix."""
    columns = [Cell(a, SAMPLE_REPOSITORY) for a in REPOSITORY_COLUMNS] + [Cell(a, None) for a in POLICY_ACTIONS]
    for prefix in account_flows.cache_prefixes:
        repository = SAMPLE_REPOSITORY if prefix == "ROOT" else f"{prefix.rstrip('/')}/*"
        columns += [Cell(a, repository) for a in CACHE_ACTIONS if Cell(a, repository) not in columns]
    return columns


def _decide(
    principal: Principal, cell: Cell, policy: RegistryPolicy | None, account: str, region: str, scope: str
) -> Decision:
    return simulate(
        principal.arn,
        cell.action,
        cell.arn(account, region),
        identity_policies=principal.identity,
        registry_policy=policy.to_json() if policy else None,
        scope=scope,
        resource_account=account,
    )


def access_matrix(
    registry: Registry,
    before: RegistryPolicy | None,
    after: RegistryPolicy | None,
    *,
    snapshot: AccountSnapshot | None = None,
) -> pd.DataFrame:
    """Principal × action → decision before and after, one row per cell, `changed` where they differ.

    Columns: principal (short name), arn, kind (role, user, root, replication source), action, resource (a
    repository, a cache prefix, or "*"), before, after, changed. `snapshot`: the account as this check already
    read it (a preview shares one with its lint).
    """
    import pandas as pd

    snapshot = snapshot or AccountSnapshot(registry)
    account, region, scope = registry.account_id, registry.region, snapshot.scope
    columns = cells(snapshot.flows)
    rows = []
    sources = [
        Principal(f"arn:aws:iam::{a}:root", "replication source") for a in replication_sources(account, before, after)
    ]
    known = snapshot.principals or [Principal(f"arn:aws:iam::{account}:root", "root")]
    for principal in [*known, *sources]:
        wanted = (
            [Cell(a, SAMPLE_REPOSITORY) for a in SOURCE_ACTIONS] if principal.kind == "replication source" else columns
        )
        for cell in wanted:
            old = _decide(principal, cell, before, account, region, scope).outcome
            new = _decide(principal, cell, after, account, region, scope).outcome
            rows.append(
                {
                    "principal": principal.short,
                    "arn": principal.arn,
                    "kind": principal.kind,
                    "action": cell.action,
                    "resource": cell.resource,
                    "before": old,
                    "after": new,
                    "changed": old != new,
                }
            )
    return pd.DataFrame(rows, columns=MATRIX_COLUMNS)


def _label(action: str, resource: str) -> str:
    name = action.removeprefix("ecr:")
    return name if resource in ("*", SAMPLE_REPOSITORY) else f"{name} {resource}"


def matrix_table(matrix: pd.DataFrame) -> pd.DataFrame:
    """The wide view: one row per principal, one column per action; a changed cell reads "allow → DENY"."""
    import pandas as pd

    def symbol(row: Any) -> str:
        before, after = _SYMBOLS[row["before"]], _SYMBOLS[row["after"]]
        return f"{before} → {after}" if row["changed"] else after

    frame = matrix.assign(cell=matrix.apply(symbol, axis=1) if len(matrix) else pd.Series(dtype=str))
    frame["column"] = [_label(a, r) for a, r in zip(frame["action"], frame["resource"], strict=True)]
    order = list(dict.fromkeys(frame["column"]))
    principals_order = list(dict.fromkeys(frame["principal"]))
    table = frame.pivot(index="principal", columns="column", values="cell").reindex(index=principals_order)
    table = table.reindex(columns=order).fillna("")
    table.columns.name = None
    return table


def matrix_html(matrix: pd.DataFrame) -> str:
    """The wide view as an HTML table; changed cells are highlighted so a reviewer sees them first."""
    table = matrix_table(matrix)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = []
    for principal, row in table.iterrows():
        tds = "".join(
            f"<td style='background:#fff3cd;font-weight:bold'>{html.escape(v)}</td>"
            if "→" in v
            else f"<td>{html.escape(v)}</td>"
            for v in row
        )
        body.append(f"<tr><th style='text-align:left'>{html.escape(str(principal))}</th>{tds}</tr>")
    changed = int(matrix["changed"].sum()) if len(matrix) else 0
    caption = f"<caption>Who can do what: {changed} cell(s) change (highlighted)</caption>"
    return f"<table>{caption}<tr><th>principal</th>{head}</tr>{''.join(body)}</table>"


def _denies(decisions: Iterable[Decision]) -> str:
    labels = [ref.label for d in decisions for ref in d.deciding if ref.effect == "Deny"]
    return ", ".join(dict.fromkeys(labels)) or "(none)"


def _deny_path(policy: RegistryPolicy, decisions: Iterable[Decision]) -> str:
    indexes = [ref.index for d in decisions for ref in d.deciding if ref.effect == "Deny" and ref.kind == "registry"]
    return statement_path(policy.document, indexes[0] if indexes else 0)


def lockout_problems(
    registry: Registry,
    policy: RegistryPolicy | None,
    before: RegistryPolicy | str | None = "current",
    *,
    snapshot: AccountSnapshot | None = None,
) -> list[Finding]:
    """Who could change or delete the registry policy before and nobody after; the caller losing access.

    `before` is the policy in force (read from the registry unless given). Findings: `lockout` (no existing
    principal keeps ecr:PutRegistryPolicy or ecr:DeleteRegistryPolicy), `admins-locked-out` (none keeps
    ecr:CreateRepository or ecr:DeleteRepository, e.g. the admin role named does not exist),
    `caller-locked-out` (the caller loses both policy actions), `caller-loses-access` (the caller loses
    other actions of the matrix). `snapshot`: the account as this check already read it.
    """
    if policy is None:
        return []
    snapshot = snapshot or AccountSnapshot(registry)
    current = snapshot.policy if before == "current" else before
    assert not isinstance(current, str)
    account, region, scope = registry.account_id, registry.region, snapshot.scope
    known = snapshot.principals
    findings = []
    manage = [Cell(a, None) for a in POLICY_ACTIONS]

    def able(
        principal: Principal, candidate: RegistryPolicy | None, group: list[Cell] = manage
    ) -> tuple[bool, list[Decision]]:
        decisions = [_decide(principal, cell, candidate, account, region, scope) for cell in group]
        return any(d.allowed for d in decisions), decisions

    administer = [Cell(a, SAMPLE_REPOSITORY) for a in ADMIN_ACTIONS]
    for code, group in (("lockout", manage), ("admins-locked-out", administer)):
        if known is None:
            break
        able_before = [p for p in known if able(p, current, group)[0]]
        after = {p.arn: able(p, policy, group) for p in able_before}
        if able_before and not any(ok for ok, _ in after.values()):
            decisions = [d for _, ds in after.values() for d in ds]
            names = ", ".join(p.short for p in able_before[:4]) + (" …" if len(able_before) > 4 else "")
            findings.append(
                finding(
                    code,
                    _deny_path(policy, decisions),
                    account=account,
                    actions=" or ".join(cell.action for cell in group),
                    deny=_denies(decisions),
                    able=names,
                )
            )
    me = caller(registry, known)
    mine = next((p for p in known or () if p.arn == _role_of(me)), None)
    # The caller is applying a registry policy, so it may write one today even when IAM cannot be read.
    myself = Principal(me, "caller", mine.identity if mine else _may_write_policy())
    was_able, _ = able(myself, current)
    still_able, decisions = able(myself, policy)
    if was_able and not still_able:
        findings.append(
            finding(
                "caller-locked-out",
                _deny_path(policy, decisions),
                caller=me,
                action=" or ".join(POLICY_ACTIONS),
                deny=_denies(decisions),
                principal=_role_of(me),
            )
        )
    elif mine is not None or known is None:
        lost = []
        lost_decisions = []
        for cell in cells(snapshot.flows):
            old = _decide(myself, cell, current, account, region, scope)
            new = _decide(myself, cell, policy, account, region, scope)
            if old.allowed and not new.allowed:
                lost.append(_label(cell.action, cell.resource))
                lost_decisions.append(new)
        if lost:
            findings.append(
                finding(
                    "caller-loses-access",
                    _deny_path(policy, lost_decisions),
                    caller=me,
                    actions=", ".join(lost),
                    deny=_denies(lost_decisions),
                )
            )
    return findings


def _role_of(arn: str) -> str:
    """The role ARN of a role session (what aws:PrincipalArn holds), else the ARN itself."""
    parts = split_arn(arn)
    if parts and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{parts[5].split('/')[1]}"
    return arn


def _may_write_policy() -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": list(POLICY_ACTIONS), "Resource": "*"}
    return {"applies the policy": {"Version": "2012-10-17", "Statement": [statement]}}


LOCKOUT_CODES = ("lockout", "admins-locked-out", "caller-locked-out")


def check_lockout(
    registry: Registry, policy: RegistryPolicy | None, *, force: bool = False, findings: Sequence[Finding] | None = None
) -> list[Finding]:
    """Raise GuardError (nothing written) when `policy` locks out the caller or every admin, unless `force`.

    Returns the lockout findings (also when forced), so a runbook can record them. Pass `findings` from an
    earlier `lockout_problems` call to avoid reading the account twice.
    """
    problems = [
        f for f in (findings if findings is not None else lockout_problems(registry, policy)) if f.code in LOCKOUT_CODES
    ]
    if problems and not force:
        reasons = " ".join(f"[{f.code}] {f.message}" for f in problems)
        raise GuardError(
            f"refusing to apply this registry policy: {reasons} Nothing was written. If you really mean it, "
            "apply with force=True (ecrlab run permissions --force)."
        )
    return problems
