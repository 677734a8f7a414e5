"""Grants a Deny of the same policy cancels: each Allow is evaluated cell by cell with the simulator.

A cell is one principal the Allow names, one action it lists and one repository it covers (a wildcard stands
for a sample name under it). When the simulator answers ExplicitlyDenied for every cell the grant is
shadowed; for some, partly shadowed. Both name the Allow and the Deny, as `lint` reports them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from ecrlab.permissions.actions import ecr_actions, expand_action, repository_actions
from ecrlab.permissions.findings import Finding, finding
from ecrlab.permissions.patterns import ACCOUNT_ID, IAM_PRINCIPAL_ARN, SERVICE_PRINCIPAL, account_root, split_arn
from ecrlab.permissions.policy import Statement, statements_of
from ecrlab.permissions.simulate import simulate

SAMPLE = "ecrlab-sample"


def statement_path(document: Mapping[str, Any], index: int) -> str:
    """Where a statement is, as `lint` writes paths: indexed only when the policy wrote a list."""
    return "Statement" if isinstance(document.get("Statement"), Mapping) else f"Statement[{index}]"


def label(statement: Statement) -> str:
    return f"'{statement.sid}'" if statement.sid else f"Statement[{statement.index}]"


def sample_principals(statement: Statement, account: str) -> list[str]:
    """Concrete callers for the Principal element: an account as its root, "*" as some role of the account."""
    element = statement.principal or {}
    found: list[str] = []
    for kind, entries in element.items():
        for entry in entries:
            if entry == "*":
                found.append(f"arn:aws:iam::{account}:role/{SAMPLE}")
            elif kind == "Service" and SERVICE_PRINCIPAL.fullmatch(entry):
                found.append(entry)
            elif ACCOUNT_ID.fullmatch(entry):
                found.append(account_root(entry))
            elif IAM_PRINCIPAL_ARN.fullmatch(entry):
                found.append(entry)
    return list(dict.fromkeys(found))


def sample_repository(pattern: str, account: str, region: str) -> str | None:
    """A repository ARN the Resource entry covers, with each wildcard replaced by a sample; None if not ECR."""
    if pattern == "*":
        return f"arn:aws:ecr:{region}:{account}:repository/{SAMPLE}"
    parts = split_arn(pattern)
    if parts is None or parts[2] != "ecr" or not parts[5].startswith("repository/"):
        return None
    _, partition, _, arn_region, arn_account, name = parts
    arn_region = region if "*" in arn_region or "?" in arn_region else arn_region
    arn_account = account if "*" in arn_account or "?" in arn_account else arn_account
    name = name.replace("*", SAMPLE).replace("?", "x")
    return f"arn:{partition}:ecr:{arn_region}:{arn_account}:{name}"


def _cells(statement: Statement, account: str, region: str) -> Iterator[tuple[str, str, str]]:
    actions = [a for pattern in statement.action for a in (ecr_actions() if pattern == "*" else expand_action(pattern))]
    repositories = [r for r in (sample_repository(p, account, region) for p in statement.resource) if r]
    for principal, action in itertools.product(sample_principals(statement, account), dict.fromkeys(actions)):
        if action in repository_actions():
            for repository in repositories:
                yield principal, action, repository
        elif "*" in statement.resource:
            yield principal, action, "*"


def _short(values: list[str], limit: int = 4) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def shadowed_grants(document: Mapping[str, Any], account: str, region: str, scope: str = "V2") -> list[Finding]:
    """Allow statements a Deny of the same policy cancels, fully (error) or for some cells (warning)."""
    statements = statements_of(document)
    if not any(s.effect == "Deny" for s in statements):
        return []
    findings = []
    for statement in statements:
        if statement.effect != "Allow" or statement.principal is None or not statement.action:
            continue
        cells = list(_cells(statement, account, region))
        denied: dict[tuple[str, str, str], list[str]] = {}
        for principal, action, resource in cells:
            decision = simulate(
                principal, action, resource, registry_policy=document, scope=scope, resource_account=account
            )
            if decision.outcome == "ExplicitlyDenied":
                denied[(principal, action, resource)] = [ref.label for ref in decision.deciding if ref.effect == "Deny"]
        if not denied:
            continue
        denies = _short(list(dict.fromkeys(d for labels in denied.values() for d in labels)))
        principals = list(dict.fromkeys(p for p, _, _ in cells))
        actions = list(dict.fromkeys(a for _, a, _ in cells))
        grant = f"{_short(actions)} to {_short(principals)}"
        path = statement_path(document, statement.index)
        if len(denied) == len(cells):
            findings.append(finding("grant-shadowed", path, allow=label(statement), grant=grant, deny=denies))
        else:
            shown = [f"{a} for {p}" for p, a, _ in denied]
            cells_text = _short(list(dict.fromkeys(shown)))
            findings.append(
                finding(
                    "grant-partly-shadowed", path, allow=label(statement), grant=grant, deny=denies, cells=cells_text
                )
            )
    return findings
