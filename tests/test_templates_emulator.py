"""Repository creation templates in the emulator, through boto3 and the AWS CLI: validation, errors, pages."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from tests.conftest import aws_cli
from tests.template_helpers import ACCOUNT, KMS_KEY, LIFECYCLE, REPOSITORY_POLICY, ROLE, create


def code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_create_returns_every_field_with_the_emulator_clock(registry):
    ecr = registry.client()
    template = create(
        ecr,
        "team/app",
        description="images pulled for team app",
        appliedFor=["PULL_THROUGH_CACHE", "REPLICATION"],
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest*"}],
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": KMS_KEY},
        resourceTags=[{"Key": "team", "Value": "app"}],
        lifecyclePolicy=LIFECYCLE,
        repositoryPolicy=REPOSITORY_POLICY,
        customRoleArn=ROLE,
    )
    created = template.pop("createdAt")
    assert created == template.pop("updatedAt") == registry.emulator.now()
    assert template == {
        "prefix": "team/app",
        "description": "images pulled for team app",
        "appliedFor": ["PULL_THROUGH_CACHE", "REPLICATION"],
        "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest*"}],
        "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": KMS_KEY},
        "resourceTags": [{"Key": "team", "Value": "app"}],
        "lifecyclePolicy": LIFECYCLE,
        "repositoryPolicy": REPOSITORY_POLICY,
        "customRoleArn": ROLE,
    }
    [described] = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert described["prefix"] == "team/app" and described["createdAt"] == created


def test_omitted_settings_read_back_as_aws_defaults(registry):
    template = create(registry.client(), "ROOT", appliedFor=["CREATE_ON_PUSH"])
    assert template["imageTagMutability"] == "MUTABLE"
    assert template["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert not {"description", "lifecyclePolicy", "repositoryPolicy", "customRoleArn"} & set(template)


@pytest.mark.parametrize(
    ("fields", "error", "fragment"),
    [
        ({"appliedFor": []}, "InvalidParameterException", "at 'appliedFor'"),
        ({"appliedFor": ["ON_PULL"]}, "ValidationException", "enum value set"),
        ({"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION"}, "InvalidParameterException", "can't be null"),
        (
            {"imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "v*"}]},
            "InvalidParameterException",
            "must be null when imageTagMutability is set as MUTABLE",
        ),
        (
            {
                "imageTagMutability": "MUTABLE_WITH_EXCLUSION",
                "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": f"v{i}"} for i in range(6)],
            },
            "ValidationException",
            "length less than or equal to 5",
        ),
        (
            {
                "imageTagMutability": "MUTABLE_WITH_EXCLUSION",
                "imageTagMutabilityExclusionFilters": [{"filterType": "REGEX", "filter": "v.*"}],
            },
            "ValidationException",
            "enum value set: [WILDCARD]",
        ),
        (
            {"encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": "alias/my-key"}},
            "ValidationException",
            "regular expression pattern",
        ),
        (
            {"encryptionConfiguration": {"encryptionType": "AES256", "kmsKey": KMS_KEY}},
            "InvalidParameterException",
            "kmsKey is only allowed with KMS",
        ),
        ({"resourceTags": [{"Key": "k" * 129, "Value": "v"}]}, "InvalidParameterException", "1 to 128"),
        ({"resourceTags": [{"Key": "k", "Value": "v" * 257}]}, "InvalidParameterException", "at most 256"),
        ({"lifecyclePolicy": '{"rules": [{"rulePriority": 1}]}'}, "InvalidParameterException", "rules[0]"),
        ({"lifecyclePolicy": "x" * 30721}, "ValidationException", "less than or equal to 30720"),
        ({"repositoryPolicy": "{not json"}, "InvalidParameterException", "not valid JSON"),
        (
            {"repositoryPolicy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "ecr:*"}]})},
            "InvalidParameterException",
            "Principal",
        ),
        ({"repositoryPolicy": "x" * 10241}, "ValidationException", "less than or equal to 10240"),
        ({"customRoleArn": "arn:aws:iam::999999999999:role/r"}, "InvalidParameterException", ACCOUNT),
        ({"customRoleArn": f"arn:aws:iam::{ACCOUNT}:user/u"}, "InvalidParameterException", "IAM role ARN"),
        ({"description": "d" * 257}, "ValidationException", "less than or equal to 256"),
    ],
)
def test_invalid_templates_get_the_aws_error(registry, fields, error, fragment):
    with pytest.raises(ClientError) as excinfo:
        create(registry.client(), **fields)
    assert code(excinfo) == error
    assert fragment in str(excinfo.value)
    assert registry.client().describe_repository_creation_templates()["repositoryCreationTemplates"] == []


@pytest.mark.parametrize("prefix", ["Prod", "prod//x", "-prod", "ROOT/"])
def test_prefix_follows_the_model_pattern(registry, prefix):
    with pytest.raises(ClientError) as excinfo:
        create(registry.client(), prefix)
    assert code(excinfo) == "ValidationException"
    assert "regular expression pattern" in str(excinfo.value)


def test_prefixes_are_unique_with_an_assumed_trailing_slash(registry):
    ecr = registry.client()
    create(ecr, "prod")
    for prefix in ("prod", "prod/"):
        with pytest.raises(ClientError) as excinfo:
            create(ecr, prefix)
        assert code(excinfo) == "TemplateAlreadyExistsException"
    create(ecr, "prod/team")
    create(ecr, "ROOT")


def test_update_changes_only_the_fields_given(registry):
    ecr = registry.client()
    create(
        ecr,
        description="first",
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "dev-*"}],
        lifecyclePolicy=LIFECYCLE,
    )
    registry.emulator.advance(hours=3)
    updated = ecr.update_repository_creation_template(prefix="prod", appliedFor=["REPLICATION", "CREATE_ON_PUSH"])[
        "repositoryCreationTemplate"
    ]
    assert updated["appliedFor"] == ["REPLICATION", "CREATE_ON_PUSH"]
    assert updated["description"] == "first" and updated["lifecyclePolicy"] == LIFECYCLE
    assert updated["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": "dev-*"}]
    assert updated["updatedAt"] - updated["createdAt"] == timedelta(hours=3)
    cleared = ecr.update_repository_creation_template(prefix="prod", description="", imageTagMutability="IMMUTABLE")[
        "repositoryCreationTemplate"
    ]
    assert "description" not in cleared and "imageTagMutabilityExclusionFilters" not in cleared
    assert cleared["imageTagMutability"] == "IMMUTABLE" and cleared["lifecyclePolicy"] == LIFECYCLE


def test_update_validates_the_result(registry):
    ecr = registry.client()
    create(ecr)
    with pytest.raises(ClientError) as excinfo:
        ecr.update_repository_creation_template(prefix="prod", imageTagMutability="MUTABLE_WITH_EXCLUSION")
    assert code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecr.update_repository_creation_template(prefix="prod", appliedFor=[])
    assert code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecr.update_repository_creation_template(prefix="dev", description="x")
    assert code(excinfo) == "TemplateNotFoundException"


def test_delete_returns_the_template_then_it_is_gone(registry):
    ecr = registry.client()
    create(ecr, "prod/", description="bye")
    deleted = ecr.delete_repository_creation_template(prefix="prod")["repositoryCreationTemplate"]
    assert deleted["prefix"] == "prod/" and deleted["description"] == "bye"
    with pytest.raises(ClientError) as excinfo:
        ecr.delete_repository_creation_template(prefix="prod")
    assert code(excinfo) == "TemplateNotFoundException"


def test_describe_filters_by_prefix_and_pages(registry):
    ecr = registry.client()
    for prefix in ("c", "a", "ROOT", "b/x", "b"):
        create(ecr, prefix)
    every = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert [t["prefix"] for t in every] == ["ROOT", "a", "b", "b/x", "c"]
    some = ecr.describe_repository_creation_templates(prefixes=["b", "c/", "zzz"])["repositoryCreationTemplates"]
    assert [t["prefix"] for t in some] == ["b", "c"]
    first = ecr.describe_repository_creation_templates(maxResults=2)
    assert [t["prefix"] for t in first["repositoryCreationTemplates"]] == ["ROOT", "a"]
    rest = ecr.describe_repository_creation_templates(maxResults=2, nextToken=first["nextToken"])
    assert [t["prefix"] for t in rest["repositoryCreationTemplates"]] == ["b", "b/x"]
    pages = ecr.get_paginator("describe_repository_creation_templates").paginate(PaginationConfig={"PageSize": 2})
    assert [len(page["repositoryCreationTemplates"]) for page in pages] == [2, 2, 1]
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_repository_creation_templates(maxResults=1001)
    assert code(excinfo) == "ValidationException"
    with pytest.raises(ParamValidationError):
        ecr.describe_repository_creation_templates(maxResults=0)
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_repository_creation_templates(nextToken="%%%")
    assert code(excinfo) == "InvalidParameterException"


def test_template_count_is_limited(registry):
    ecr = registry.client()
    for index in range(100):
        create(ecr, f"p{index}")
    # botocore retries LimitExceededException as throttling; a single attempt shows the error at once.
    once = registry.session.client(
        "ecr", endpoint_url=registry.endpoint_url, config=Config(retries={"max_attempts": 1})
    )
    with pytest.raises(ClientError) as excinfo:
        create(once, "one-too-many")
    assert code(excinfo) == "LimitExceededException"


def test_templates_are_per_registry(registry):
    create(registry.client())
    other = registry.client(region="eu-west-1")
    assert other.describe_repository_creation_templates()["repositoryCreationTemplates"] == []


def test_aws_cli_creates_and_describes_a_template(aws_env):
    created = aws_cli(
        "ecr",
        "create-repository-creation-template",
        "--prefix",
        "prod",
        "--applied-for",
        "CREATE_ON_PUSH",
        "--image-tag-mutability",
        "IMMUTABLE",
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["repositoryCreationTemplate"]["imageTagMutability"] == "IMMUTABLE"
    described = aws_cli("ecr", "describe-repository-creation-templates", "--prefixes", "prod")
    assert described.returncode == 0, described.stderr
    [template] = json.loads(described.stdout)["repositoryCreationTemplates"]
    assert template["appliedFor"] == ["CREATE_ON_PUSH"]
    again = aws_cli("ecr", "create-repository-creation-template", "--prefix", "prod", "--applied-for", "REPLICATION")
    assert again.returncode != 0 and "TemplateAlreadyExistsException" in again.stderr
