"""Lifecycle policies run by the emulator, against the user guide and the model.

The guide (LifecyclePolicies.html): images "can be archived or expired based on the criteria specified in the
lifecycle policy within 24 hours"; a rule's outcome is what the lifecycle policy preview shows. "Archiving an
image": archived images stay at least 90 days before a rule may delete them. image-scanning.html: "Archived images
cannot be scanned" (model: StartImageScan's ImageArchivedException).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def manifest(n: int) -> str:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "annotations": {"n": str(n)}})


def push(registry, n: int, tag: str | None = None) -> str:
    params = {"imageTag": tag} if tag else {}
    answer = registry.client().put_image(repositoryName="team/app", imageManifest=manifest(n), **params)
    return answer["image"]["imageId"]["imageDigest"]


def rule(priority: int, action: str, **selection) -> dict:
    selection.setdefault("tagStatus", "any")
    if selection["countType"] != "imageCountMoreThan":
        selection["countUnit"] = "days"
    body = {"type": action} | ({"targetStorageClass": "archive"} if action == "transition" else {})
    return {"rulePriority": priority, "selection": selection, "action": body}


def put_policy(registry, *rules: dict) -> None:
    registry.client().put_lifecycle_policy(repositoryName="team/app", lifecyclePolicyText=json.dumps({"rules": rules}))


def statuses(registry) -> dict[str, str]:
    """digest -> imageStatus for every image, whatever its status."""
    details = registry.client().describe_images(repositoryName="team/app", filter={"imageStatus": "ANY"})
    return {d["imageDigest"]: d["imageStatus"] for d in details["imageDetails"]}


@pytest.fixture
def repo(registry):
    registry.client().create_repository(repositoryName="team/app")
    return registry


def test_a_run_does_exactly_what_the_preview_listed(repo):
    registry = repo
    v1, v2, v3 = push(registry, 1, "v1"), push(registry, 2, "v2"), push(registry, 3, "v3")
    old_untagged = push(registry, 4)
    registry.emulator.advance(days=40)
    registry.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v2"}])  # v2 is in use
    v4, new_untagged = push(registry, 5, "v4"), push(registry, 6)
    put_policy(
        registry,
        rule(1, "transition", tagStatus="tagged", tagPrefixList=["v"], countType="sinceImagePulled", countNumber=30),
        rule(2, "expire", tagStatus="untagged", countType="imageCountMoreThan", countNumber=1),
    )
    ecr = registry.client()
    ecr.start_lifecycle_policy_preview(repositoryName="team/app")
    previewed = {
        r["imageDigest"]: r["action"]["type"]
        for r in ecr.get_lifecycle_policy_preview(repositoryName="team/app")["previewResults"]
    }
    # The guide's rules: v1 and v3 were not pulled for 30 days (never pulled: counted from the push); v2 was pulled
    # today and v4 pushed today; of the untagged images only the newest one is kept.
    assert previewed == {v1: "TRANSITION", v3: "TRANSITION", old_untagged: "EXPIRE"}

    assert registry.emulator.settle() == 3
    after = statuses(registry)
    assert after == {v1: "ARCHIVED", v2: "ACTIVE", v3: "ARCHIVED", v4: "ACTIVE", new_untagged: "ACTIVE"}
    ran = {d: ("TRANSITION" if after.get(d) == "ARCHIVED" else "EXPIRE") for d in previewed if after.get(d) != "ACTIVE"}
    assert ran == previewed
    archived = ecr.describe_images(repositoryName="team/app", imageIds=[{"imageDigest": v1}])["imageDetails"][0]
    assert archived["lastArchivedAt"] == registry.emulator.now()
    assert registry.emulator.settle() == 0  # a second run finds nothing more to do


def test_the_policy_runs_within_24_hours_on_the_emulator_clock(repo):
    registry = repo
    image = push(registry, 1, "v1")
    registry.emulator.advance(days=5)
    put_policy(registry, rule(1, "transition", countType="sinceImagePushed", countNumber=1))
    registry.emulator.advance(hours=23)
    assert statuses(registry) == {image: "ACTIVE"}  # within 24 hours, not at once
    registry.emulator.advance(hours=1)
    assert statuses(registry) == {image: "ARCHIVED"}  # no settle: the daily run came due
    # ...and it keeps running daily: a new image that ages past the rule is archived a day later.
    newer = push(registry, 2, "v2")
    registry.emulator.advance(days=2)
    assert statuses(registry)[newer] == "ARCHIVED"


def test_archived_images_are_deleted_only_after_90_days_in_the_archive(repo):
    registry = repo
    image, kept = push(registry, 1, "v1"), push(registry, 2, "v2")
    registry.client().update_image_storage_class(
        repositoryName="team/app", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE"
    )
    put_policy(registry, rule(1, "expire", storageClass="archive", countType="sinceImageTransitioned", countNumber=30))
    registry.emulator.advance(days=89)
    registry.emulator.settle()
    assert statuses(registry) == {image: "ARCHIVED", kept: "ACTIVE"}  # countNumber 30, but the minimum is 90
    registry.emulator.advance(days=2)
    registry.emulator.settle()
    assert statuses(registry) == {kept: "ACTIVE"}


def test_a_restored_image_is_not_archived_again_at_once(repo):
    registry = repo
    image = push(registry, 1, "v1")
    registry.emulator.advance(days=100)
    ecr = registry.client()
    ecr.update_image_storage_class(repositoryName="team/app", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE")
    ecr.update_image_storage_class(repositoryName="team/app", imageId={"imageTag": "v1"}, targetStorageClass="STANDARD")
    put_policy(registry, rule(1, "transition", countType="sinceImagePushed", countNumber=90))
    registry.emulator.settle()
    assert statuses(registry) == {image: "ACTIVE"}  # restored images behave like newly pushed ones
    registry.emulator.advance(days=91)
    registry.emulator.settle()
    assert statuses(registry) == {image: "ARCHIVED"}


def test_lifecycle_actions_send_image_action_events(repo):
    registry = repo
    sqs, events = registry.client("sqs"), registry.client("events")
    url = sqs.create_queue(QueueName="ecr")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    archived, expired = push(registry, 1, "v1"), push(registry, 2)
    push(registry, 3)
    events.put_rule(Name="ecr", EventPattern=json.dumps({"source": ["aws.ecr"], "detail-type": ["ECR Image Action"]}))
    events.put_targets(Rule="ecr", Targets=[{"Id": "q", "Arn": arn}])
    registry.emulator.advance(days=10)
    put_policy(
        registry,
        rule(1, "expire", tagStatus="untagged", countType="imageCountMoreThan", countNumber=1),
        rule(2, "transition", countType="sinceImagePushed", countNumber=5),
    )
    registry.emulator.settle()
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    sent = [json.loads(m["Body"])["detail"] for m in messages]
    by_action = {(d["action-type"], d["image-digest"]): d for d in sent}
    assert set(by_action) == {("UPDATE_STORAGE_CLASS", archived), ("DELETE", expired)}
    # The ecr-eventbridge page's fields for an archive event.
    assert by_action["UPDATE_STORAGE_CLASS", archived] == {
        "result": "SUCCESS",
        "repository-name": "team/app",
        "image-digest": archived,
        "image-tag": "v1",
        "action-type": "UPDATE_STORAGE_CLASS",
        "target-storage-class": "ARCHIVE",
        "manifest-media-type": OCI_MANIFEST,
    }


def test_start_image_scan_refuses_an_archived_image(repo):
    registry = repo
    push(registry, 1, "v1")
    ecr = registry.client()
    ecr.update_image_storage_class(repositoryName="team/app", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE")
    with pytest.raises(ClientError) as refused:
        ecr.start_image_scan(repositoryName="team/app", imageId={"imageTag": "v1"})
    assert refused.value.response["Error"]["Code"] == "ImageArchivedException"
    assert refused.value.response["Error"]["Message"] == "The specified image is archived and cannot be scanned."


def test_archiving_and_restoring_by_hand_send_image_action_events(repo):
    registry = repo
    sqs, events = registry.client("sqs"), registry.client("events")
    url = sqs.create_queue(QueueName="ecr")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    image = push(registry, 1, "v1")
    events.put_rule(Name="ecr", EventPattern=json.dumps({"source": ["aws.ecr"], "detail-type": ["ECR Image Action"]}))
    events.put_targets(Rule="ecr", Targets=[{"Id": "q", "Arn": arn}])
    ecr = registry.client()
    ecr.update_image_storage_class(repositoryName="team/app", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE")
    ecr.update_image_storage_class(repositoryName="team/app", imageId={"imageTag": "v1"}, targetStorageClass="STANDARD")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["target-storage-class"] for m in received] == ["ARCHIVE"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    registry.emulator.settle()  # the restore completes: the event comes then, with last-activated-at
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    detail = json.loads(message["Body"])["detail"]
    assert detail["action-type"] == "UPDATE_STORAGE_CLASS" and detail["image-digest"] == image
    assert detail["target-storage-class"] == "STANDARD"
    assert detail["last-activated-at"] == registry.emulator.now().isoformat()
