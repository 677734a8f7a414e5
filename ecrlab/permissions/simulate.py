"""Explainable access decisions for ECR requests, following AWS's documented policy evaluation logic.

An explicit Deny in any applicable policy wins. Within one account an Allow in either the caller's
identity policies or a resource-based policy (registry or repository) is enough; across accounts
both the resource side and the caller's identity side must allow. A resource policy that names only
the caller's account hands the decision to the caller's identity policies. The account root user
needs no identity policy. Under REGISTRY_POLICY_SCOPE V1 the registry policy is consulted only for
ecr:ReplicateImage, ecr:BatchImportUpstreamImage and ecr:CreateRepository; under V2 for every ECR action.

Not modelled: SCPs and RCPs, permission boundaries, session policies, VPC endpoint policies, KMS key
policies, policy variables such as ${aws:username}, and tag-based ABAC beyond the keys the caller puts
in `context`. aws:PrincipalOrgID and tags come only from `context`; aws:PrincipalArn of a role session
is its role's ARN without a path (pass it in `context` if the role has one). How a V2 registry policy
combines with a repository policy across accounts is UNCONFIRMED [U2] (docs/fidelity.md S1); an Allow in
either counts as the resource side here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ecrlab.errors import ValidationError
from ecrlab.permissions.actions import V1_ACTIONS, in_v1_scope
from ecrlab.permissions.compiled import (
    CompiledPolicy,
    CompiledStatement,
    PolicyInput,
    PrincipalMatch,
    compile_policy,
)
from ecrlab.permissions.conditions import as_strings
from ecrlab.permissions.patterns import ACCOUNT_ID, Caller, parse_caller, split_arn

Outcome = Literal["Allowed", "ImplicitlyDenied", "ExplicitlyDenied"]
PolicyKind = Literal["identity", "registry", "repository"]
SCOPES = ("V1", "V2")


@dataclass(frozen=True)
class StatementRef:
    """A statement that took part in a decision."""

    kind: PolicyKind
    policy_name: str
    sid: str | None
    index: int
    effect: str

    @property
    def label(self) -> str:
        return f"'{self.sid}'" if self.sid else f"Statement[{self.index}]"

    def describe(self) -> str:
        """The statement as a sentence fragment: "the identity policy 'dev' statement 'AllowAll'"."""
        if self.kind == "identity":
            return f"the identity policy '{self.policy_name}' statement {self.label}"
        if self.kind == "registry":
            return f"the registry policy statement {self.label}"
        return f"the repository policy of '{self.policy_name}' statement {self.label}"


@dataclass(frozen=True)
class Decision:
    """The outcome, the statements that decided it, and why in plain words."""

    outcome: Outcome
    deciding: list[StatementRef]
    explanation: str

    @property
    def allowed(self) -> bool:
        return self.outcome == "Allowed"


@dataclass
class _Tally:
    """Matching statements by the part they play in the decision."""

    denies: list[StatementRef]
    identity: list[StatementRef]
    direct: list[StatementRef]
    delegated: list[StatementRef]

    def add(self, kind: PolicyKind, name: str, compiled: CompiledStatement, how: PrincipalMatch) -> None:
        statement = compiled.statement
        ref = StatementRef(kind, name, statement.sid, statement.index, statement.effect)
        if not compiled.allow:
            self.denies.append(ref)
        elif kind == "identity":
            self.identity.append(ref)
        elif how == "direct":
            self.direct.append(ref)
        else:
            self.delegated.append(ref)


def _named(
    identity_policies: Mapping[str, PolicyInput] | Iterable[PolicyInput],
) -> list[tuple[str, CompiledPolicy]]:
    if isinstance(identity_policies, Mapping):
        if "Statement" in identity_policies:
            raise ValidationError(
                "identity_policies",
                "a policy document",
                "pass a list of policies or a {name: policy} mapping",
            )
        return [(name, compile_policy(p)) for name, p in identity_policies.items()]
    return [(f"identity[{i}]", compile_policy(p)) for i, p in enumerate(identity_policies)]


def _context(caller: Caller, resource_account: str, extra: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    context = dict(caller.context)
    if caller.is_service:
        # A service principal acts for the registry owner here; pass aws:SourceAccount to override.
        context["aws:sourceaccount"] = (resource_account,)
    if extra:
        context.update({key.lower(): as_strings(value) for key, value in extra.items()})
    return context


def simulate(
    principal: str,
    action: str,
    resource: str,
    *,
    identity_policies: Mapping[str, PolicyInput] | Iterable[PolicyInput] = (),
    registry_policy: PolicyInput | None = None,
    repository_policy: PolicyInput | None = None,
    scope: str = "V2",
    resource_account: str,
    context: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide whether `principal` may perform `action` on `resource` in the registry of `resource_account`.

    `principal` is an IAM/STS ARN (role sessions match `role/NAME` principals), an account id or
    account root ARN, or a service principal. `resource` is the repository ARN, or "*" for
    registry-level actions. `identity_policies` are the caller's own policies, by name or in a list.
    """
    if scope not in SCOPES:
        raise ValidationError("scope", scope, "must be 'V1' or 'V2' (REGISTRY_POLICY_SCOPE)")
    if not ACCOUNT_ID.fullmatch(resource_account):
        raise ValidationError("resource_account", resource_account, "must be a 12-digit AWS account id")
    caller = parse_caller(principal)
    request_context = _context(caller, resource_account, context)
    tally = _Tally([], [], [], [])
    for name, policy in _named(identity_policies):
        for statement in policy.statements:
            if statement.applies(action, resource, request_context):
                tally.add("identity", name, statement, "direct")
    resource_side: list[tuple[PolicyKind, str, CompiledPolicy]] = []
    registry_skipped = registry_policy is not None and scope == "V1" and not in_v1_scope(action)
    if registry_policy is not None and not registry_skipped and action.lower().startswith("ecr:"):
        resource_side.append(("registry", resource_account, compile_policy(registry_policy)))
    if repository_policy is not None:
        resource_side.append(("repository", _repository_name(resource), compile_policy(repository_policy)))
    for kind, name, policy in resource_side:
        for statement in policy.statements:
            how = statement.principal_match(caller)
            if how and statement.applies(action, resource, request_context):
                tally.add(kind, name, statement, how)
    allow_kinds = [kind for kind, _, policy in resource_side if policy.has_allow]
    decision = _decide(caller, action, resource, resource_account, tally, allow_kinds)
    if registry_skipped:
        note = (
            f" Under REGISTRY_POLICY_SCOPE V1 the registry policy only covers {', '.join(V1_ACTIONS)}, "
            f"so it was not consulted for {action}."
        )
        return Decision(decision.outcome, decision.deciding, decision.explanation + note)
    return decision


def _repository_name(resource: str) -> str:
    parts = split_arn(resource)
    if parts and parts[5].startswith("repository/"):
        return parts[5].removeprefix("repository/")
    return resource


def _decide(
    caller: Caller, action: str, resource: str, account: str, tally: _Tally, allow_kinds: list[PolicyKind]
) -> Decision:
    who = caller.arn
    resource_side = tally.direct + tally.delegated
    if tally.denies:
        extra = len(tally.denies) - 1
        more = f" (and {extra} more Deny statement{'s' if extra > 1 else ''})" if extra else ""
        allows = tally.identity + resource_side
        overridden = f", including {allows[0].describe()}" if allows else ""
        return Decision(
            "ExplicitlyDenied",
            tally.denies,
            f"Explicitly denied because {tally.denies[0].describe()}{more} denies {action} for {who}; "
            f"an explicit Deny overrides every Allow{overridden}.",
        )
    if caller.is_service:
        if tally.direct:
            return Decision(
                "Allowed",
                tally.direct,
                f"Allowed because {tally.direct[0].describe()} allows {action} "
                f"for the service principal {who} and no policy denies it.",
            )
        return Decision(
            "ImplicitlyDenied",
            [],
            f"Implicitly denied: no registry or repository policy allows {action} "
            f"for the service principal {who}; a service acts only where a resource-based policy lets it.",
        )
    if caller.is_root and caller.account == account:
        return Decision(
            "Allowed",
            [],
            f"Allowed because {who} is the root user of account {account}, which has "
            "full access to its own resources unless a policy denies it.",
        )
    if caller.account == account:
        return _same_account(caller, action, resource, tally, allow_kinds)
    if caller.is_root:
        identity_side = f"{who} is the root user of its account, which needs no identity policy"
    else:
        identity_side = f"{tally.identity[0].describe()} allows it" if tally.identity else ""
    if identity_side and resource_side:
        return Decision(
            "Allowed",
            resource_side + tally.identity,
            f"Allowed because {resource_side[0].describe()} allows {action} for {who} and "
            f"{identity_side}; a cross-account request needs both, and no policy denies it.",
        )
    if resource_side:
        reason = (
            f"{resource_side[0].describe()} allows {action} for {who}, but the caller's identity "
            f"policies in account {caller.account} do not"
        )
    elif identity_side:
        reason = f"{identity_side}, but no registry or repository policy of account {account} allows {who}"
    else:
        reason = (
            f"neither the caller's identity policies nor a registry or repository policy of account "
            f"{account} allows {action} for {who}"
        )
    return Decision(
        "ImplicitlyDenied",
        resource_side + tally.identity,
        f"Implicitly denied: {reason}; a cross-account request needs an Allow on both sides.",
    )


def _same_account(caller: Caller, action: str, resource: str, tally: _Tally, allow_kinds: list[PolicyKind]) -> Decision:
    who = caller.arn
    if tally.identity:
        aside = ""
        if len(allow_kinds) == 1:
            aside = f"; the {allow_kinds[0]} policy's Allow does not matter within one account"
        elif allow_kinds:
            aside = "; the Allows in the registry and repository policies do not matter within one account"
        return Decision(
            "Allowed",
            tally.identity + tally.direct,
            f"Allowed because {tally.identity[0].describe()} allows {action} and no policy denies it{aside}.",
        )
    if tally.direct:
        return Decision(
            "Allowed",
            tally.direct,
            f"Allowed because {tally.direct[0].describe()} allows {action} for {who} and no policy "
            "denies it; within one account an Allow in either an identity policy or a "
            "resource-based policy is enough.",
        )
    if tally.delegated:
        return Decision(
            "ImplicitlyDenied",
            tally.delegated,
            f"Implicitly denied: {tally.delegated[0].describe()} names account {caller.account} "
            f"rather than {who}, which hands the decision to IAM, and no identity policy allows "
            f"{action}.",
        )
    return Decision(
        "ImplicitlyDenied",
        [],
        f"Implicitly denied: no identity, registry or repository policy allows {action} for {who} "
        f"on {resource}, and IAM refuses whatever is not allowed.",
    )
