"""Who may do what to a repository over `/v2/`: the same evaluation `ecrlab.permissions` teaches.

Identity policies are not modelled by the emulator (moto does not enforce IAM): a caller is taken to hold
`ecr:*` in IAM. So within its own account every request is allowed, and across accounts the resource side
decides — the repository policy, or the registry policy under REGISTRY_POLICY_SCOPE V2 — as on AWS where a
cross-account pull needs both an IAM grant and a resource grant.
"""

from __future__ import annotations

from moto.ecr.models import ECRBackend, Repository

from ecrlab.emulator.account_settings import setting_value

_IDENTITY_ALLOWS_ECR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}


def denial(principal: str, backend: ECRBackend, repository: Repository, action: str) -> str | None:
    """None when `principal` may perform `action` on `repository`, else AWS's AccessDenied wording."""
    from ecrlab.permissions.simulate import simulate

    if principal.split(":")[4] == backend.account_id:
        return None
    decision = simulate(
        principal,
        action,
        repository.arn,
        identity_policies=[_IDENTITY_ALLOWS_ECR],
        registry_policy=backend.registry_policy,
        repository_policy=repository.policy,
        scope=setting_value(backend, "REGISTRY_POLICY_SCOPE"),
        resource_account=backend.account_id,
    )
    if decision.allowed:
        return None
    why = (
        "with an explicit deny in a resource-based policy"
        if decision.outcome == "ExplicitlyDenied"
        else f"because no resource-based policy allows the {action} action"
    )
    return f"User: {principal} is not authorized to perform: {action} on resource: {repository.arn} {why}"
