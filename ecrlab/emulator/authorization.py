"""Who is calling, and may they? One decision path for the ECR API and the `/v2/` data plane.

The demo credentials (any access key the emulator did not issue) act as the account root, so nothing
changes for learners who never create principals. IAM users and assumed-role sessions are decided by
`ecrlab.permissions.simulate` from the principal's identity policies, the registry policy (respecting
REGISTRY_POLICY_SCOPE) and the repository policy — the evaluation the kit teaches, so a lesson's
prediction and the emulator's answer cannot disagree. Across accounts both sides must allow, as on AWS.
"""

from __future__ import annotations

import json
from typing import Any

from ecrlab.emulator.account_settings_operations import setting_value
from ecrlab.emulator.moto_compat import CreateAccessKeyFailure, create_access_key, ecr_backends, iam_backends
from ecrlab.permissions import Decision, simulate
from ecrlab.permissions.actions import repository_actions


def root(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def effective_principal(arn: str) -> str:
    """The principal IAM evaluates: moto's unknown callers and sessions of roles IAM lacks act as their root.

    moto lets any role ARN be assumed, which is how a lesson acts in another account without building its
    IAM first; treating such a session as that account's root is a deliberate departure from AWS (which
    refuses to assume a missing role), listed in the fidelity notes.
    """
    account_id = arn.split(":")[4]
    if arn.endswith(":user/moto") or arn.endswith(":root"):
        return root(account_id)
    if ":assumed-role/" in arn:
        role = arn.split(":assumed-role/", 1)[1].split("/")[0]
        if not any(r.name == role for r in iam_backends[account_id]["global"].roles.values()):
            return root(account_id)
    return arn


def caller_arn(account_id: str, access_key_id: str, headers: dict[str, str]) -> str:
    """The effective principal behind an access key (the account root for keys IAM did not issue)."""
    try:
        return effective_principal(create_access_key(account_id, "aws", access_key_id, headers).arn)
    except CreateAccessKeyFailure:
        return root(account_id)


def _document(policy: Any) -> dict[str, Any]:
    """A policy's JSON: inline policies carry it, managed policies (moto's `Policy`) in their default version."""
    if isinstance(policy, str | dict):
        text = policy
    elif getattr(policy, "document", None):
        text = policy.document
    else:
        text = next(v.document for v in policy.versions if v.version_id == policy.default_version_id)
    return json.loads(text) if isinstance(text, str) else text


def identity_policies(principal_arn: str) -> dict[str, dict[str, Any]]:
    """The inline and attached policies of the user or role behind `principal_arn` (none for a root)."""
    account_id = principal_arn.split(":")[4]
    iam = iam_backends[account_id]["global"]
    kind, _, rest = principal_arn.split(":", 5)[5].partition("/")
    policies: dict[str, dict[str, Any]] = {}
    if kind == "assumed-role":
        role = rest.split("/")[0]
        for name in iam.list_role_policies(role):
            policies[name] = _document(iam.get_role_policy(role, name)[1])
        attached = list(iam.list_attached_role_policies(role)[0])
    elif kind == "user":
        user = rest.split("/")[-1]
        for name in iam.list_user_policies(user):
            policies[name] = _document(iam.get_user_policy(user, name)["policy_document"])
        attached = list(iam.list_attached_user_policies(user)[0])
        for group in iam.get_groups_for_user(user):
            for name in iam.list_group_policies(group.name):
                policies[name] = _document(iam.get_group_policy(group.name, name)["policy_document"])
            attached += iam.list_attached_group_policies(group.name)[0]
    else:
        return policies
    for policy in attached:
        policies[policy.name] = _document(policy)
    return policies


def resource_arn(account_id: str, region: str, action: str, repository: str | None) -> str:
    """The repository ARN for repository actions, "*" for registry-level ones (as IAM evaluates them)."""
    if repository and action in repository_actions():
        return f"arn:aws:ecr:{region}:{account_id}:repository/{repository}"
    return "*"


def decide(principal_arn: str, action: str, account_id: str, region: str, repository: str | None) -> Decision:
    """The decision for `principal_arn` doing `action` (`ecr:Name`) in this registry, on `repository` if any."""
    backend = ecr_backends[account_id][region]
    repo = backend.repositories.get(repository) if repository else None
    return simulate(
        principal_arn,
        action,
        resource_arn(account_id, region, action, repository),
        identity_policies=identity_policies(principal_arn),
        registry_policy=backend.registry_policy,
        repository_policy=repo.policy if repo is not None else None,
        scope=setting_value(backend, "REGISTRY_POLICY_SCOPE"),
        resource_account=account_id,
    )


def denial(principal: str, account_id: str, region: str, action: str, repository: str | None) -> str | None:
    """None when `principal` may do `action` here, else AWS's AccessDenied sentence (API and `/v2/` alike)."""
    caller, principal = principal, effective_principal(principal)
    if principal == root(account_id):
        return None
    decision = decide(principal, action, account_id, region, repository)
    if decision.allowed:
        return None
    resource = resource_arn(account_id, region, action, repository)
    if decision.outcome == "ExplicitlyDenied":
        kinds = {ref.kind for ref in decision.deciding if ref.effect == "Deny"}
        where = "a resource-based policy" if kinds & {"registry", "repository"} else "an identity-based policy"
        reason = f"with an explicit deny in {where}"
    elif principal.split(":")[4] != account_id and (principal.endswith(":root") or identity_policies(principal)):
        reason = f"because no resource-based policy allows the {action} action"
    else:
        reason = f"because no identity-based policy allows the {action} action"
    return f"User: {caller} is not authorized to perform: {action} on resource: {resource} {reason}"


def _repository_of(body: str | bytes | None) -> str | None:
    """The repository a request names; a body that is not a JSON object names none (the model check refuses it)."""
    try:
        params = json.loads(body or "{}")
    except ValueError:
        return None
    if not isinstance(params, dict):
        return None
    if isinstance(params.get("repositoryName"), str) and params["repositoryName"]:
        return params["repositoryName"]
    arn = params.get("resourceArn")
    return arn.split(":repository/", 1)[1] if isinstance(arn, str) and ":repository/" in arn else None


def authorize_api_request(response: Any, resource: str = "*") -> None:
    """Stands in for moto's request authorisation on ECR's response class: AWS's error code and words."""
    from ecrlab.emulator.moto_compat import JsonRESTError, request_action

    principal = caller_arn(response.current_account, response.get_access_key(), response.headers)
    action = f"ecr:{request_action(response)}"
    repository = _repository_of(response.body)
    problem = denial(principal, response.current_account, response.region, action, repository)
    if not problem and action == "ecr:PutImage" and repository:
        from ecrlab.emulator.on_behalf import create_on_push_denial  # it imports this module

        backend = ecr_backends[response.current_account][response.region]
        problem = create_on_push_denial(backend, principal, repository)
    if problem:
        raise JsonRESTError("AccessDeniedException", problem)
