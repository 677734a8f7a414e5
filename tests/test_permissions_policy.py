"""RegistryPolicy round-trips AWS JSON exactly; builders produce the documented statements."""

from __future__ import annotations

import json

import pytest

from ecrlab.errors import ValidationError
from ecrlab.permissions import (
    RegistryPolicy,
    allow_pull_through_cache,
    allow_replication_from,
    merge,
    restrict_repository_admin,
)

ACCOUNT = "123456789012"

# Real-world shapes: AWS's replication and pull through cache examples, a V2 registry policy with a
# Deny and condition, and a single-statement object with keys in unusual order and string forms.
REAL_WORLD = [
    """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReplicationAccessCrossAccount",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::source_account_id:root"},
      "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
      "Resource": "arn:aws:ecr:us-west-2:destination_account_id:repository/*"
    }
  ]
}""",
    """{"Version":"2012-10-17","Statement":[{"Sid":"PullThroughCacheFromReadOnlyRole","Effect":"Allow",
"Principal":{"AWS":"arn:aws:iam::111122223333:role/my-role"},"Action":["ecr:CreateRepository",
"ecr:BatchImportUpstreamImage"],"Resource":"arn:aws:ecr:us-east-1:111122223333:repository/ecr-public/*"}]}""",
    """{"Version": "2012-10-17", "Id": "baseline", "Statement": [
  {"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "ecr:*",
   "Resource": ["arn:aws:ecr:eu-west-1:123456789012:repository/*"],
   "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": ["o-a1b2c3d4e5"]},
                 "Bool": {"aws:PrincipalIsAWSService": "false"}}},
  {"Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:aws:iam::444455556666:role/ci"]},
   "NotAction": "ecr:Delete*", "Resource": "arn:aws:ecr:eu-west-1:123456789012:repository/shared/*"}]}""",
    """{"Statement": {"Resource": "*", "Action": "ecr:GetAuthorizationToken", "Effect": "Allow",
"Principal": {"Service": "pullthroughcache.ecr.amazonaws.com"}}, "Version": "2012-10-17"}""",
]


def _key_orders(value: object) -> list[list[str]]:
    """Every object's key order, depth first, to compare layouts and not only contents."""
    if isinstance(value, dict):
        return [list(value), *[o for v in value.values() for o in _key_orders(v)]]
    if isinstance(value, list):
        return [o for v in value for o in _key_orders(v)]
    return []


@pytest.mark.parametrize("text", REAL_WORLD)
def test_round_trip_keeps_document_key_order_and_string_forms(text: str) -> None:
    policy = RegistryPolicy.from_json(text)
    original = json.loads(text)
    for rendered in (policy.to_json(), policy.to_json(indent=2), policy.to_api()["policyText"]):
        assert json.loads(rendered) == original
        assert _key_orders(json.loads(rendered)) == _key_orders(original)
    assert RegistryPolicy.from_json(policy.to_json()) == policy
    assert hash(RegistryPolicy.from_json(policy.to_json())) == hash(policy)
    assert RegistryPolicy.from_api({"registryId": ACCOUNT, "policyText": text}) == policy


def test_single_string_and_list_forms_survive() -> None:
    policy = RegistryPolicy.from_json(REAL_WORLD[2])
    rendered = json.loads(policy.to_json())
    assert rendered["Statement"][0]["Action"] == "ecr:*"
    assert rendered["Statement"][0]["Resource"] == ["arn:aws:ecr:eu-west-1:123456789012:repository/*"]
    assert rendered["Statement"][1]["NotAction"] == "ecr:Delete*"


def test_document_is_read_only_and_to_dict_is_a_copy() -> None:
    policy = RegistryPolicy.from_json(REAL_WORLD[0])
    with pytest.raises(TypeError):
        policy.document["Version"] = "2008-10-17"  # type: ignore[index]
    copy = policy.to_dict()
    copy["Statement"][0]["Effect"] = "Deny"
    assert policy.statements[0].effect == "Allow"


def test_statement_view_normalises_elements() -> None:
    first, second = RegistryPolicy.from_json(REAL_WORLD[2]).statements
    assert first.action == ("ecr:*",)
    assert first.principal == {"*": ("*",)}
    assert first.sid == "DenyOutsideOrg"
    assert second.principal == {"AWS": ("111122223333", "arn:aws:iam::444455556666:role/ci")}
    assert second.not_action == ("ecr:Delete*",)
    assert second.action == ()
    assert (second.sid, second.index) == (None, 1)
    (single,) = RegistryPolicy.from_json(REAL_WORLD[3]).statements
    assert single.resource == ("*",)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("{not json", "policyText"),
        ('["Version"]', "policyText"),
        ('{"Version": "2012-10-17"}', "Statement"),
        ('{"Version": "2012-10-17", "Statement": []}', "Statement"),
        ('{"Statement": [{"Effect": "Alow", "Action": "ecr:*"}]}', "Statement[0].Effect"),
        ('{"Statement": [{"Effect": "Allow"}]}', "Statement[0]"),
        ('{"Statement": [{"Effect": "Allow", "Action": ["ecr:*", 1]}]}', "Statement[0].Action"),
        ('{"Statement": [{"Effect": "Allow", "Action": "ecr:*", "Principal": "everyone"}]}', "Statement[0].Principal"),
    ],
)
def test_malformed_policies_raise_validation_error_naming_the_field(text: str, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        RegistryPolicy.from_json(text)
    assert raised.value.field == field


def test_policy_over_the_put_registry_policy_limit_is_rejected() -> None:
    statements = [
        {"Sid": f"S{i}", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"} for i in range(200)
    ]
    with pytest.raises(ValidationError, match="at most 10240"):
        RegistryPolicy({"Version": "2012-10-17", "Statement": statements})


def test_restrict_repository_admin_is_an_explicit_deny_for_everyone_else() -> None:
    policy = restrict_repository_admin(ACCOUNT, ["arn:aws:iam::123456789012:role/devops-role"], region="us-east-1")
    assert policy.to_dict() == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyRepositoryAdminExceptListed",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["ecr:CreateRepository", "ecr:DeleteRepository"],
                "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/devops-role"]}},
            }
        ],
    }


def test_restrict_repository_admin_covers_registry_level_actions_with_resource_star() -> None:
    policy = restrict_repository_admin(
        ACCOUNT, ["arn:aws:iam::123456789012:role/admin"], actions=("ecr:PutRegistryPolicy", "ecr:DeleteRepository")
    )
    assert policy.statements[0].resource == ("*",)
    assert restrict_repository_admin(ACCOUNT, ["arn:aws:iam::123456789012:role/a"]).statements[0].resource == (
        "arn:aws:ecr:*:123456789012:repository/*",
    )


@pytest.mark.parametrize(
    ("allowed", "actions", "field"),
    [
        ([], ("ecr:CreateRepository",), "allowed_principal_arns"),
        (
            ["arn:aws:sts::123456789012:assumed-role/devops-role/bob"],
            ("ecr:CreateRepository",),
            "allowed_principal_arns",
        ),
        (["arn:aws:iam::123456789012:role/devops-role"], ("ecr:CreateRepo",), "actions"),
    ],
)
def test_restrict_repository_admin_refuses_lockouts_and_unmatchable_input(
    allowed: list[str], actions: tuple[str, ...], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        restrict_repository_admin(ACCOUNT, allowed, actions)
    assert raised.value.field == field


def test_allow_replication_from_matches_the_aws_example() -> None:
    policy = allow_replication_from("444455556666", ACCOUNT, "us-west-2")
    assert policy.to_dict()["Statement"] == [
        {
            "Sid": "ReplicationAccessCrossAccount",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
            "Resource": "arn:aws:ecr:us-west-2:123456789012:repository/*",
        }
    ]


def test_allow_replication_from_several_accounts_without_create_and_in_china() -> None:
    statement = allow_replication_from(
        ["444455556666", "777788889999"], ACCOUNT, "cn-north-1", create_repository=False
    ).to_dict()["Statement"][0]
    assert statement["Principal"] == {"AWS": ["arn:aws-cn:iam::444455556666:root", "arn:aws-cn:iam::777788889999:root"]}
    assert statement["Action"] == ["ecr:ReplicateImage"]
    assert statement["Resource"] == "arn:aws-cn:ecr:cn-north-1:123456789012:repository/*"


@pytest.mark.parametrize(
    ("sources", "account", "region", "field"),
    [
        ([ACCOUNT], ACCOUNT, "us-east-1", "source_account_ids"),
        (["4444"], ACCOUNT, "us-east-1", "source_account_ids"),
        ([], ACCOUNT, "us-east-1", "source_account_ids"),
        (["444455556666"], "12345", "us-east-1", "account_id"),
        (["444455556666"], ACCOUNT, "mars-north-1", "region"),
    ],
)
def test_allow_replication_from_validates(sources: list[str], account: str, region: str, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        allow_replication_from(sources, account, region)
    assert raised.value.field == field


def test_allow_pull_through_cache_matches_the_aws_example() -> None:
    policy = allow_pull_through_cache(
        ["arn:aws:iam::111122223333:role/my-role"], "111122223333", "us-east-1", "ecr-public"
    )
    assert policy.to_dict()["Statement"] == [
        {
            "Sid": "PullThroughCacheEcrPublic",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:role/my-role"},
            "Action": ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"],
            "Resource": "arn:aws:ecr:us-east-1:111122223333:repository/ecr-public/*",
        }
    ]
    root = allow_pull_through_cache(["arn:aws:iam::111122223333:role/r"], "111122223333", "us-east-1", "ROOT")
    assert root.statements[0].resource == ("arn:aws:ecr:us-east-1:111122223333:repository/*",)


@pytest.mark.parametrize(
    ("principals", "prefix", "field"),
    [(["arn:aws:iam::111122223333:role/r"], "Docker_Hub", "prefix"), (["r"], "docker-hub", "principal_arns")],
)
def test_allow_pull_through_cache_validates(principals: list[str], prefix: str, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        allow_pull_through_cache(principals, "111122223333", "us-east-1", prefix)
    assert raised.value.field == field


def test_merge_replaces_statements_with_the_same_sid_in_place() -> None:
    admin = restrict_repository_admin(ACCOUNT, ["arn:aws:iam::123456789012:role/devops-role"])
    old = allow_replication_from("444455556666", ACCOUNT, "us-east-1")
    new = allow_replication_from("777788889999", ACCOUNT, "us-east-1")
    ptc = allow_pull_through_cache(["arn:aws:iam::123456789012:role/ci"], ACCOUNT, "us-east-1", "ecr-public")
    merged = merge(admin, old, ptc, new, admin)
    assert [s.sid for s in merged.statements] == [
        "DenyRepositoryAdminExceptListed",
        "ReplicationAccessCrossAccount",
        "PullThroughCacheEcrPublic",
    ]
    assert merged.statements[1].principal == {"AWS": ("arn:aws:iam::777788889999:root",)}
    assert merged.to_dict()["Version"] == "2012-10-17"


def test_merge_keeps_one_copy_of_identical_statements_without_sid() -> None:
    text = '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "ecr:ListImages"}}'
    policy = RegistryPolicy.from_json(text)
    assert len(merge(policy, policy).statements) == 1
    with pytest.raises(ValidationError):
        merge()
