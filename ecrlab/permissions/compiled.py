"""Policies compiled for repeated evaluation: every wildcard becomes one regular expression, once.

Compilation is cached by policy text, so simulating thousands of requests against the same few
policies parses and compiles each policy once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from ecrlab.errors import ValidationError
from ecrlab.permissions.conditions import ConditionTest, compile_condition
from ecrlab.permissions.patterns import Caller, arn_regex, glob_regex, normalize_principal
from ecrlab.permissions.policy import RegistryPolicy, Statement, statements_of, thaw

PrincipalMatch = Literal["direct", "account"]


@dataclass(frozen=True)
class _Principals:
    """The entries of a Principal or NotPrincipal element, ready to test a caller's identities."""

    everyone: bool
    every_aws: bool
    exact: frozenset[str]
    wildcards: re.Pattern[str] | None

    @classmethod
    def of(cls, element: dict[str, tuple[str, ...]]) -> _Principals:
        aws = [normalize_principal(e) for e in element.get("AWS", ())]
        wildcards = [e for e in aws if e != "*" and ("*" in e or "?" in e)]
        return cls(
            everyone="*" in element,
            every_aws="*" in aws,
            exact=frozenset(e for e in (*aws, *element.get("Service", ())) if "*" not in e and "?" not in e),
            wildcards=arn_regex(wildcards) if wildcards else None,
        )

    def hits(self, caller: Caller, identity: str) -> bool:
        if self.everyone or (self.every_aws and not caller.is_service) or identity in self.exact:
            return True
        return bool(self.wildcards and self.wildcards.fullmatch(identity))


@dataclass(frozen=True)
class CompiledStatement:
    """One statement reduced to regexes and condition tests."""

    statement: Statement
    allow: bool
    actions: re.Pattern[str]
    actions_negated: bool
    resources: re.Pattern[str] | None
    resources_negated: bool
    principals: _Principals | None
    principals_negated: bool
    conditions: tuple[ConditionTest, ...]

    @classmethod
    def of(cls, statement: Statement) -> CompiledStatement:
        resources = statement.resource or statement.not_resource
        principal = statement.principal or statement.not_principal
        where = f"Statement[{statement.index}].Condition"
        return cls(
            statement=statement,
            allow=statement.effect == "Allow",
            actions=glob_regex(statement.action or statement.not_action, ignore_case=True),
            actions_negated=not statement.action,
            resources=arn_regex(resources) if resources else None,
            resources_negated=not statement.resource,
            principals=_Principals.of(principal) if principal else None,
            principals_negated=statement.principal is None,
            conditions=compile_condition(statement.condition, where),
        )

    def applies(self, action: str, resource: str, context: Mapping[str, tuple[str, ...]]) -> bool:
        """Whether action, resource and conditions all match (the principal is checked separately)."""
        if bool(self.actions.fullmatch(action)) == self.actions_negated:
            return False
        if self.resources is not None and bool(self.resources.fullmatch(resource)) == self.resources_negated:
            return False
        return all(test(context) for test in self.conditions)

    def principal_match(self, caller: Caller) -> PrincipalMatch | None:
        """How a resource-based statement names the caller.

        "account" means it names only the caller's account, which delegates the decision to the
        caller's identity policies; NotPrincipal exempts a caller only if it lists every identity
        of the caller (session, role and account), as IAM requires.
        """
        principals = self.principals
        if principals is None:
            return None
        if self.principals_negated:
            exempt = all(principals.hits(caller, identity) for identity in caller.chain)
            return None if exempt else "direct"
        if caller.is_root or caller.is_service:
            return "direct" if principals.hits(caller, caller.chain[0]) else None
        *own, account = caller.chain
        if any(principals.hits(caller, identity) for identity in own):
            return "direct"
        return "account" if principals.hits(caller, account) else None


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy ready for fast evaluation; build one with `compile_policy`."""

    statements: tuple[CompiledStatement, ...]

    @property
    def has_allow(self) -> bool:
        return any(s.allow for s in self.statements)


PolicyInput = str | Mapping[str, Any] | RegistryPolicy | CompiledPolicy


@lru_cache(maxsize=512)
def _compile_text(text: str) -> CompiledPolicy:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationError("policy", text[:40], f"is not valid JSON ({error})") from None
    return CompiledPolicy(tuple(CompiledStatement.of(s) for s in statements_of(document)))


def compile_policy(policy: PolicyInput) -> CompiledPolicy:
    """Compile any policy (JSON text, document, RegistryPolicy); raises ValidationError if malformed.

    Pass text, a RegistryPolicy or the CompiledPolicy itself in hot loops: a plain dict has to be
    serialised on every call to find its cache entry.
    """
    if isinstance(policy, CompiledPolicy):
        return policy
    if isinstance(policy, RegistryPolicy):
        return _compile_text(policy.to_json())
    return _compile_text(policy if isinstance(policy, str) else json.dumps(thaw(policy)))
