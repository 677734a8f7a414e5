"""Replication in the emulator: configuration and quotas, copying on push, statuses, deletes, events, accounts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from ecrlab import images
from ecrlab.emulator.blobstore import shared_store
from ecrlab.permissions import allow_replication_from
from tests.oci import V2
from tests.replication_helpers import ACCOUNT, IMAGES, OTHER, configure, put, rule, statuses, tags_in


def blob_bytes() -> int:
    return sum(path.stat().st_size for path in (Path(shared_store().root) / "blobs").rglob("*") if path.is_file())


def test_two_rules_read_back_through_describe_registry(registry):
    rules = [rule("eu-west-1", prefixes=("prod/",), deletes=True), rule("ap-south-1", f"{OTHER}/us-west-2")]
    assert configure(registry, *rules)["replicationConfiguration"] == {"rules": rules}
    assert registry.client().describe_registry()["replicationConfiguration"] == {"rules": rules}
    configure(registry)
    assert registry.client().describe_registry()["replicationConfiguration"] == {"rules": []}


def test_the_current_models_limits_apply_not_the_older_quota_page(registry):
    """botocore's model (ReplicationRuleList max 25, ReplicationDestinationList max 100; the API reference's
    ReplicationRule says "Maximum number of 100 items") allows more than the older page's 10 rules and 25 unique
    destinations: 25 rules and 100 destinations in one rule are accepted."""
    many = [rule(f"{100000000000 + i}/eu-west-1") for i in range(25)]
    assert len(configure(registry, *many)["replicationConfiguration"]["rules"]) == 25
    wide = rule(*(f"{100000000000 + i}/eu-west-1" for i in range(100)))
    assert configure(registry, wide, wide)["replicationConfiguration"]["rules"] == [wide, wide]


@pytest.mark.parametrize(
    ("rules", "code", "words"),
    [
        ([rule("eu-west-1")] * 26, "ValidationException", "less than or equal to 25"),
        ([rule(*(f"{100000000000 + i}/eu-west-1" for i in range(101)))], "ValidationException", "equal to 100"),
        ([rule("eu-west-1", prefixes=tuple(f"p{i:03}" for i in range(101)))], "ValidationException", "100"),
        ([rule("us-east-1")], "InvalidParameterException", "cannot be the same as the source registry"),
        ([rule("eu-nowhere-9")], "InvalidParameterException", "not a valid region"),
        ([rule("cn-north-1")], "InvalidParameterException", "another partition"),
        ([rule("eu-west-1", prefixes=("Bad_Prefix",))], "ValidationException", "regular expression"),
    ],
    ids=["rules", "destinations", "filters", "same-registry", "unknown-region", "partition", "pattern"],
)
def test_configurations_breaking_a_quota_or_rule_are_refused(registry, rules, code, words):
    with pytest.raises(ClientError) as refused:
        configure(registry, *rules)
    assert refused.value.response["Error"]["Code"] == code
    assert words in refused.value.response["Error"]["Message"]
    assert registry.client().describe_registry()["replicationConfiguration"] == {"rules": []}


def test_a_push_replicates_once_settled_and_the_copy_is_the_same_image(registry):
    registry.client().create_repository(repositoryName="app")
    configure(registry, rule("eu-west-1", "ap-south-1"))
    digest = put(registry, "app", "v1")
    eu = registry.in_region("eu-west-1")
    assert statuses(registry, "app", digest) == [
        (f"{ACCOUNT}/eu-west-1", "IN_PROGRESS", ""),
        (f"{ACCOUNT}/ap-south-1", "IN_PROGRESS", ""),
    ]
    assert tags_in(eu, "app") == {}
    assert registry.emulator.settle() == 2
    assert [s[1] for s in statuses(registry, "app", digest)] == ["COMPLETE", "COMPLETE"]
    for region in ("eu-west-1", "ap-south-1"):
        assert tags_in(registry.in_region(region), "app") == {digest: ["v1"]}
    source = registry.client().batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])["images"][0]
    copy = eu.client().batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])["images"][0]
    assert copy["imageManifest"] == source["imageManifest"]


def test_an_oci_push_replicates_blobs_without_copying_bytes_and_pulls_from_the_destination(registry, tmp_path):
    registry.client().create_repository(repositoryName="node")
    configure(registry, rule("eu-west-1"))
    digest = images.push(registry, IMAGES / "alpine-node", "node", "18")
    stored = blob_bytes()
    registry.emulator.settle()
    assert blob_bytes() == stored
    eu = registry.in_region("eu-west-1")
    assert images.pull(eu, "node", "18", tmp_path) == digest
    assert statuses(registry, "node", digest) == [(f"{ACCOUNT}/eu-west-1", "COMPLETE", "")]


def test_images_pushed_before_the_configuration_stay_put(registry):
    registry.client().create_repository(repositoryName="app")
    before = put(registry, "app", "old", 1)
    configure(registry, rule("eu-west-1"))
    after = put(registry, "app", "new", 2)
    registry.emulator.settle()
    assert statuses(registry, "app", before) == []
    assert tags_in(registry.in_region("eu-west-1"), "app") == {after: ["new"]}


def test_prefix_filters_choose_destinations_and_a_shared_destination_gets_one_copy(registry):
    for name in ("prod/api", "products/catalog", "dev/api"):
        registry.client().create_repository(repositoryName=name)
    configure(registry, rule("eu-west-1", prefixes=("prod/",)), rule("eu-west-1", "ap-south-1", prefixes=("prod",)))
    pushed = {name: put(registry, name, "v1") for name in ("prod/api", "products/catalog", "dev/api")}
    assert [s[0] for s in statuses(registry, "prod/api", pushed["prod/api"])] == [
        f"{ACCOUNT}/eu-west-1",
        f"{ACCOUNT}/ap-south-1",
    ]
    assert len(statuses(registry, "products/catalog", pushed["products/catalog"])) == 2  # 'prod' is a string prefix
    assert statuses(registry, "dev/api", pushed["dev/api"]) == []
    assert registry.emulator.settle() == 4


def test_replication_completes_by_itself_once_its_time_comes_on_the_emulator_clock(registry):
    registry.client().create_repository(repositoryName="app")
    configure(registry, rule("eu-west-1"))
    digest = put(registry, "app", "v1")
    registry.emulator.advance(seconds=9)
    assert statuses(registry, "app", digest)[0][1] == "IN_PROGRESS"
    registry.emulator.advance(seconds=1)
    assert statuses(registry, "app", digest)[0][1] == "COMPLETE"


def test_no_chaining_a_replicated_image_is_not_replicated_again(registry):
    registry.client().create_repository(repositoryName="app")
    eu = registry.in_region("eu-west-1")
    configure(eu, rule("ap-southeast-2"))
    configure(registry, rule("eu-west-1"))
    digest = put(registry, "app", "v1")
    registry.emulator.settle()
    assert tags_in(eu, "app") == {digest: ["v1"]}
    assert statuses(eu, "app", digest) == []
    assert tags_in(registry.in_region("ap-southeast-2"), "app") == {}


def test_destination_repositories_come_from_a_replication_template_or_aws_defaults(registry):
    ecr = registry.client()
    for name in ("shop/api", "misc/tool"):
        ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE")
    eu = registry.in_region("eu-west-1")
    eu.client().create_repository_creation_template(
        prefix="shop", appliedFor=["REPLICATION"], imageTagMutability="IMMUTABLE"
    )
    configure(registry, rule("eu-west-1"))
    put(registry, "shop/api", "v1", 1)
    put(registry, "misc/tool", "v1", 2)
    registry.emulator.settle()
    made = {r["repositoryName"]: r for r in eu.client().describe_repositories()["repositories"]}
    assert made["shop/api"]["imageTagMutability"] == "IMMUTABLE"  # the template's, not the source's
    assert made["misc/tool"]["imageTagMutability"] == "MUTABLE"  # settings do not travel
    assert made["misc/tool"]["encryptionConfiguration"] == {"encryptionType": "AES256"}


def test_an_immutable_destination_tag_held_by_another_image_leaves_the_copy_untagged(registry):
    registry.client().create_repository(repositoryName="app")
    eu = registry.in_region("eu-west-1")
    eu.client().create_repository(repositoryName="app", imageTagMutability="IMMUTABLE")
    theirs = put(eu, "app", "v1", 1)
    configure(registry, rule("eu-west-1"))
    ours = put(registry, "app", "v1", 2)
    registry.emulator.settle()
    assert statuses(registry, "app", ours) == [(f"{ACCOUNT}/eu-west-1", "COMPLETE", "")]
    assert tags_in(eu, "app") == {theirs: ["v1"], ours: []}


def test_cross_account_needs_the_destination_registry_policy(registry):
    registry.client().create_repository(repositoryName="app")
    dr = registry.assume_role(f"arn:aws:iam::{OTHER}:role/x").in_region("us-west-2")
    configure(registry, rule(f"{OTHER}/us-west-2"))
    denied = put(registry, "app", "v1", 1)
    registry.emulator.settle()
    assert statuses(registry, "app", denied) == [(f"{OTHER}/us-west-2", "FAILED", "ReplicateImageAccessDenied")]
    replicate_only = allow_replication_from([ACCOUNT], OTHER, "us-west-2", create_repository=False)
    dr.client().put_registry_policy(policyText=replicate_only.to_json())
    missing = put(registry, "app", "v2", 2)
    registry.emulator.settle()
    assert statuses(registry, "app", missing) == [(f"{OTHER}/us-west-2", "FAILED", "RepositoryNotFound")]
    dr.client().put_registry_policy(policyText=allow_replication_from([ACCOUNT], OTHER, "us-west-2").to_json())
    allowed = put(registry, "app", "v3", 3)
    registry.emulator.settle()
    assert statuses(registry, "app", allowed) == [(f"{OTHER}/us-west-2", "COMPLETE", "")]
    assert tags_in(dr, "app") == {allowed: ["v3"]}


def test_deletes_and_tag_removals_replicate_only_with_delete_replication(registry):
    ecr = registry.client()
    for name in ("mirror", "keep"):
        ecr.create_repository(repositoryName=name)
    configure(registry, rule("eu-west-1", prefixes=("mirror",), deletes=True), rule("eu-west-1", prefixes=("keep",)))
    eu = registry.in_region("eu-west-1")
    gone = {name: put(registry, name, "v1", 1) for name in ("mirror", "keep")}
    both = put(registry, "mirror", "a", 2)
    put(registry, "mirror", "b", 2)
    registry.emulator.settle()
    for name in ("mirror", "keep"):
        ecr.batch_delete_image(repositoryName=name, imageIds=[{"imageDigest": gone[name]}])
    ecr.batch_delete_image(repositoryName="mirror", imageIds=[{"imageTag": "a"}])
    assert gone["mirror"] in tags_in(eu, "mirror")  # deletes replicate asynchronously too
    registry.emulator.settle()
    assert tags_in(eu, "mirror") == {both: ["b"]}
    assert tags_in(eu, "keep") == {gone["keep"]: ["v1"]}


def test_replication_action_events_reach_the_destination_bus(registry):
    """A replicated image is announced as `ECR Replication Action` (ECR user guide, ecr-eventbridge.html, "Event for
    an image replication completion"), not as an `ECR Image Action` PUSH, which the page documents for a push."""
    eu = registry.in_region("eu-west-1")
    queue = eu.client("sqs").create_queue(QueueName="replicated")["QueueUrl"]
    arn = eu.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = eu.client("events")
    events.put_rule(Name="replication", EventPattern=json.dumps({"source": ["aws.ecr"]}))
    events.put_targets(Rule="replication", Targets=[{"Id": "q", "Arn": arn}])
    registry.client().create_repository(repositoryName="app")
    configure(registry, rule("eu-west-1"))
    digest = put(registry, "app", "v1")
    registry.emulator.settle()
    [message] = eu.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(message["Body"])
    assert event["detail-type"] == "ECR Replication Action"
    assert event["source"] == "aws.ecr" and event["resources"] == [f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/app"]
    assert event["detail"] == {
        "result": "SUCCESS",
        "repository-name": "app",
        "image-digest": digest,
        "source-account": ACCOUNT,
        "action-type": "REPLICATE",
        "source-region": "us-east-1",
        "image-tag": "v1",
    }


def test_an_index_replicates_with_its_images(registry, tmp_path):
    registry.client().create_repository(repositoryName="alpine")
    configure(registry, rule("eu-west-1"))
    digest = images.push(registry, IMAGES / "alpine-multiarch", "alpine", "3.19")
    registry.emulator.settle()
    eu = registry.in_region("eu-west-1")
    assert len(tags_in(eu, "alpine")) == 3
    assert images.pull(eu, "alpine", "3.19", tmp_path) == digest


def test_a_push_over_v2_replicates_like_put_image(registry):
    registry.client().create_repository(repositoryName="raw")
    configure(registry, rule("eu-west-1"))
    _, digest = V2(registry).push("raw", "v1", [b"layer"])
    registry.emulator.settle()
    assert tags_in(registry.in_region("eu-west-1"), "raw") == {digest: ["v1"]}


def test_describe_image_replication_status_errors(registry):
    ecr = registry.client()
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.describe_image_replication_status(repositoryName="nope", imageId={"imageTag": "v1"})
    ecr.create_repository(repositoryName="app")
    with pytest.raises(ecr.exceptions.ImageNotFoundException) as missing:
        ecr.describe_image_replication_status(repositoryName="app", imageId={"imageTag": "v1"})
    assert "imageTag:'v1'" in missing.value.response["Error"]["Message"]


def test_a_reset_forgets_queued_replications(registry):
    registry.client().create_repository(repositoryName="app")
    configure(registry, rule("eu-west-1"))
    put(registry, "app", "v1")
    registry.emulator.reset()
    registry.emulator.settle()
    assert registry.in_region("eu-west-1").client().describe_repositories()["repositories"] == []


def test_deleting_an_untagged_image_replicates_too(registry):
    registry.client().create_repository(repositoryName="mirror")
    configure(registry, rule("eu-west-1", deletes=True))
    digest = put(registry, "mirror", None, 7)
    registry.emulator.settle()
    eu = registry.in_region("eu-west-1")
    assert tags_in(eu, "mirror") == {digest: []}
    deleted = registry.client().batch_delete_image(repositoryName="mirror", imageIds=[{"imageDigest": digest}])
    assert deleted["imageIds"] == [{"imageDigest": digest}]
    registry.emulator.settle()
    assert tags_in(eu, "mirror") == {}
