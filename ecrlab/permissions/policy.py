"""The registry policy spec: the AWS JSON document exactly as written, and builders for common intents.

A registry holds one policy per Region and `PutRegistryPolicy` replaces it whole, so builders return
policies that `merge` combines into the single document to write.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any

from ecrlab import checks
from ecrlab.ecr_model import ecr_model
from ecrlab.errors import ValidationError
from ecrlab.permissions.actions import expand_action, repository_actions
from ecrlab.permissions.patterns import (
    ACCOUNT_ID,
    IAM_PRINCIPAL_ARN,
    account_root,
    partition_for_region,
    split_arn,
)

POLICY_VERSION = "2012-10-17"
REPOSITORY_ADMIN_ACTIONS = ("ecr:CreateRepository", "ecr:DeleteRepository")


def max_policy_chars() -> int:
    """PutRegistryPolicy's limit on policyText, from the botocore model."""
    return int(ecr_model().shape_for("RegistryPolicyText").metadata["max"])


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """A plain, mutable JSON value (dicts and lists) from a frozen one."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Statement:
    """A read-only view of one statement, each element as a tuple whether written as a string or a list."""

    index: int
    raw: Mapping[str, Any]

    @property
    def sid(self) -> str | None:
        return self.raw.get("Sid")

    @property
    def effect(self) -> str:
        return self.raw["Effect"]

    @property
    def action(self) -> tuple[str, ...]:
        return _strings(self.raw.get("Action"))

    @property
    def not_action(self) -> tuple[str, ...]:
        return _strings(self.raw.get("NotAction"))

    @property
    def resource(self) -> tuple[str, ...]:
        return _strings(self.raw.get("Resource"))

    @property
    def not_resource(self) -> tuple[str, ...]:
        return _strings(self.raw.get("NotResource"))

    @property
    def principal(self) -> dict[str, tuple[str, ...]] | None:
        """`{"AWS": (...), "Service": (...)}`; `"*"` (everyone, services included) becomes `{"*": ("*",)}`."""
        return _principal_map(self.raw.get("Principal"))

    @property
    def not_principal(self) -> dict[str, tuple[str, ...]] | None:
        return _principal_map(self.raw.get("NotPrincipal"))

    @property
    def condition(self) -> Mapping[str, Mapping[str, Any]]:
        return self.raw.get("Condition", MappingProxyType({}))


def _principal_map(value: Any) -> dict[str, tuple[str, ...]] | None:
    if value is None:
        return None
    if value == "*":
        return {"*": ("*",)}
    return {kind: _strings(entries) for kind, entries in value.items()}


def _check_document(document: Any) -> None:
    if not isinstance(document, Mapping):
        raise ValidationError("policyText", document, "must be a JSON object with Version and Statement")
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = (statements,)
    if not isinstance(statements, list | tuple) or not statements:
        raise ValidationError("Statement", statements, "must be a statement object or a non-empty list of them")
    for index, statement in enumerate(statements):
        where = f"Statement[{index}]"
        if not isinstance(statement, Mapping):
            raise ValidationError(where, statement, "must be an object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise ValidationError(f"{where}.Effect", statement.get("Effect"), "must be 'Allow' or 'Deny'")
        if ("Action" in statement) == ("NotAction" in statement):
            raise ValidationError(where, statement.get("Sid"), "needs exactly one of Action or NotAction")
        for element in ("Action", "NotAction", "Resource", "NotResource"):
            if element in statement and not _is_strings(statement[element]):
                raise ValidationError(f"{where}.{element}", statement[element], "must be a string or a list of strings")
        for element in ("Principal", "NotPrincipal"):
            value = statement.get(element, "*")
            if value != "*" and not (isinstance(value, Mapping) and all(map(_is_strings, value.values()))):
                raise ValidationError(f"{where}.{element}", value, 'must be "*" or an object such as {"AWS": [...]}')


def _check_json(field: str, value: Any) -> None:
    """Only what JSON holds as written: objects with string keys, arrays, strings, finite numbers, booleans, null.

    json.dumps would otherwise turn a number key into a string and NaN into text AWS cannot parse.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise ValidationError(field, key, "object keys must be strings")
                stack.append(child)
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValidationError(field, item, "numbers must be finite")
        elif item is not None and not isinstance(item, str | int | float):
            raise ValidationError(field, item, f"must hold only JSON values, not {type(item).__name__}")


def _is_strings(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list | tuple) and all(isinstance(v, str) for v in value))


@dataclass(frozen=True)
class RegistryPolicy:
    """A registry permissions policy, kept exactly as written so it round-trips to AWS unchanged.

    `document` is read-only; key order and string-vs-list forms are preserved by `to_json()`.
    Validation covers what AWS rejects for every registry (shape, Effect, size); scope-dependent and
    advisory checks live in `lint`.
    """

    document: Mapping[str, Any]

    def __post_init__(self) -> None:
        _check_json("policyText", self.document)
        object.__setattr__(self, "document", _freeze(self.document))
        _check_document(self.document)
        size = len(self.to_json())
        if size > max_policy_chars():
            raise ValidationError("policyText", f"{size} characters", f"must be at most {max_policy_chars()}")

    def __hash__(self) -> int:
        return hash(self.to_json())

    @classmethod
    def from_json(cls, text: str) -> RegistryPolicy:
        """Parse policy text as stored in AWS (GetRegistryPolicy's policyText)."""
        checks.text("policyText", text)
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise ValidationError("policyText", text[:40], f"is not valid JSON ({error})") from None
        return cls(document)

    @classmethod
    def from_api(cls, response: Mapping[str, Any]) -> RegistryPolicy:
        """From a GetRegistryPolicy response."""
        return cls.from_json(response["policyText"])

    def to_json(self, indent: int | None = None) -> str:
        """The text to send as policyText; compact unless `indent` asks for a readable form."""
        return self._compact if indent is None else json.dumps(thaw(self.document), indent=indent)

    def to_dict(self) -> dict[str, Any]:
        """A mutable copy of the document."""
        return thaw(self.document)

    def to_api(self) -> dict[str, str]:
        """Keyword arguments for PutRegistryPolicy."""
        return {"policyText": self.to_json()}

    @cached_property
    def _compact(self) -> str:
        return json.dumps(thaw(self.document))

    @cached_property
    def statements(self) -> tuple[Statement, ...]:
        return statements_of(self.document)


def statements_of(document: Any) -> tuple[Statement, ...]:
    """Statement views of any policy document (registry, repository or identity); validates its shape."""
    frozen = _freeze(document)
    _check_document(frozen)
    raw = frozen["Statement"]
    return tuple(Statement(i, s) for i, s in enumerate((raw,) if isinstance(raw, Mapping) else raw))


def _account(field: str, value: str) -> str:
    if not isinstance(value, str) or not ACCOUNT_ID.fullmatch(value):
        raise ValidationError(field, value, "must be a 12-digit AWS account id")
    return value


def _accounts(field: str, values: str | Iterable[str]) -> list[str]:
    accounts = [_account(field, v) for v in checks.strings(field, values)]
    if not accounts:
        raise ValidationError(field, values, "must name at least one account")
    return accounts


def _repository_arn(account_id: str, region: str, path: str = "*") -> str:
    checks.text("region", region)
    partition = "aws" if region == "*" else partition_for_region(region)
    return f"arn:{partition}:ecr:{region}:{_account('account_id', account_id)}:repository/{path}"


def _one_or_many(values: Sequence[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def _policy(*statements: dict[str, Any]) -> RegistryPolicy:
    return RegistryPolicy({"Version": POLICY_VERSION, "Statement": list(statements)})


def restrict_repository_admin(
    account_id: str,
    allowed_principal_arns: Sequence[str],
    actions: Sequence[str] = REPOSITORY_ADMIN_ACTIONS,
    *,
    region: str = "*",
) -> RegistryPolicy:
    """Refuse `actions` to everyone in the registry except the listed principals.

    An Allow cannot do this: within one account an identity policy OR a resource policy is enough,
    so only an explicit Deny narrows what `ecr:*` users may do. The Deny names Principal "*" and
    exempts callers whose aws:PrincipalArn is listed; role sessions carry their role's ARN there, so
    listing a role covers its sessions. Principal "*" also covers service-linked roles (pull through
    cache creates repositories as AWSServiceRoleForECRPullThroughCache): list them if needed.
    """
    # A registry-level Deny under REGISTRY_POLICY_SCOPE V2 is documented only circumstantially
    # (UNCONFIRMED [U1] in docs/fidelity.md S1); we assume standard IAM explicit-deny semantics.
    allowed = list(checks.strings("allowed_principal_arns", allowed_principal_arns))
    actions = checks.strings("actions", actions)
    _account("account_id", account_id)
    checks.text("region", region)
    if not allowed:
        raise ValidationError("allowed_principal_arns", allowed, "must keep at least one principal able to act")
    for arn in allowed:
        parts = split_arn(arn)
        if parts is None or parts[2] != "iam":
            raise ValidationError(
                "allowed_principal_arns",
                arn,
                "must be an IAM ARN (arn:aws:iam::<account>:role/NAME); aws:PrincipalArn of a role "
                "session is its role's ARN, so an sts session ARN would never match",
            )
    for action in actions:
        if not expand_action(action):
            raise ValidationError("actions", action, "is not an ECR action")
    repository_only = all(set(expand_action(a)) <= repository_actions() for a in actions)
    return _policy(
        {
            "Sid": "DenyRepositoryAdminExceptListed",
            "Effect": "Deny",
            "Principal": "*",
            "Action": list(actions),
            # Registry-level actions are evaluated against Resource "*", so only "*" covers them.
            "Resource": _repository_arn(account_id, region) if repository_only else "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": allowed}},
        }
    )


def allow_replication_from(
    source_account_ids: str | Iterable[str],
    account_id: str,
    region: str,
    create_repository: bool = True,
) -> RegistryPolicy:
    """Let other accounts replicate into this registry (the destination's side of cross-account replication).

    Only the destination needs a policy. Without ecr:CreateRepository, repositories of the same
    names must already exist here.
    """
    sources = _accounts("source_account_ids", source_account_ids)
    _account("account_id", account_id)
    checks.text("region", region)
    checks.flag("create_repository", create_repository)
    if account_id in sources:
        raise ValidationError("source_account_ids", account_id, "replication within one account needs no policy")
    actions = ["ecr:CreateRepository", "ecr:ReplicateImage"] if create_repository else ["ecr:ReplicateImage"]
    partition = partition_for_region(region)
    return _policy(
        {
            "Sid": "ReplicationAccessCrossAccount",
            "Effect": "Allow",
            "Principal": {"AWS": _one_or_many([account_root(a, partition) for a in sources])},
            "Action": actions,
            "Resource": _repository_arn(account_id, region),
        }
    )


def allow_pull_through_cache(
    principal_arns: Sequence[str], account_id: str, region: str, prefix: str
) -> RegistryPolicy:
    """Let principals fill the cache under `prefix`: import upstream images and create cache repositories.

    This grants only through the registry policy; an identity policy with these actions works too.
    """
    principals = list(checks.strings("principal_arns", principal_arns))
    _account("account_id", account_id)
    checks.text("region", region)
    checks.text("prefix", prefix)
    shape = ecr_model().operation_model("CreatePullThroughCacheRule").input_shape.members["ecrRepositoryPrefix"]
    if not re.fullmatch(shape.metadata["pattern"], prefix):
        raise ValidationError(
            "prefix", prefix, f"must match the ecrRepositoryPrefix pattern {shape.metadata['pattern']}"
        )
    bad = [p for p in principals if not IAM_PRINCIPAL_ARN.fullmatch(p)]
    if bad or not principals:
        raise ValidationError("principal_arns", bad or principals, "must be one or more IAM role or user ARNs")
    path = "*" if prefix == "ROOT" else prefix.rstrip("/") + "/*"
    words = re.split(r"[^a-zA-Z0-9]+", prefix)
    return _policy(
        {
            "Sid": "PullThroughCache" + "".join(w.capitalize() for w in words),
            "Effect": "Allow",
            "Principal": {"AWS": _one_or_many(principals)},
            "Action": ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"],
            "Resource": _repository_arn(account_id, region, path),
        }
    )


def merge(*policies: RegistryPolicy) -> RegistryPolicy:
    """Combine policies into the one document a registry holds.

    A statement whose Sid is already present replaces the earlier one in place, so re-running a
    builder with new arguments updates its statement instead of adding a second; identical
    statements without a Sid are kept once. Top-level keys other than Statement come from the first.
    """
    if not policies:
        raise ValidationError("policies", policies, "merge needs at least one policy")
    checks.items("policies", policies, RegistryPolicy, "RegistryPolicy")
    merged: list[Mapping[str, Any]] = []
    position: dict[str, int] = {}
    for statement in (s for p in policies for s in p.statements):
        if statement.sid in position:
            merged[position[statement.sid]] = statement.raw
        elif statement.sid is not None or statement.raw not in merged:
            if statement.sid is not None:
                position[statement.sid] = len(merged)
            merged.append(statement.raw)
    head = {k: v for k, v in policies[0].document.items() if k != "Statement"}
    return RegistryPolicy({**head, "Statement": list(merged)})
