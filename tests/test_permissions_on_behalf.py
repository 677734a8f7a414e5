"""Repositories ECR creates on a caller's behalf, live in the emulator under the policies the kit builds.

Sources: pull through cache needs the puller's ecr:CreateRepository (else `name unknown`) and
ecr:BatchImportUpstreamImage (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html,
error-pullthroughcache.html); cross-account replication needs the destination's registry policy
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html); create on push needing the pusher's
ecr:CreateRepository is UNCONFIRMED (docs/fidelity.md) and was issue 21's finding "a push that creates a
repository on push succeeds for a principal whom the registry policy denies ecr:CreateRepository".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from ecrlab import images
from ecrlab.baseline import Baseline
from ecrlab.errors import AccessDeniedError, RepositoryNotFoundError
from ecrlab.parameters import runbook
from ecrlab.permissions import merge, restrict_repository_admin
from ecrlab.permissions import registry_policy as live
from ecrlab.permissions.policy import allow_pull_through_cache, allow_replication_from
from ecrlab.plan import apply
from ecrlab.principals import act_as_role, role_arn
from tests.oci import OCI_MANIFEST

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"
ACCOUNT, OTHER, REGION = "123456789012", "444455556666", "us-east-1"
DEVOPS = f"arn:aws:iam::{ACCOUNT}:role/devops-role"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []})


def repositories(registry) -> set[str]:
    return {r["repositoryName"] for r in registry.client().describe_repositories()["repositories"]}


def test_create_on_push_needs_the_pushers_create_repository(registry):
    ecr = registry.client()
    dev, devops = act_as_role(registry, "dev-role"), act_as_role(registry, "devops-role")
    ecr.put_registry_policy(policyText=restrict_repository_admin(ACCOUNT, [DEVOPS], region=REGION).to_json())
    with pytest.raises(RepositoryNotFoundError):  # no template: nothing is created, whoever pushes
        images.push(devops, IMAGES / "alpine-node", "team/app")
    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["CREATE_ON_PUSH"])
    with pytest.raises(AccessDeniedError, match=r"ecr:CreateRepository.*explicit deny"):
        images.push(dev, IMAGES / "alpine-node", "team/app")
    with pytest.raises(ClientError) as denied:
        dev.client().put_image(repositoryName="team/api", imageManifest=MANIFEST, imageTag="v1")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "ecr:CreateRepository" in denied.value.response["Error"]["Message"]
    assert repositories(registry) == set()
    images.push(devops, IMAGES / "alpine-node", "team/app")
    devops.client().put_image(repositoryName="team/api", imageManifest=MANIFEST, imageTag="v1")
    assert repositories(registry) == {"team/app", "team/api"}
    images.push(dev, IMAGES / "alpine-node", "team/app", "again")  # the repository exists: PutImage alone decides


@pytest.fixture
def public_rule(registry):
    registry.client().create_pull_through_cache_rule(
        ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws"
    )


def test_the_cache_roles_first_pull_fails_under_the_naive_policy_and_works_under_from_intents(
    registry, public_rule, tmp_path
):
    ci = act_as_role(registry, "ci-role")
    act_as_role(registry, "devops-role")
    cache_role = role_arn(registry, "ci-role")
    naive = merge(
        restrict_repository_admin(ACCOUNT, [DEVOPS], region=REGION),
        allow_pull_through_cache([cache_role], ACCOUNT, REGION, "ecr-public"),
    )
    registry.client().put_registry_policy(policyText=naive.to_json())
    with pytest.raises(RepositoryNotFoundError, match="ecr:CreateRepository"):
        images.pull(ci, "ecr-public/docker/library/node", "18-alpine", tmp_path / "a")
    composed = live.from_intents(
        ACCOUNT,
        REGION,
        admin_principals=[DEVOPS],
        pull_through_cache_principals=[cache_role],
        pull_through_cache_prefix="ecr-public",
    )
    registry.client().put_registry_policy(policyText=composed.to_json())
    images.pull(ci, "ecr-public/docker/library/node", "18-alpine", tmp_path / "b")
    assert "ecr-public/docker/library/node" in repositories(registry)
    with pytest.raises(ClientError, match="explicit deny"):  # the cache role is still no repository admin
        ci.client().create_repository(repositoryName="team/app")


def replicate_into(registry, destination_policy) -> str:
    """Push in OTHER, which replicates to ACCOUNT/us-east-1 under `destination_policy`; the copy's status."""
    source = registry.assume_role(f"arn:aws:iam::{OTHER}:role/x")
    if destination_policy is not None:
        registry.client().put_registry_policy(policyText=destination_policy.to_json())
    source.client().put_replication_configuration(
        replicationConfiguration={"rules": [{"destinations": [{"region": REGION, "registryId": ACCOUNT}]}]}
    )
    source.client().create_repository(repositoryName="app")
    digest = source.client().put_image(repositoryName="app", imageManifest=MANIFEST, imageTag="v1")["image"]["imageId"]
    registry.emulator.settle()
    statuses = source.client().describe_image_replication_status(repositoryName="app", imageId=digest)
    status = statuses["replicationStatuses"][0]
    return status["status"] + (f" {status['failureCode']}" if "failureCode" in status else "")


def test_cross_account_replication_fails_under_the_naive_policy(registry):
    naive = merge(
        restrict_repository_admin(ACCOUNT, [DEVOPS], region=REGION), allow_replication_from([OTHER], ACCOUNT, REGION)
    )
    assert replicate_into(registry, naive) == "FAILED RepositoryNotFound"


def test_baseline_with_admins_keeps_the_cache_roles_first_pull_and_cross_account_replication(registry, tmp_path):
    """Issue 15's done-when: the baseline runbook with admin_roles set breaks neither flow."""
    ci = act_as_role(registry, "ci-role")
    act_as_role(registry, "devops-role")
    params = runbook("baseline").validate(
        {
            "pull_through_cache_roles": ["ci-role"],
            "replication_source_accounts": [OTHER],
            "admin_roles": ["devops-role"],
        }
    )
    baseline = Baseline.from_parameters(params, registry)
    assert apply(baseline.plan(registry), registry, dry_run=False).verified
    images.pull(ci, "ecr-public/docker/library/node", "18-alpine", tmp_path / "pulled")
    assert replicate_into(registry, None) == "COMPLETE"
    assert {"ecr-public/docker/library/node", "app"} <= repositories(registry)
    with pytest.raises(ClientError, match="explicit deny"):
        act_as_role(registry, "dev-role").client().create_repository(repositoryName="made-by-dev")
