"""lint() reports what AWS rejects and what silently does not do what the author meant."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecrlab.errors import ValidationError
from ecrlab.permissions import (
    Finding,
    RegistryPolicy,
    allow_pull_through_cache,
    allow_replication_from,
    lint,
    restrict_repository_admin,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
REPOS = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*"
# The seed registry's policy: meant to keep repository admin to devops-role, but Allow-only.
SEED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DevopsAdmin",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/devops-role"},
            "Action": ["ecr:CreateRepository", "ecr:DeleteRepository", "ecr:PutRegistryPolicy"],
            "Resource": REPOS,
        }
    ],
}


def _statement(**elements: Any) -> dict[str, Any]:
    base = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
        "Action": "ecr:ReplicateImage",
        "Resource": REPOS,
    }
    base.update(elements)
    return {"Version": "2012-10-17", "Statement": [{k: v for k, v in base.items() if v is not None}]}


def _codes(findings: list[Finding]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in findings:
        found.setdefault(f.code, []).append(f.path)
    return found


def _lint(policy: Any, **kwargs: Any) -> dict[str, list[str]]:
    return _codes(lint(policy, account_id=ACCOUNT, region=REGION, **kwargs))


def test_seed_allow_only_policy_restricts_nobody() -> None:
    findings = lint(SEED)
    (warning,) = [f for f in findings if f.code == "allow-restricts-nobody"]
    assert warning.severity == "warning"
    assert warning.path == "Statement[0].Principal.AWS"
    assert "If either the identity-based policy or the resource-based policy within the same account" in warning.message
    assert "explicit Deny" in warning.message
    assert not [f for f in findings if f.severity == "error"]


def test_seed_policy_under_v1_errors_on_actions_outside_the_v1_scope() -> None:
    findings = [f for f in lint(SEED, scope="V1") if f.code == "v1-action"]
    assert [f.path for f in findings] == ["Statement[0].Action[1]", "Statement[0].Action[2]"]
    assert all(f.severity == "error" for f in findings)
    assert "InvalidParameterException 'Invalid registry policy provided'" in findings[0].message
    assert "ecr:DeleteRepository" in findings[0].message


def test_registry_level_action_on_repository_resource_never_applies() -> None:
    assert _lint(SEED)["registry-action-on-repository"] == ["Statement[0].Action[2]"]


def test_builders_produce_clean_policies() -> None:
    restrict = restrict_repository_admin(ACCOUNT, ["arn:aws:iam::123456789012:role/devops-role"], region=REGION)
    replication = allow_replication_from("444455556666", ACCOUNT, REGION)
    ptc = allow_pull_through_cache(["arn:aws:iam::123456789012:role/ci"], ACCOUNT, REGION, "ecr-public")
    assert lint(restrict, account_id=ACCOUNT, region=REGION) == []
    for scope in ("V1", "V2"):
        assert lint(replication, scope=scope, account_id=ACCOUNT, region=REGION) == []
        assert [f.code for f in lint(ptc, scope=scope, account_id=ACCOUNT, region=REGION)] == ["allow-grants-only"]


def test_text_dict_and_registry_policy_lint_alike() -> None:
    as_text = lint(json.dumps(SEED))
    assert as_text == lint(SEED) == lint(RegistryPolicy(SEED))


def test_invalid_json_is_one_error_at_the_root() -> None:
    (finding,) = lint('{"Version": "2012-10-17", "Statement": [}')
    assert (finding.severity, finding.code, finding.path) == ("error", "invalid-json", "$")
    assert "line 1" in finding.message


def test_size_over_10240_characters() -> None:
    text = json.dumps(SEED, indent=2) + " " * 10240
    assert _codes(lint(text))["policy-too-large"] == ["$"]


@pytest.mark.parametrize(
    ("version", "code", "severity"),
    [
        (None, "missing-version", "warning"),
        ("2008-10-17", "old-version", "warning"),
        ("2012-10-16", "invalid-version", "error"),
    ],
)
def test_version(version: str | None, code: str, severity: str) -> None:
    policy = _statement()
    policy.pop("Version")
    if version:
        policy["Version"] = version
    (finding,) = [f for f in lint(policy) if f.code == code]
    assert (finding.severity, finding.path) == (severity, "Version")


def test_unknown_actions_are_checked_against_botocore_with_a_suggestion() -> None:
    policy = _statement(Action=["ecr:CreateRepo", "ecr:Describe*", "ecr:Zz*", "ecr:replicateimage", "s3:GetObject"])
    findings = lint(policy)
    unknown = [f for f in findings if f.code == "unknown-action"]
    assert [f.path for f in unknown] == ["Statement[0].Action[0]", "Statement[0].Action[2]"]
    assert "Did you mean 'ecr:CreateRepository'?" in unknown[0].message
    assert _codes(findings)["non-ecr-action"] == ["Statement[0].Action[4]"]


def test_wildcards_under_v1_name_what_they_cover() -> None:
    findings = lint(_statement(Action=["ecr:Replicate*", "ecr:Get*"]), scope="V1")
    (v1,) = [f for f in findings if f.code == "v1-action"]
    assert v1.path == "Statement[0].Action[1]"
    assert "also covers" in v1.message
    assert _codes(lint(_statement(Action=None, NotAction="ecr:Get*"), scope="V1"))["v1-action"] == [
        "Statement[0].NotAction"
    ]


def test_ecr_star_under_v1_is_accepted_with_a_best_practice_warning() -> None:
    """The V1-era registry-permissions page: "While it is possible to add the ecr:* action to a private registry
    permissions policy, it is considered best practice to only add the specific actions required"."""
    findings = lint(_statement(Action=["ecr:ReplicateImage", "ecr:*"]), scope="V1")
    assert "v1-action" not in _codes(findings)
    (wildcard,) = [f for f in findings if f.code == "v1-wildcard"]
    assert wildcard.path == "Statement[0].Action[1]" and wildcard.severity == "warning"


def test_paths_index_only_lists() -> None:
    single = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Principal": "*", "Action": "ecr:Nope", "Resource": REPOS},
    }
    assert _codes(lint(single))["unknown-action"] == ["Statement.Action"]


@pytest.mark.parametrize(
    ("resource", "code"),
    [
        ("arn:aws:ecr:us-east-1:999999999999:repository/*", "resource-account"),
        ("arn:aws:ecr:eu-west-1:123456789012:repository/*", "resource-region"),
        ("arn:aws:s3:::bucket", "resource-service"),
        ("arn:aws-cn:ecr:us-east-1:123456789012:repository/*", "resource-partition"),
        ("arn:aws:ecr:us-east-1:123456789012:repo/x", "resource-not-repository"),
        ("repository/x", "resource-not-arn"),
        ("*", "resource-star"),
    ],
)
def test_resource_problems(resource: str, code: str) -> None:
    assert list(_lint(_statement(Resource=[REPOS, resource]))) == [code]


def test_resources_that_cover_this_registry_are_fine() -> None:
    for resource in (
        "arn:aws:ecr:*:123456789012:repository/team-?/*",
        "arn:aws:ecr:us-east-1:*:repository/*",
        "arn:aws:ecr:us-east-1:123456789012:repo*",
    ):
        assert _lint(_statement(Resource=resource)) == {}
    assert _lint(_statement(Effect="Deny", Principal="*", Resource="*")) == {}


@pytest.mark.parametrize(
    ("principal", "code"),
    [
        ({"AWS": "bob"}, "principal-malformed"),
        ({"AWS": "arn:aws:iam::123456789012:roel/x"}, "principal-malformed"),
        ({"AWS": "arn:aws:iam::444455556666:role/ci-*"}, "principal-wildcard"),
        ({"Service": "ecr"}, "service-principal-malformed"),
        ({"Federated": "cognito-identity.amazonaws.com"}, "principal-kind-unused"),
        ({"Robot": "x"}, "principal-kind-unknown"),
        ("everyone", "principal-shape"),
    ],
)
def test_malformed_principals(principal: Any, code: str) -> None:
    assert code in _lint(_statement(Principal=principal))


def test_well_formed_principals() -> None:
    principals = {
        "AWS": [
            "*",
            "444455556666",
            "arn:aws:iam::444455556666:root",
            "arn:aws:sts::444455556666:assumed-role/ci/job",
            "arn:aws:iam::444455556666:user/a/b",
        ],
        "Service": "pullthroughcache.ecr.amazonaws.com",
    }
    assert _lint(_statement(Principal=principals)) == {}


def test_statement_shape_problems() -> None:
    policy = _statement(Sid="A", Effect="Alow", Principal=None, Bogus=1)
    policy["Statement"].append(
        {"Sid": "A", "Effect": "Deny", "Principal": "*", "Action": "ecr:*", "NotAction": "ecr:Get*", "Resource": REPOS}
    )
    policy["Statement"].append("not a statement")
    codes = _lint(policy)
    assert codes["invalid-effect"] == ["Statement[0].Effect"]
    assert codes["missing-principal"] == ["Statement[0]"]
    assert codes["unknown-element"] == ["Statement[0].Bogus"]
    assert codes["duplicate-sid"] == ["Statement[1].Sid"]
    assert codes["conflicting-elements"] == ["Statement[1]"]
    assert codes["statement-not-object"] == ["Statement[2]"]


def test_not_principal_is_discouraged() -> None:
    codes = _lint(_statement(Effect="Deny", Principal=None, NotPrincipal={"AWS": "arn:aws:iam::123456789012:root"}))
    assert codes == {"not-principal": ["Statement[0].NotPrincipal"]}


def test_condition_problems_point_at_operator_key_and_value() -> None:
    condition = {
        "StringEqualz": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/x"},
        "Bool": {"aws:SecureTransport": "yes"},
        "NumericLessThan": {"aws:MultiFactorAuthAge": ["3600", "abc"]},
        "StringEquals": {"aws:principalarn": "arn:aws:iam::123456789012:role/x", "aws:PrincipalOrgId2": "o-1"},
        "ArnLike": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
        "ForAllValues:StringEquals": {"aws:PrincipalAccount": "123456789012"},
        "StringLike": {"aws:TagKeys": "team"},
        "DateGreaterThan": {"aws:CurrentTime": "2025-01-31T12:00:00Z"},
        "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "300.0.0.1"]},
        "NullIfExists": {"aws:PrincipalTag/team": "true"},
    }
    findings = lint(_statement(Condition=condition))
    codes = _codes(findings)
    base = "Statement[0].Condition"
    assert codes["condition-operator-unknown"] == [f"{base}.StringEqualz", f"{base}.NullIfExists"]
    assert "Did you mean 'StringEquals'?" in next(f.message for f in findings if f.path == f"{base}.StringEqualz")
    assert codes["condition-value"] == [
        f"{base}.Bool.aws:SecureTransport",
        f"{base}.NumericLessThan.aws:MultiFactorAuthAge[1]",
        f"{base}.ArnLike.aws:PrincipalOrgID",
        f"{base}.IpAddress.aws:SourceIp[1]",
    ]
    assert codes["condition-key-casing"] == [f"{base}.StringEquals.aws:principalarn"]
    assert codes["condition-key-unknown"] == [f"{base}.StringEquals.aws:PrincipalOrgId2"]
    assert codes["condition-type"] == [f"{base}.ArnLike.aws:PrincipalOrgID"]
    assert codes["condition-set-single"] == [f"{base}.ForAllValues:StringEquals.aws:PrincipalAccount"]
    assert codes["condition-multivalued"] == [f"{base}.StringLike.aws:TagKeys"]
    severities = {f.code: f.severity for f in findings}
    assert severities["condition-key-casing"] == "info"
    assert severities["condition-operator-unknown"] == "error"


def test_service_specific_condition_keys_are_left_alone() -> None:
    condition = {"StringEquals": {"ecr:ResourceTag/team": "a"}, "ForAnyValue:StringLike": {"aws:TagKeys": "t*"}}
    assert _lint(_statement(Condition=condition)) == {}


def test_scope_must_be_v1_or_v2() -> None:
    with pytest.raises(ValidationError):
        lint(SEED, scope="V3")
