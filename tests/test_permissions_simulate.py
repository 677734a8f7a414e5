"""simulate() follows AWS's documented evaluation logic and says why in plain words."""

from __future__ import annotations

from typing import Any

import pytest

from ecrlab.errors import ValidationError
from ecrlab.permissions import (
    Decision,
    StatementRef,
    allow_replication_from,
    compile_policy,
    restrict_repository_admin,
    simulate,
)

ACCOUNT = "123456789012"
SOURCE = "444455556666"
REGION = "us-east-1"
REPO = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team-a/api"
DEV = f"arn:aws:sts::{ACCOUNT}:assumed-role/dev-role/alice"
DEVOPS = f"arn:aws:sts::{ACCOUNT}:assumed-role/devops-role/bob"
DEVOPS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/devops-role"
ECR_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "AllowAll", "Effect": "Allow", "Action": "ecr:*", "Resource": "*"}],
}
SEED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DevopsAdmin",
            "Effect": "Allow",
            "Principal": {"AWS": DEVOPS_ROLE},
            "Action": ["ecr:CreateRepository", "ecr:DeleteRepository", "ecr:PutRegistryPolicy"],
            "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*",
        }
    ],
}


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _decide(principal: str, action: str, resource: str = REPO, **kwargs: Any) -> Decision:
    kwargs.setdefault("resource_account", ACCOUNT)
    return simulate(principal, action, resource, **kwargs)


def test_identity_ecr_star_wins_over_an_allow_only_registry_policy() -> None:
    decision = _decide(DEV, "ecr:CreateRepository", identity_policies={"dev": ECR_ALL}, registry_policy=SEED)
    assert decision.outcome == "Allowed"
    assert decision.deciding == [StatementRef("identity", "dev", "AllowAll", 0, "Allow")]
    assert decision.explanation == (
        "Allowed because the identity policy 'dev' statement 'AllowAll' allows ecr:CreateRepository and no policy "
        "denies it; the registry policy's Allow does not matter within one account."
    )


def test_restrict_repository_admin_denies_everyone_but_the_listed_role() -> None:
    registry = restrict_repository_admin(ACCOUNT, [DEVOPS_ROLE], region=REGION)
    identity = {"dev": ECR_ALL}
    denied = _decide(DEV, "ecr:CreateRepository", identity_policies=identity, registry_policy=registry)
    assert denied.outcome == "ExplicitlyDenied"
    assert denied.deciding == [StatementRef("registry", ACCOUNT, "DenyRepositoryAdminExceptListed", 0, "Deny")]
    assert "explicit Deny overrides every Allow, including the identity policy 'dev'" in denied.explanation
    allowed = _decide(DEVOPS, "ecr:CreateRepository", identity_policies=identity, registry_policy=registry)
    assert allowed.outcome == "Allowed"
    pull = _decide(DEV, "ecr:BatchGetImage", identity_policies=identity, registry_policy=registry)
    assert pull.outcome == "Allowed"
    # A Deny grants nothing: devops-role still needs an Allow from somewhere.
    assert _decide(DEVOPS, "ecr:CreateRepository", registry_policy=registry).outcome == "ImplicitlyDenied"


def test_cross_account_replication_needs_the_destination_registry_policy() -> None:
    source_root = f"arn:aws:iam::{SOURCE}:root"
    without = _decide(source_root, "ecr:ReplicateImage")
    assert without.outcome == "ImplicitlyDenied"
    assert "cross-account request needs an Allow on both sides" in without.explanation
    registry = allow_replication_from(SOURCE, ACCOUNT, REGION)
    with_policy = _decide(source_root, "ecr:ReplicateImage", registry_policy=registry)
    assert with_policy.outcome == "Allowed"
    assert with_policy.deciding == [StatementRef("registry", ACCOUNT, "ReplicationAccessCrossAccount", 0, "Allow")]
    assert _decide(SOURCE, "ecr:CreateRepository", registry_policy=registry).allowed
    assert _decide(SOURCE, "ecr:BatchGetImage", registry_policy=registry).outcome == "ImplicitlyDenied"


def test_cross_account_resource_allow_without_identity_allow_is_implicitly_denied() -> None:
    registry = allow_replication_from(SOURCE, ACCOUNT, REGION)
    role = f"arn:aws:sts::{SOURCE}:assumed-role/replicator/run"
    decision = _decide(role, "ecr:ReplicateImage", registry_policy=registry)
    assert decision.outcome == "ImplicitlyDenied"
    assert f"identity policies in account {SOURCE} do not" in decision.explanation
    assert _decide(role, "ecr:ReplicateImage", registry_policy=registry, identity_policies=[ECR_ALL]).allowed
    identity_only = _decide(role, "ecr:ReplicateImage", identity_policies=[ECR_ALL])
    assert identity_only.outcome == "ImplicitlyDenied"
    assert identity_only.deciding == [StatementRef("identity", "identity[0]", "AllowAll", 0, "Allow")]


def test_same_account_resource_policy_naming_the_role_is_enough_but_naming_the_account_is_not() -> None:
    def grant(principal: Any) -> dict[str, Any]:
        return _policy({"Sid": "Grant", "Effect": "Allow", "Principal": principal, "Action": "ecr:BatchGetImage"})

    direct = _decide(
        DEV, "ecr:BatchGetImage", repository_policy=grant({"AWS": f"arn:aws:iam::{ACCOUNT}:role/dev-role"})
    )
    assert direct.allowed
    assert "within one account an Allow in either" in direct.explanation
    assert direct.deciding[0].describe() == "the repository policy of 'team-a/api' statement 'Grant'"
    for account in (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"):
        delegated = _decide(DEV, "ecr:BatchGetImage", repository_policy=grant({"AWS": account}))
        assert delegated.outcome == "ImplicitlyDenied"
        assert "hands the decision to IAM" in delegated.explanation
    assert _decide(DEV, "ecr:BatchGetImage", repository_policy=grant("*")).allowed
    assert _decide(DEV, "ecr:BatchGetImage", repository_policy=grant({"AWS": "*"})).allowed


def test_role_principal_with_a_path_matches_its_sessions() -> None:
    repository = _policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/team/dev-role"},
            "Action": "ecr:ListImages",
        }
    )
    assert _decide(DEV, "ecr:ListImages", repository_policy=repository).allowed
    assert not _decide(DEVOPS, "ecr:ListImages", repository_policy=repository).allowed


def test_scope_v1_consults_the_registry_policy_only_for_three_actions() -> None:
    registry = _policy(
        {"Sid": "NoPulls", "Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage", "Resource": "*"}
    )
    v2 = _decide(DEV, "ecr:BatchGetImage", identity_policies=[ECR_ALL], registry_policy=registry)
    assert v2.outcome == "ExplicitlyDenied"
    v1 = _decide(DEV, "ecr:BatchGetImage", identity_policies=[ECR_ALL], registry_policy=registry, scope="V1")
    assert v1.outcome == "Allowed"
    assert "Under REGISTRY_POLICY_SCOPE V1 the registry policy only covers" in v1.explanation
    restrict = restrict_repository_admin(ACCOUNT, [DEVOPS_ROLE])
    assert (
        _decide(DEV, "ecr:CreateRepository", identity_policies=[ECR_ALL], registry_policy=restrict, scope="V1").outcome
        == "ExplicitlyDenied"
    )


def test_not_action_and_not_resource() -> None:
    identity = _policy(
        {
            "Effect": "Allow",
            "NotAction": ["ecr:Delete*", "ecr:Put*Policy"],
            "NotResource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/prod/*",
        }
    )
    assert _decide(DEV, "ecr:PutImage", identity_policies=[identity]).allowed
    assert not _decide(DEV, "ecr:DeleteRepository", identity_policies=[identity]).allowed
    assert not _decide(DEV, "ecr:PutRegistryPolicy", "*", identity_policies=[identity]).allowed
    prod = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/prod/api"
    assert not _decide(DEV, "ecr:PutImage", prod, identity_policies=[identity]).allowed


def test_not_principal_exempts_a_session_only_when_session_role_and_account_are_listed() -> None:
    role_only = {"AWS": [DEVOPS_ROLE]}
    everything = {"AWS": [DEVOPS, DEVOPS_ROLE, f"arn:aws:iam::{ACCOUNT}:root"]}
    for exempt, outcome in ((role_only, "ExplicitlyDenied"), (everything, "Allowed")):
        registry = _policy(
            {"Effect": "Deny", "NotPrincipal": exempt, "Action": "ecr:DeleteRepository", "Resource": "*"}
        )
        decision = _decide(DEVOPS, "ecr:DeleteRepository", identity_policies=[ECR_ALL], registry_policy=registry)
        assert decision.outcome == outcome
        assert decision.deciding[0].kind == ("registry" if outcome == "ExplicitlyDenied" else "identity")


def test_for_all_values_is_true_when_the_key_is_missing_and_for_any_value_is_not() -> None:
    def tagging(set_operator: str) -> dict[str, Any]:
        return _policy(
            {
                "Effect": "Allow",
                "Action": "ecr:TagResource",
                "Resource": "*",
                "Condition": {f"{set_operator}:StringEquals": {"aws:TagKeys": ["team", "owner"]}},
            }
        )

    all_values, any_value = tagging("ForAllValues"), tagging("ForAnyValue")
    assert _decide(DEV, "ecr:TagResource", identity_policies=[all_values]).allowed
    assert not _decide(DEV, "ecr:TagResource", identity_policies=[any_value]).allowed
    for context, expect_all, expect_any in (
        ({"aws:TagKeys": ["team"]}, True, True),
        ({"aws:TagKeys": ["team", "cost"]}, False, True),
        ({"aws:TagKeys": ["cost"]}, False, False),
    ):
        assert _decide(DEV, "ecr:TagResource", identity_policies=[all_values], context=context).allowed is expect_all
        assert _decide(DEV, "ecr:TagResource", identity_policies=[any_value], context=context).allowed is expect_any


def test_if_exists_negated_operators_and_null_with_missing_keys() -> None:
    def allow_if(condition: dict[str, Any]) -> list[dict[str, Any]]:
        return [_policy({"Effect": "Allow", "Action": "ecr:ListImages", "Resource": "*", "Condition": condition})]

    org = "aws:PrincipalOrgID"
    cases = [
        ({"StringEqualsIfExists": {org: "o-1"}}, None, True),
        ({"StringEqualsIfExists": {org: "o-1"}}, "o-2", False),
        ({"StringEquals": {org: "o-1"}}, None, False),
        ({"StringNotEquals": {org: "o-1"}}, None, True),
        ({"StringNotEquals": {org: ["o-1", "o-2"]}}, "o-2", False),
        ({"ForAnyValue:StringNotEquals": {org: "o-1"}}, None, False),
        ({"Null": {org: "true"}}, None, True),
        ({"Null": {org: "false"}}, None, False),
        ({"Null": {org: "false"}}, "o-1", True),
    ]
    for condition, value, expected in cases:
        context = {org: value} if value else None
        decision = _decide(DEV, "ecr:ListImages", identity_policies=allow_if(condition), context=context)
        assert decision.allowed is expected, (condition, value)


def test_values_are_ored_and_keys_and_operators_are_anded() -> None:
    condition = {
        "StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:RequestedRegion": ["eu-west-1", REGION]},
        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/dev-*"},
        "Bool": {"aws:SecureTransport": True},
        "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
        "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
        "IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
        "StringEqualsIgnoreCase": {"aws:PrincipalTag/Team": "PLATFORM"},
        "StringNotLike": {"aws:UserAgent": "*curl*"},
    }
    identity = [_policy({"Effect": "Allow", "Action": "ecr:ListImages", "Resource": "*", "Condition": condition})]
    context = {
        "aws:RequestedRegion": REGION,
        "aws:SecureTransport": True,
        "aws:MultiFactorAuthAge": 60,
        "aws:CurrentTime": "2026-05-01T00:00:00Z",
        "aws:SourceIp": "203.0.113.9",
        "aws:PrincipalTag/Team": "platform",
        "aws:UserAgent": "aws-cli/2",
    }
    assert _decide(DEV, "ecr:ListImages", identity_policies=identity, context=context).allowed
    for key, value in (
        ("aws:RequestedRegion", "ap-south-1"),
        ("aws:SourceIp", "198.51.100.1"),
        ("aws:MultiFactorAuthAge", "7200"),
        ("aws:UserAgent", "curl/8"),
        ("aws:CurrentTime", "2031-01-01T00:00:00Z"),
    ):
        assert not _decide(DEV, "ecr:ListImages", identity_policies=identity, context={**context, key: value}).allowed
    assert not _decide(DEVOPS, "ecr:ListImages", identity_policies=identity, context=context).allowed


def test_principal_arn_of_a_session_is_the_role_arn_and_context_can_override() -> None:
    deny = _policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "ecr:*",
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": DEVOPS_ROLE}},
        }
    )
    assert _decide(DEVOPS, "ecr:ListImages", identity_policies=[ECR_ALL], registry_policy=deny).outcome == (
        "ExplicitlyDenied"
    )
    overridden = {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ops/devops-role"}
    assert _decide(
        DEVOPS, "ecr:ListImages", identity_policies=[ECR_ALL], registry_policy=deny, context=overridden
    ).allowed


def test_wildcards_in_actions_are_case_insensitive_and_arn_wildcards_stay_in_their_segment() -> None:
    def allow_on(resource: str, action: str = "ECR:describe?mages") -> list[dict[str, Any]]:
        return [_policy({"Effect": "Allow", "Action": action, "Resource": resource})]

    assert _decide(DEV, "ecr:DescribeImages", identity_policies=allow_on("*")).allowed
    assert _decide(DEV, "ecr:DescribeImages", identity_policies=allow_on("arn:aws:ecr:*:*:repository/team-?/*")).allowed
    assert not _decide(DEV, "ecr:DescribeImages", identity_policies=allow_on("arn:aws:ecr:*:repository/*")).allowed
    assert not _decide(DEV, "ecr:DescribeImages", identity_policies=allow_on("arn:aws:ecr:*:*:repository/web")).allowed
    assert not _decide(DEV, "ecr:DescribeRepositories", identity_policies=allow_on("*")).allowed


def test_account_root_and_service_principals() -> None:
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert _decide(root, "ecr:DeleteRepository").allowed
    deny_all = _policy({"Sid": "Freeze", "Effect": "Deny", "Principal": "*", "Action": "ecr:Delete*", "Resource": "*"})
    assert _decide(ACCOUNT, "ecr:DeleteRepository", registry_policy=deny_all).outcome == "ExplicitlyDenied"
    service = "pullthroughcache.ecr.amazonaws.com"
    grant = _policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "ecr:BatchImportUpstreamImage",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    )
    assert _decide(service, "ecr:BatchImportUpstreamImage", registry_policy=grant).allowed
    assert not _decide(service, "ecr:BatchImportUpstreamImage").allowed
    assert not _decide(
        service,
        "ecr:BatchImportUpstreamImage",
        registry_policy=_policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "ecr:*", "Resource": "*"}),
    ).allowed


def test_several_denies_are_all_reported() -> None:
    deny = {"Effect": "Deny", "Action": "ecr:DeleteRepository", "Resource": "*"}
    decision = _decide(DEV, "ecr:DeleteRepository", identity_policies={"a": _policy(deny), "b": _policy(deny)})
    assert [ref.policy_name for ref in decision.deciding] == ["a", "b"]
    assert "(and 1 more Deny statement)" in decision.explanation


def test_policies_compile_once_per_text() -> None:
    text = '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}}'
    assert compile_policy(text) is compile_policy(text)
    compiled = compile_policy(text)
    assert compile_policy(compiled) is compiled
    assert _decide(DEV, "ecr:PutImage", identity_policies=[compiled]).allowed


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"principal": "bob"}, "principal"),
        ({"scope": "V3"}, "scope"),
        ({"resource_account": "1234"}, "resource_account"),
        ({"identity_policies": ECR_ALL}, "identity_policies"),
        ({"identity_policies": ["{oops"]}, "policy"),
        (
            {
                "identity_policies": [
                    _policy({"Effect": "Allow", "Action": "ecr:*", "Condition": {"StringEqualz": {"a": "b"}}})
                ]
            },
            "Statement[0].Condition.StringEqualz",
        ),
    ],
)
def test_bad_input_raises_validation_error(kwargs: dict[str, Any], field: str) -> None:
    arguments = {"principal": DEV, "action": "ecr:ListImages", "resource": REPO, "resource_account": ACCOUNT, **kwargs}
    with pytest.raises(ValidationError) as raised:
        simulate(**arguments)
    assert raised.value.field == field
