"""Registry policy lint: findings a learner can act on, each pointing at the part of the JSON it is about.

Generic IAM checks (shape, condition operators and value types) are implemented here, not delegated to
parliament: parliament 1.6.4 imports pkg_resources, which setuptools removed in 82.0, so it only runs
beside setuptools<82, a range flagged by GHSA-h35f-9h28-mq5c (duo-labs/parliament#247, still open).
The ECR layer checks actions against botocore's ECR model, the registry's account and Region, and
REGISTRY_POLICY_SCOPE. Messages live in `findings.MESSAGES`.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecrlab.ecr_model import known_partitions
from ecrlab.errors import ValidationError
from ecrlab.permissions.account import AccountSnapshot
from ecrlab.permissions.actions import V1_WILDCARD, ecr_actions, expand_action, in_v1_scope, repository_actions
from ecrlab.permissions.conditions import (
    BASE_OPERATORS,
    MULTIVALUED_KEYS,
    Operator,
    as_strings,
    global_key,
    key_types,
    parse_operator,
    value_problem,
)
from ecrlab.permissions.findings import Finding, finding
from ecrlab.permissions.patterns import (
    ACCOUNT_ID,
    IAM_PRINCIPAL_ARN,
    SERVICE_PRINCIPAL,
    glob_regex,
    partition_for_region,
    split_arn,
)
from ecrlab.permissions.policy import POLICY_VERSION, RegistryPolicy, max_policy_chars, thaw
from ecrlab.permissions.shadowing import shadowed_grants

if TYPE_CHECKING:
    from ecrlab.registry import Registry

_ELEMENTS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_OPERATOR_NAMES = tuple(o + s for o in BASE_OPERATORS for s in ("", "IfExists") if o != "Null" or not s)


@dataclass(frozen=True)
class _Registry:
    """What the checks know about the registry the policy is for."""

    scope: str
    account: str | None
    region: str | None
    partition: str | None
    has_deny: bool


def _items(container: Mapping[str, Any], element: str, path: str) -> list[tuple[str, Any]]:
    """(path, value) for each entry of an element, indexing only when the policy wrote a list."""
    value = container.get(element)
    where = f"{path}.{element}" if path else element
    if value is None:
        return []
    if isinstance(value, list):
        return [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    return [(where, value)]


def _hint(word: str, options: tuple[str, ...]) -> str:
    spelled = {o.lower(): o for o in options}
    close = difflib.get_close_matches(word.lower(), list(spelled), n=1, cutoff=0.75)
    return f" Did you mean '{spelled[close[0]]}'?" if close else ""


def lint(
    policy: str | Mapping[str, Any] | RegistryPolicy,
    scope: str | None = None,
    account_id: str | None = None,
    region: str | None = None,
    *,
    registry: Registry | None = None,
    snapshot: AccountSnapshot | None = None,
) -> list[Finding]:
    """Check a registry policy as AWS and a careful reviewer would; findings come in document order.

    `scope` is the registry's REGISTRY_POLICY_SCOPE (V2 unless given or read from `registry`). With
    `account_id` (and `region`) resources and principals are checked against this registry; without, the
    account is read from Resource ARNs. Grants a Deny of the policy cancels are reported either way. With a
    live `registry`, its account, Region and scope are used, and the checks that read it follow: flows it is
    configured for that a Deny blocks, principals that do not exist, lockouts (`live_lint`). `snapshot`: the
    account as the caller already read it for the same check (a preview).
    """
    if registry is not None:
        snapshot = snapshot or AccountSnapshot(registry)
        account_id, region = account_id or registry.account_id, region or registry.region
        scope = scope or snapshot.scope
    scope = scope or "V2"
    findings = _lint(policy, scope, account_id, region)
    if registry is not None and not any(f.severity == "error" and f.code not in _EVALUATED for f in findings):
        from ecrlab.permissions.live_lint import live_findings

        try:
            parsed = policy if isinstance(policy, RegistryPolicy) else RegistryPolicy.from_json(_text(policy))
        except ValidationError:
            return findings
        findings += live_findings(registry, parsed, snapshot)
    return findings


_EVALUATED = ("grant-shadowed",)


def _text(policy: str | Mapping[str, Any] | RegistryPolicy) -> str:
    if isinstance(policy, RegistryPolicy):
        return policy.to_json()
    return policy if isinstance(policy, str) else json.dumps(thaw(policy))


def _lint(
    policy: str | Mapping[str, Any] | RegistryPolicy, scope: str, account_id: str | None, region: str | None
) -> list[Finding]:
    if scope not in ("V1", "V2"):
        raise ValidationError("scope", scope, "must be 'V1' or 'V2' (REGISTRY_POLICY_SCOPE)")
    text = _text(policy)
    findings = []
    if len(text) > max_policy_chars():
        findings.append(finding("policy-too-large", "$", size=len(text), limit=max_policy_chars()))
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        reason = f"{error.msg} at line {error.lineno}, column {error.colno}"
        return [*findings, finding("invalid-json", "$", reason=reason)]
    if not isinstance(document, dict):
        return [*findings, finding("not-an-object", "$")]
    findings += _document(document)
    statements = _items(document, "Statement", "")
    has_deny = any(isinstance(s, dict) and s.get("Effect") == "Deny" for _, s in statements)
    registry = _Registry(scope, account_id, region, partition_for_region(region) if region else None, has_deny)
    seen: set[str] = set()
    for path, statement in statements:
        if not isinstance(statement, dict):
            findings.append(finding("statement-not-object", path))
            continue
        sid = statement.get("Sid")
        if isinstance(sid, str):
            if sid in seen:
                findings.append(finding("duplicate-sid", f"{path}.Sid", sid=sid))
            seen.add(sid)
        findings += _statement(statement, path, registry)
    if not any(f.severity == "error" for f in findings):
        findings += _shadowing(document, registry)
    return findings


def _shadowing(document: dict[str, Any], registry: _Registry) -> list[Finding]:
    """Grants a Deny of the policy cancels; needs the registry's account (given or read from a Resource)."""
    accounts = (
        _account_of(r)
        for _, s in _items(document, "Statement", "")
        if isinstance(s, dict)
        for _, r in _items(s, "Resource", "")
        if isinstance(r, str)
    )
    account = registry.account or next((a for a in accounts if a), None)
    if account is None:
        return []
    try:
        return shadowed_grants(document, account, registry.region or "us-east-1", registry.scope)
    except ValidationError:  # a shape the simulator cannot read is reported by the checks above
        return []


def _document(document: dict[str, Any]) -> Iterator[Finding]:
    for key in document:
        if key not in ("Version", "Id", "Statement"):
            yield finding("unknown-element", key, key=key, level="policy", known="Version, Id, Statement", hint="")
    version = document.get("Version")
    if version is None:
        yield finding("missing-version", "Version")
    elif version == "2008-10-17":
        yield finding("old-version", "Version")
    elif version != POLICY_VERSION:
        yield finding("invalid-version", "Version", version=version)
    statements = document.get("Statement")
    if not statements or not isinstance(statements, list | dict):
        yield finding("missing-statement", "Statement")


def _statement(statement: dict[str, Any], path: str, registry: _Registry) -> Iterator[Finding]:
    for key in statement:
        if key not in _ELEMENTS:
            known = ", ".join(_ELEMENTS)
            yield finding(
                "unknown-element",
                f"{path}.{key}",
                key=key,
                level="statement",
                known=known,
                hint=_hint(key, _ELEMENTS),
            )
    if statement.get("Effect") not in ("Allow", "Deny"):
        yield finding("invalid-effect", f"{path}.Effect", effect=statement.get("Effect"))
    for one, other in (("Action", "NotAction"), ("Principal", "NotPrincipal"), ("Resource", "NotResource")):
        if one in statement and other in statement:
            yield finding("conflicting-elements", path, one=one, other=other)
    if "Action" not in statement and "NotAction" not in statement:
        yield finding("missing-action", path)
    if "Principal" not in statement and "NotPrincipal" not in statement:
        yield finding("missing-principal", path)
    if "Resource" not in statement and "NotResource" not in statement:
        yield finding("missing-resource", path)
    actions = yield from _actions(statement, path, registry)
    yield from _principals(statement, path, registry)
    yield from _resources(statement, path, registry, actions)
    if "Condition" in statement:
        yield from _conditions(statement["Condition"], f"{path}.Condition")


def _actions(statement: dict[str, Any], path: str, registry: _Registry) -> Generator[Finding, None, set[str]]:
    """Check Action/NotAction entries; returns (as the generator's value) the ECR actions the statement covers."""
    covered: set[str] = set()
    if "NotAction" in statement and registry.scope == "V1":
        yield finding("v1-action", f"{path}.NotAction", what="NotAction covers every other ECR action")
    names_repositories = "Resource" in statement and "*" not in as_strings(statement["Resource"])
    for where, action in _items(statement, "Action", path) + _items(statement, "NotAction", path):
        if not isinstance(action, str):
            yield finding("invalid-action", where, value=action)
            continue
        if action != "*" and action.split(":", 1)[0].lower() != "ecr":
            yield finding("non-ecr-action", where, action=action)
            continue
        matched = ecr_actions() if action == "*" else expand_action(action)
        if not matched:
            yield finding("unknown-action", where, action=action, hint=_hint(action, ecr_actions()))
            continue
        covered.update(matched)
        outside = [a for a in matched if not in_v1_scope(a)]
        if registry.scope == "V1" and action.lower() == V1_WILDCARD and ".Action" in where:
            yield finding("v1-wildcard", where)
        elif registry.scope == "V1" and outside and ".Action" in where:
            shown = ", ".join(outside[:3]) + (" …" if len(outside) > 3 else "")
            what = f"'{action}' also covers {shown}" if "*" in action or "?" in action else f"'{action}' is not"
            yield finding("v1-action", where, what=what)
        if names_repositories and "*" not in action and matched[0] not in repository_actions():
            yield finding("registry-action-on-repository", where, action=matched[0])
    return set(ecr_actions()) - covered if "NotAction" in statement else covered


def _account_of(entry: str) -> str | None:
    if ACCOUNT_ID.fullmatch(entry):
        return entry
    parts = split_arn(entry)
    return parts[4] if parts and ACCOUNT_ID.fullmatch(parts[4]) else None


def _registry_account(statement: dict[str, Any], path: str, registry: _Registry) -> str | None:
    """The registry's account: given, or read from the statement's Resource ARNs."""
    if registry.account:
        return registry.account
    accounts = (_account_of(r) for _, r in _items(statement, "Resource", path) if isinstance(r, str))
    return next((a for a in accounts if a), None)


def _principals(statement: dict[str, Any], path: str, registry: _Registry) -> Iterator[Finding]:
    if "NotPrincipal" in statement:
        yield finding("not-principal", f"{path}.NotPrincipal")
    account = _registry_account(statement, path, registry)
    same_account: list[tuple[str, str]] = []
    for element in ("Principal", "NotPrincipal"):
        value = statement.get(element)
        if value is None or value == "*":
            continue
        where = f"{path}.{element}"
        if not isinstance(value, dict):
            yield finding("principal-shape", where, element=element)
            continue
        for kind in value:
            if kind not in ("AWS", "Service"):
                unused = kind in ("Federated", "CanonicalUser")
                yield finding(
                    "principal-kind-unused" if unused else "principal-kind-unknown",
                    f"{where}.{kind}",
                    kind=kind,
                )
                continue
            for entry_path, entry in _items(value, kind, where):
                yield from _principal_entry(kind, entry, entry_path)
                named = element == "Principal" and kind == "AWS" and isinstance(entry, str)
                if named and account and _account_of(entry) == account:
                    same_account.append((entry_path, entry))
    if same_account and statement.get("Effect") == "Allow" and not registry.has_deny:
        entry_path, entry = same_account[0]
        # Granting only the registry-level feature actions (pull through cache, replication) is a
        # grant, not an attempt at access control, so it is worth a note rather than a warning.
        actions = [a for _, a in _items(statement, "Action", path) if isinstance(a, str)]
        feature_only = actions and all(in_v1_scope(a) for a in actions)
        code = "allow-grants-only" if feature_only else "allow-restricts-nobody"
        yield finding(code, entry_path, entry=entry, account=account)


def _principal_entry(kind: str, entry: Any, where: str) -> Iterator[Finding]:
    if not isinstance(entry, str):
        yield finding("principal-malformed", where, entry=entry)
    elif kind == "Service":
        if not SERVICE_PRINCIPAL.fullmatch(entry):
            yield finding("service-principal-malformed", where, entry=entry)
    elif entry != "*" and ("*" in entry or "?" in entry):
        yield finding("principal-wildcard", where, entry=entry)
    elif entry != "*" and not ACCOUNT_ID.fullmatch(entry) and not IAM_PRINCIPAL_ARN.fullmatch(entry):
        yield finding("principal-malformed", where, entry=entry)


def _could_match(pattern: str, value: str) -> bool:
    return bool(glob_regex([pattern]).fullmatch(value))


def _resources(statement: dict[str, Any], path: str, registry: _Registry, actions: set[str]) -> Iterator[Finding]:
    for where, resource in _items(statement, "Resource", path) + _items(statement, "NotResource", path):
        if not isinstance(resource, str):
            yield finding("invalid-resource", where, value=resource)
        elif resource == "*":
            if statement.get("Effect") == "Allow" and actions and actions <= repository_actions():
                yield finding("resource-star", where)
        elif (parts := split_arn(resource)) is None:
            yield finding("resource-not-arn", where, resource=resource)
        else:
            yield from _arn_segments(parts, resource, where, registry)


def _arn_segments(parts: list[str], resource: str, where: str, registry: _Registry) -> Iterator[Finding]:
    _, partition, service, region, account, name = parts
    expected = [registry.partition] if registry.partition else known_partitions()
    if not any(_could_match(partition, p) for p in expected):
        yield finding(
            "resource-partition",
            where,
            resource=resource,
            partition=partition,
            expected=" or ".join(expected),
        )
    if not _could_match(service, "ecr"):
        yield finding("resource-service", where, resource=resource, service=service)
        return
    if registry.region and not _could_match(region, registry.region):
        yield finding("resource-region", where, resource=resource, region=region, expected=registry.region)
    if registry.account and not _could_match(account, registry.account):
        yield finding("resource-account", where, resource=resource, account=account, expected=registry.account)
    literal = name.split("*")[0].split("?")[0]
    if not ("repository/".startswith(literal) or literal.startswith("repository/")):
        yield finding("resource-not-repository", where, resource=resource)


def _conditions(block: Any, path: str) -> Iterator[Finding]:
    if not isinstance(block, dict):
        yield finding("invalid-condition", path, where="Condition", shape="operator -> {key: value(s)}")
        return
    for name, pairs in block.items():
        where = f"{path}.{name}"
        operator = parse_operator(name)
        if operator is None:
            hint = _hint(name.split(":")[-1], _OPERATOR_NAMES)
            yield finding("condition-operator-unknown", where, operator=name, hint=hint)
        elif not isinstance(pairs, dict):
            yield finding("invalid-condition", where, where=name, shape="key -> value(s)")
        else:
            for key, value in pairs.items():
                yield from _condition_key(operator, name, key, value, f"{where}.{key}")


def _condition_key(operator: Operator, name: str, key: str, value: Any, where: str) -> Iterator[Finding]:
    values = [(f"{where}[{i}]", v) for i, v in enumerate(value)] if isinstance(value, list) else [(where, value)]
    for value_path, entry in values:
        if not isinstance(entry, str | bool | int | float):
            yield finding(
                "condition-value",
                value_path,
                operator=name,
                key=key,
                value=entry,
                problem="condition values are strings",
            )
        elif problem := value_problem(operator, as_strings(entry)[0]):
            yield finding("condition-value", value_path, operator=name, key=key, value=entry, problem=problem)
    if not key.lower().startswith("aws:"):
        return
    documented = global_key(key)
    if documented is None:
        yield finding("condition-key-unknown", where, key=key)
        return
    if documented != key:
        yield finding("condition-key-casing", where, key=key, documented=documented)
    types = key_types(key) or ()
    if operator.value_type != "Null" and operator.value_type not in types:
        yield finding(
            "condition-type",
            where,
            operator=name,
            given=operator.value_type,
            key=documented,
            expected=types[0],
        )
    multivalued = key.lower() in MULTIVALUED_KEYS
    if operator.set_operator and not multivalued:
        yield finding(
            "condition-set-single",
            where,
            set_operator=operator.set_operator,
            key=documented,
            plain=name.split(":")[-1],
        )
    elif multivalued and not operator.set_operator and operator.value_type != "Null":
        yield finding("condition-multivalued", where, key=documented, operator=name)
