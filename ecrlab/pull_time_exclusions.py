"""Pull-time update exclusions as a plannable spec: the IAM principals whose pulls do not move lastRecordedPullTime.

Each exclusion is one setting (`pull-time-update-exclusion/<principal ARN>`): present (the ARN) or absent (None).
A spec is the whole list, so planning it also removes exclusions it does not name. Limits come from the model
and the user guide: IAM role or user ARNs, at most 100 per account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecrlab.ecr_model import check
from ecrlab.errors import ValidationError
from ecrlab.plan import Plan, Setting, make_plan, setting_kind

if TYPE_CHECKING:
    from ecrlab.registry import Registry

MAX_EXCLUSIONS = 100


@dataclass(frozen=True)
class PullTimeExclusions:
    """Exactly these principals are excluded (roles of third-party scanners, for example)."""

    principal_arns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for arn in self.principal_arns:
            check("PrincipalArn", "principal_arns", arn)
        if len(set(self.principal_arns)) != len(self.principal_arns):
            raise ValidationError("principal_arns", list(self.principal_arns), "must not repeat a principal")
        if len(self.principal_arns) > MAX_EXCLUSIONS:
            raise ValidationError("principal_arns", len(self.principal_arns), f"at most {MAX_EXCLUSIONS} exclusions")


def listed(registry: Registry) -> list[str]:
    """The registry's exclusions, in the order they were registered."""
    ecr = registry.client()
    found: list[str] = []
    params: dict[str, str] = {}
    while True:
        answer = ecr.list_pull_time_update_exclusions(**params)
        found += answer["pullTimeUpdateExclusions"]
        if "nextToken" not in answer:
            return found
        params = {"nextToken": answer["nextToken"]}


@setting_kind("pull-time-update-exclusion")
def exclusion(principal_arn: str) -> Setting:
    def read_api(registry: Registry) -> str | None:
        return principal_arn if principal_arn in listed(registry) else None

    def write_api(registry: Registry, value: str | None) -> None:
        if value is None:
            registry.client().deregister_pull_time_update_exclusion(principalArn=principal_arn)
        else:
            registry.client().register_pull_time_update_exclusion(principalArn=principal_arn)

    return Setting("pull-time-update-exclusion", principal_arn, read_api, write_api)


def read(registry: Registry) -> PullTimeExclusions:
    return PullTimeExclusions(tuple(listed(registry)))


def plan(registry: Registry, spec: PullTimeExclusions, *, remove_unlisted: bool = True) -> Plan:
    """Register what `spec` names and is missing, and deregister what is listed and `spec` does not name
    (unless `remove_unlisted` is False: a runbook adding its scanner's role leaves other teams' exclusions)."""
    wanted = list(spec.principal_arns)
    extra = [arn for arn in listed(registry) if arn not in wanted] if remove_unlisted else []
    # Removals first, so a full list can make room before additions.
    desired = [(exclusion(arn), None) for arn in extra] + [(exclusion(arn), arn) for arn in wanted]
    return make_plan(registry, desired)


def check_parameters(params: Mapping[str, Any]) -> None:
    """Check the `pull-time-exclusions` runbook's coerced parameters as the spec will (a role name is checked as the
    ARN it becomes), raising `ValidationError` naming the parameter; no registry needed."""
    roles = params["excluded_roles"]
    if not isinstance(roles, list) or not all(isinstance(role, str) and role for role in roles):
        raise ValidationError("excluded_roles", roles, "must be a list of role names or IAM role/user ARNs")
    arns = tuple(role if role.startswith("arn:") else f"arn:aws:iam::000000000000:role/{role}" for role in roles)
    try:
        PullTimeExclusions(arns)
    except ValidationError as error:
        raise ValidationError("excluded_roles", roles, error.rule) from None
