"""Pulling through a rule over `/v2/`: miss, hit, multi-arch, the 24-hour re-check, outages, limits, permissions."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from ecrlab import images
from ecrlab.errors import ImageNotFoundError
from ecrlab.oci_layout import read_layout
from ecrlab.principals import act_as_role
from ecrlab.upstream_knobs import STAND_IN_CREDENTIALS, Upstreams
from tests.oci import V2, errors

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"
NODE = read_layout(IMAGES / "alpine-node").refs["18-alpine"]["digest"]
NODE_FIXED = read_layout(IMAGES / "alpine-node-fixed").refs["18-alpine-fixed"]["digest"]
ALPINE = read_layout(IMAGES / "alpine-multiarch").refs["3.19"]["digest"]
HUB = "registry-1.docker.io"


@pytest.fixture
def upstreams(registry) -> Upstreams:
    return Upstreams(registry)


@pytest.fixture
def rules(registry):
    """An ECR Public rule (`docker/` → docker/library/) and a Docker Hub rule with the stand-in's login."""
    ecr = registry.client()
    arn = registry.client("secretsmanager").create_secret(
        Name="ecr-pullthroughcache/hub", SecretString=json.dumps(STAND_IN_CREDENTIALS)
    )["ARN"]
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub", upstreamRegistryUrl=HUB, credentialArn=arn)
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker", upstreamRegistryUrl="public.ecr.aws", upstreamRepositoryPrefix="docker/library"
    )
    return ecr


def pull(registry, repository: str, reference: str, tmp_path: Path) -> str:
    return images.pull(registry, repository, reference, tmp_path / f"{repository}-{reference}".replace("/", "_"))


def manifest_gets(requests: list[dict]) -> int:
    return sum(1 for r in requests if r["method"] == "GET" and "/manifests/" in r["path"])


def test_a_miss_creates_the_repository_with_aws_defaults_and_a_hit_asks_nobody(registry, rules, upstreams, tmp_path):
    assert pull(registry, "docker-hub/library/node", "18-alpine", tmp_path) == NODE
    repo = rules.describe_repositories(repositoryNames=["docker-hub/library/node"])["repositories"][0]
    assert (repo["imageTagMutability"], repo["encryptionConfiguration"]["encryptionType"]) == ("MUTABLE", "AES256")
    fetched = upstreams.requests()
    assert manifest_gets(fetched) == 1 and {r["host"] for r in fetched} == {HUB}
    last = upstreams.last_request()
    for _ in range(3):
        assert pull(registry, "docker-hub/library/node", "18-alpine", tmp_path) == NODE
    assert upstreams.requests(last) == []
    assert upstreams.status()["stand_ins"][HUB]["served"]["manifests"] == 1


def test_the_upstream_prefix_maps_the_path(registry, rules, upstreams, tmp_path):
    assert pull(registry, "docker/node", "18-alpine", tmp_path) == NODE
    assert upstreams.requests()[0]["path"] == "/v2/docker/library/node/manifests/18-alpine"


def test_the_longest_prefix_wins(registry, rules, upstreams, tmp_path):
    rules.create_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub/library", upstreamRegistryUrl="public.ecr.aws")
    with pytest.raises(ImageNotFoundError):  # public.ecr.aws has no repository "node"
        pull(registry, "docker-hub/library/node", "18-alpine", tmp_path)
    assert upstreams.requests()[-1]["host"] == "public.ecr.aws"


def test_a_pull_through_cache_template_shapes_the_cache_repository(registry, rules, tmp_path):
    rules.create_repository_creation_template(
        prefix="docker-hub", appliedFor=["PULL_THROUGH_CACHE"], imageTagMutability="IMMUTABLE"
    )
    pull(registry, "docker-hub/library/node", "18-alpine", tmp_path)
    repo = rules.describe_repositories(repositoryNames=["docker-hub/library/node"])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE"


def test_a_multi_arch_tag_caches_the_index_and_its_images_a_digest_only_itself(registry, rules, tmp_path):
    assert pull(registry, "docker/alpine", "3.19", tmp_path) == ALPINE
    assert len(rules.describe_images(repositoryName="docker/alpine")["imageDetails"]) == 3
    arm64 = next(
        m["digest"]
        for m in images.inspect(registry, "docker/alpine", "3.19")["manifests"]
        if "arm64" in m["platforms"][0]
    )
    assert pull(registry, "docker-hub/library/alpine", arm64, tmp_path) == arm64
    [only] = rules.describe_images(repositoryName="docker-hub/library/alpine")["imageDetails"]
    assert only["imageDigest"] == arm64 and "imageTags" not in only


def test_after_24_hours_a_moved_tag_is_followed(registry, rules, upstreams, tmp_path):
    pull(registry, "docker-hub/library/node", "18-alpine", tmp_path)
    upstreams.publish(HUB, "library/node", "18-alpine", "alpine-node-fixed")
    registry.emulator.advance(hours=23, minutes=59)
    assert pull(registry, "docker-hub/library/node", "18-alpine", tmp_path) == NODE
    registry.emulator.advance(minutes=1)
    last = upstreams.last_request()
    assert pull(registry, "docker-hub/library/node", "18-alpine", tmp_path) == NODE_FIXED
    assert [r["method"] for r in upstreams.requests(last)][:2] == ["HEAD", "GET"]
    details = rules.describe_images(repositoryName="docker-hub/library/node")["imageDetails"]
    assert {d["imageDigest"]: d.get("imageTags", []) for d in details} == {NODE: [], NODE_FIXED: ["18-alpine"]}
    last = upstreams.last_request()
    assert pull(registry, "docker-hub/library/node", "18-alpine", tmp_path) == NODE_FIXED
    assert upstreams.requests(last) == []  # validated again: the next 24 hours are served from the cache


def test_an_unmoved_tag_is_only_checked_with_a_head(registry, rules, upstreams, tmp_path):
    pull(registry, "docker-hub/library/node", "18-alpine", tmp_path)
    registry.emulator.advance(hours=25)
    last = upstreams.last_request()
    pull(registry, "docker-hub/library/node", "18-alpine", tmp_path)
    assert [r["method"] for r in upstreams.requests(last)] == ["HEAD"]


def test_immutable_tags_keep_the_cached_image(registry, rules, upstreams, tmp_path):
    pull(registry, "docker-hub/library/node", "18-alpine", tmp_path)
    rules.put_image_tag_mutability(repositoryName="docker-hub/library/node", imageTagMutability="IMMUTABLE")
    upstreams.publish(HUB, "library/node", "18-alpine", "alpine-node-fixed")
    registry.emulator.advance(hours=25)
    assert pull(registry, "docker-hub/library/node", "18-alpine", tmp_path) == NODE


def test_an_upstream_outage_serves_the_cache_and_fails_what_was_never_cached(registry, rules, upstreams, tmp_path):
    pull(registry, "docker-hub/library/node", "18-alpine", tmp_path)
    upstreams.outage(HUB)
    registry.emulator.advance(hours=30)
    assert pull(registry, "docker-hub/library/node", "18-alpine", tmp_path) == NODE
    response = V2(registry)("GET", "/v2/docker-hub/library/alpine/manifests/3.19")
    assert response.status == 503 and "UpstreamUnavailable" in response.data.decode()
    assert "docker-hub/library/alpine" not in [
        r["repositoryName"] for r in rules.describe_repositories()["repositories"]
    ]  # a failed first pull leaves no repository behind


def test_a_throttled_upstream_is_upstream_too_many_requests(registry, rules, upstreams, tmp_path):
    upstreams.rate_limit("public.ecr.aws", pulls=1)
    pull(registry, "docker/node", "18-alpine", tmp_path)
    response = V2(registry)("GET", "/v2/docker/alpine/manifests/3.19")
    assert response.status == 429 and errors(response) == ["TOOMANYREQUESTS"]
    assert "UpstreamTooManyRequests" in response.data.decode()


def test_rate_limits_count_per_client(registry, rules, upstreams, tmp_path):
    """The cache logs in with the rule's credential, so CI's anonymous pulls have their own budget."""
    from ecrlab.oci_transfer import UpstreamError, UpstreamRegistry

    upstreams.rate_limit(HUB, pulls=2)
    hub = upstreams.url_of(HUB)
    outcomes = []
    for index in range(3):
        try:
            images.pull(UpstreamRegistry(hub), "library/node", "18-alpine", tmp_path / f"ci-{index}")
            outcomes.append("ok")
        except UpstreamError as error:
            outcomes.append(error.failure_code)
    assert outcomes == ["ok", "ok", "UpstreamTooManyRequests"]
    assert pull(registry, "docker-hub/library/node", "18-alpine", tmp_path) == NODE
    registry.emulator.advance(hours=6)
    images.pull(UpstreamRegistry(hub), "library/node", "18-alpine", tmp_path / "later")  # the window has passed


def test_docker_hub_official_images_need_library(registry, rules):
    response = V2(registry)("GET", "/v2/docker-hub/node/manifests/18-alpine")
    assert response.status == 403 and errors(response) == ["DENIED"]
    assert "UpstreamAccessDenied" in response.data.decode()


def test_an_unknown_tag_upstream_is_manifest_unknown(registry, rules):
    response = V2(registry)("GET", "/v2/docker-hub/library/node/manifests/99")
    assert response.status == 404 and errors(response) == ["MANIFEST_UNKNOWN"]


def test_filling_the_cache_needs_create_repository_and_batch_import(registry, rules, tmp_path):
    pull_only = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    ci = act_as_role(registry, "ci-role", pull_only)
    first = V2(ci)("GET", "/v2/docker/node/manifests/18-alpine")
    assert first.status == 404 and errors(first) == ["NAME_UNKNOWN"]
    assert "The repository with name 'docker/node' does not exist in the registry with id" in first.data.decode()
    ci = act_as_role(registry, "ci-role", [*pull_only, "ecr:CreateRepository"])
    second = V2(ci)("GET", "/v2/docker/node/manifests/18-alpine")
    assert second.status == 404 and json.loads(second.data)["errors"][0] == {
        "code": "MANIFEST_UNKNOWN", "message": "Requested image not found", "detail": {}
    }  # fmt: skip
    ci = act_as_role(registry, "ci-role", [*pull_only, "ecr:CreateRepository", "ecr:BatchImportUpstreamImage"])
    assert V2(ci)("GET", "/v2/docker/node/manifests/18-alpine").status == 200
    pull(registry, "docker/alpine", "3.19", tmp_path)
    assert V2(act_as_role(registry, "reader", pull_only))("GET", "/v2/docker/alpine/manifests/3.19").status == 200


def test_events_for_each_import(registry, rules, upstreams, tmp_path):
    sqs, events = registry.client("sqs"), registry.client("events")
    url = sqs.create_queue(QueueName="ptc")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="ptc", EventPattern=json.dumps({"detail-type": ["ECR Pull Through Cache Action"]}))
    events.put_targets(Rule="ptc", Targets=[{"Id": "q", "Arn": arn}])
    pull(registry, "docker-hub/library/node", "18-alpine", tmp_path)
    pull(registry, "docker-hub/library/node", "18-alpine", tmp_path)
    V2(registry)("GET", "/v2/docker-hub/node/manifests/18-alpine")
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert [b["detail"]["sync-status"] for b in bodies] == ["SUCCESS", "FAILED"]
    assert bodies[0]["resources"] == ["arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/library/node"]
    assert bodies[0]["detail"] == {
        "rule-version": "1",
        "sync-status": "SUCCESS",
        "ecr-repository-prefix": "docker-hub",
        "repository-name": "docker-hub/library/node",
        "upstream-registry-url": HUB,
        "image-tag": "18-alpine",
        "image-digest": NODE,
    }
    assert bodies[1]["detail"]["failure-code"] == "UpstreamAccessDenied"


def test_concurrent_first_pulls_fetch_once(registry, rules, upstreams, tmp_path):
    digests = []

    def ci_job(index: int) -> None:
        digests.append(pull(registry, "docker-hub/library/node", "18-alpine", tmp_path / str(index)))

    jobs = [threading.Thread(target=ci_job, args=(index,)) for index in range(6)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    assert digests == [NODE] * 6 and manifest_gets(upstreams.requests()) == 1


def test_deleting_the_rule_keeps_what_was_cached(registry, rules, tmp_path):
    pull(registry, "docker-hub/library/node", "18-alpine", tmp_path)
    rules.delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    assert pull(registry, "docker-hub/library/node", "18-alpine", tmp_path) == NODE
    assert V2(registry)("GET", "/v2/docker-hub/library/alpine/manifests/3.19").status == 404


def test_an_ecr_upstream_in_another_account_through_a_role(registry, tmp_path):
    upstream_account = registry.assume_role("arn:aws:iam::210987654321:role/owner")
    upstream_account.client().create_repository(repositoryName="base/node")
    images.push(upstream_account, IMAGES / "alpine-node", "base/node")
    ecr = registry.client()
    role = "arn:aws:iam::123456789012:role/ptc-reader"
    host = "210987654321.dkr.ecr.us-east-1.amazonaws.com"
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="shared", upstreamRegistryUrl=host, customRoleArn=role)
    denied = V2(registry)("GET", "/v2/shared/base/node/manifests/18-alpine")
    assert denied.status == 403 and "UpstreamAccessDenied" in denied.data.decode()  # the owner grants nothing yet
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
    upstream_account.client().set_repository_policy(repositoryName="base/node", policyText=json.dumps(grant))
    assert pull(registry, "shared/base/node", "18-alpine", tmp_path) == NODE
