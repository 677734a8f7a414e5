"""Who is calling, and may they? ECR requests made with IAM users' or roles' credentials are authorised.

The demo credentials (any access key the emulator did not issue) act as the account root, so nothing
changes for learners who never create principals. Credentials of an IAM user, or of a role assumed
through STS, are decided by `ecrlab.permissions.simulate` from the principal's identity policies, the
registry policy (respecting REGISTRY_POLICY_SCOPE) and the repository policy — the same evaluation the
kit teaches, so a lesson's prediction and the emulator's answer cannot disagree.
"""

from __future__ import annotations

import json
from typing import Any

from moto.ecr.models import ecr_backends
from moto.iam.access_control import CreateAccessKeyFailure, create_access_key
from moto.iam.models import iam_backends

from ecrlab.emulator.account_settings import setting_value
from ecrlab.permissions import Decision, simulate
from ecrlab.permissions.actions import repository_actions


def caller_arn(account_id: str, access_key_id: str, headers: dict[str, str]) -> str | None:
    """The IAM user or assumed-role session behind an access key; None when it acts as the account root.

    Demo keys act as root. So does a session of a role that IAM does not hold: moto lets any role ARN be
    assumed, which is how a lesson acts in another account without building its IAM first. That is a
    deliberate departure from AWS (which refuses to assume a missing role), listed in the fidelity notes.
    """
    try:
        arn = create_access_key(account_id, "aws", access_key_id, headers).arn
    except CreateAccessKeyFailure:
        return None
    if ":assumed-role/" in arn:
        role = arn.split(":assumed-role/", 1)[1].split("/")[0]
        if not any(r.name == role for r in iam_backends[account_id]["global"].roles.values()):
            return None
    return arn


def _document(policy: Any) -> dict[str, Any]:
    text = policy if isinstance(policy, str) else getattr(policy, "document", None) or policy.default_version.document
    return json.loads(text) if isinstance(text, str) else text


def identity_policies(principal_arn: str) -> dict[str, dict[str, Any]]:
    """The inline and attached policies of the user or role behind `principal_arn`, by name."""
    account_id = principal_arn.split(":")[4]
    iam = iam_backends[account_id]["global"]
    kind, _, rest = principal_arn.split(":", 5)[5].partition("/")
    policies: dict[str, dict[str, Any]] = {}
    if kind == "assumed-role":
        role = rest.split("/")[0]
        for name in iam.list_role_policies(role):
            policies[name] = _document(iam.get_role_policy(role, name)[1])
        attached, _ = iam.list_attached_role_policies(role)
    else:
        user = rest.split("/")[-1]
        for name in iam.list_user_policies(user):
            policies[name] = _document(iam.get_user_policy(user, name)["policy_document"])
        attached, _ = iam.list_attached_user_policies(user)
        for group in iam.get_groups_for_user(user):
            for name in iam.list_group_policies(group.name):
                policies[name] = _document(iam.get_group_policy(group.name, name)["policy_document"])
            attached += iam.list_attached_group_policies(group.name)[0]
    for policy in attached:
        policies[policy.name] = _document(policy)
    return policies


def decide(principal_arn: str, action: str, account_id: str, region: str, repository: str | None) -> Decision:
    """The decision for `principal_arn` doing `action` (`ecr:Name`) in this registry, on `repository` if any."""
    backend = ecr_backends[account_id][region]
    repo = backend.repositories.get(repository) if repository else None
    scoped = repository and action in repository_actions()
    resource = f"arn:aws:ecr:{region}:{account_id}:repository/{repository}" if scoped else "*"
    return simulate(
        principal_arn,
        action,
        resource,
        identity_policies=identity_policies(principal_arn),
        registry_policy=backend.registry_policy,
        repository_policy=repo.policy if repo is not None else None,
        scope=setting_value(backend, "REGISTRY_POLICY_SCOPE"),
        resource_account=account_id,
    )


def denied_message(principal_arn: str, action: str, resource: str, decision: Decision) -> str:
    """AWS's AccessDenied wording: who, what, on which resource, and which kind of policy is missing or denies."""
    if decision.outcome == "ExplicitlyDenied":
        kinds = {ref.kind for ref in decision.deciding if ref.effect == "Deny"}
        where = "a resource-based policy" if kinds & {"registry", "repository"} else "an identity-based policy"
        reason = f"with an explicit deny in {where}"
    else:
        reason = f"because no identity-based policy allows the {action} action"
    return f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {reason}"


def _repository_of(params: dict[str, Any]) -> str | None:
    if params.get("repositoryName"):
        return params["repositoryName"]
    arn = params.get("resourceArn") or ""
    return arn.split(":repository/", 1)[1] if ":repository/" in arn else None


def authorize_api_request(response: Any, resource: str = "*") -> None:
    """Stands in for moto's request authorisation on ECR's response class: deny with AWS's error and words."""
    from moto.core.exceptions import JsonRESTError

    principal = caller_arn(response.current_account, response.get_access_key(), response.headers)
    if principal is None:
        return
    action = f"ecr:{response._get_action()}"
    repository = _repository_of(json.loads(response.body or "{}"))
    decision = decide(principal, action, response.current_account, response.region, repository)
    if not decision.allowed:
        arn = f"arn:aws:ecr:{response.region}:{response.current_account}:repository/{repository}"
        raise JsonRESTError(
            "AccessDeniedException", denied_message(principal, action, arn if repository else "*", decision)
        )
