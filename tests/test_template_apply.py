"""Creating a repository from a template as ECR does for you; a manual CreateRepository never uses one."""

from __future__ import annotations

import pytest
from moto.ecr.models import ecr_backends

from ecrlab.emulator.templates_operations import TemplateApplicationError, create_repository_from_template, template_for
from tests.template_helpers import ACCOUNT, KMS_KEY, LIFECYCLE, REPOSITORY_POLICY, ROLE, create


@pytest.fixture
def backend(registry):
    """moto's backend of the embedded emulator's demo registry (the emulator runs in this process)."""
    return ecr_backends[ACCOUNT][registry.region]


def describe(registry, name: str) -> dict:
    return registry.client().describe_repositories(repositoryNames=[name])["repositories"][0]


def assert_no_policies(ecr, name: str) -> None:
    with pytest.raises(ecr.exceptions.LifecyclePolicyNotFoundException):
        ecr.get_lifecycle_policy(repositoryName=name)
    with pytest.raises(ecr.exceptions.RepositoryPolicyNotFoundException):
        ecr.get_repository_policy(repositoryName=name)


def test_every_template_setting_reaches_the_repository(registry, backend):
    ecr = registry.client()
    create(
        ecr,
        "team",
        appliedFor=["PULL_THROUGH_CACHE"],
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}],
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": KMS_KEY},
        resourceTags=[{"Key": "team", "Value": "platform"}],
        lifecyclePolicy=LIFECYCLE,
        repositoryPolicy=REPOSITORY_POLICY,
        customRoleArn=ROLE,
    )
    create_repository_from_template(backend, "team/cache/alpine", "PULL_THROUGH_CACHE")
    repo = describe(registry, "team/cache/alpine")
    assert repo["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert repo["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": "latest"}]
    assert repo["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": KMS_KEY}
    assert ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == [
        {"Key": "team", "Value": "platform"}
    ]
    assert ecr.get_lifecycle_policy(repositoryName="team/cache/alpine")["lifecyclePolicyText"] == LIFECYCLE
    assert ecr.get_repository_policy(repositoryName="team/cache/alpine")["policyText"] == REPOSITORY_POLICY


@pytest.mark.parametrize(
    "fields",
    [
        {"resourceTags": [{"Key": "team", "Value": "platform"}]},
        {"encryptionConfiguration": {"encryptionType": "KMS"}},
        {"encryptionConfiguration": {"encryptionType": "KMS_DSSE", "kmsKey": KMS_KEY}},
    ],
)
def test_tags_or_kms_without_custom_role_make_creation_fail(registry, backend, fields):
    create(registry.client(), "team", appliedFor=["REPLICATION"], **fields)
    with pytest.raises(TemplateApplicationError, match="no customRoleArn") as excinfo:
        create_repository_from_template(backend, "team/app", "REPLICATION")
    assert excinfo.value.resolution.template.prefix == "team"
    assert registry.client().describe_repositories()["repositories"] == []


@pytest.mark.parametrize("reason", ["PULL_THROUGH_CACHE", "REPLICATION"])
def test_without_a_template_aws_defaults_apply(registry, backend, reason):
    ecr = registry.client()
    create(ecr, "other", appliedFor=[reason], imageTagMutability="IMMUTABLE")
    create_repository_from_template(backend, "docker-hub/library/nginx", reason)
    repo = describe(registry, "docker-hub/library/nginx")
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == []
    assert_no_policies(ecr, "docker-hub/library/nginx")


def test_create_on_push_without_a_template_creates_nothing(registry, backend):
    create(registry.client(), "apps", appliedFor=["PULL_THROUGH_CACHE", "REPLICATION"])
    assert create_repository_from_template(backend, "apps/web", "CREATE_ON_PUSH") is None
    assert registry.client().describe_repositories()["repositories"] == []
    assert "push to it is refused" in template_for(backend, "apps/web", "CREATE_ON_PUSH").explanation


def test_create_on_push_uses_the_most_specific_template_for_push(registry, backend):
    ecr = registry.client()
    create(ecr, "ROOT", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE")
    create(ecr, "apps", appliedFor=["CREATE_ON_PUSH"], lifecyclePolicy=LIFECYCLE)
    create(ecr, "apps/web", appliedFor=["PULL_THROUGH_CACHE"], imageTagMutability="IMMUTABLE")
    repository = create_repository_from_template(backend, "apps/web/frontend", "CREATE_ON_PUSH")
    assert repository is not None and repository.name == "apps/web/frontend"
    assert describe(registry, "apps/web/frontend")["imageTagMutability"] == "MUTABLE"
    assert ecr.get_lifecycle_policy(repositoryName="apps/web/frontend")["lifecyclePolicyText"] == LIFECYCLE
    create_repository_from_template(backend, "tools/lint", "CREATE_ON_PUSH")
    assert describe(registry, "tools/lint")["imageTagMutability"] == "IMMUTABLE"


def test_manual_create_repository_never_uses_a_template(registry):
    ecr = registry.client()
    create(
        ecr,
        "ROOT",
        appliedFor=["PULL_THROUGH_CACHE", "REPLICATION", "CREATE_ON_PUSH"],
        imageTagMutability="IMMUTABLE",
        lifecyclePolicy=LIFECYCLE,
        repositoryPolicy=REPOSITORY_POLICY,
    )
    create(ecr, "prod", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE")
    ecr.create_repository(repositoryName="prod/app")
    repo = describe(registry, "prod/app")
    assert repo["imageTagMutability"] == "MUTABLE"
    assert repo["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert_no_policies(ecr, "prod/app")
