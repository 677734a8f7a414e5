"""Image archiving in the emulator, against the user guide ("Archiving an image") and the model.

The guide: archived images cannot be pulled (404) but are listed and described with status ARCHIVED; restored by
hand or by pushing the image again; restores take up to 20 minutes. The model: ListImages/DescribeImages return only
ACTIVE images unless filter.imageStatus asks otherwise; UpdateImageStorageClass answers the image's status.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.model_shape import assert_fits_model, recording
from tests.oci import V2, errors

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "annotations": {"n": "1"}})


@pytest.fixture
def wire(registry):
    yield from recording(registry)


@pytest.fixture
def image(registry) -> str:
    """team/app:v1 and team/app:v2 (another image); returns v1's digest."""
    ecr = registry.client()
    ecr.create_repository(repositoryName="team/app")
    ecr.put_image(repositoryName="team/app", imageManifest=MANIFEST.replace('"1"', '"2"'), imageTag="v2")
    return ecr.put_image(repositoryName="team/app", imageManifest=MANIFEST, imageTag="v1")["image"]["imageId"][
        "imageDigest"
    ]


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def transition(registry, target: str, **image_id) -> dict:
    return registry.client().update_image_storage_class(
        repositoryName="team/app", imageId=image_id or {"imageTag": "v1"}, targetStorageClass=target
    )


def listed(registry, **filter_) -> list[str | None]:
    params = {"filter": filter_} if filter_ else {}
    return sorted(
        i.get("imageTag", "") for i in registry.client().list_images(repositoryName="team/app", **params)["imageIds"]
    )


def described(registry, **filter_) -> dict[str, str]:
    params = {"filter": filter_} if filter_ else {}
    details = registry.client().describe_images(repositoryName="team/app", **params)["imageDetails"]
    return {d["imageTags"][0]: d["imageStatus"] for d in details}


def test_archive_is_immediate_and_hides_the_image_from_default_listings(registry, image, wire):
    answer = transition(registry, "ARCHIVE")
    body = assert_fits_model(wire)
    assert body == {
        "registryId": "123456789012",
        "repositoryName": "team/app",
        "imageId": {"imageDigest": image, "imageTag": "v1"},
        "imageStatus": "ARCHIVED",
    }
    assert answer["imageStatus"] == "ARCHIVED"
    assert listed(registry) == ["v2"] and described(registry) == {"v2": "ACTIVE"}
    assert listed(registry, imageStatus="ARCHIVED") == ["v1"]
    assert listed(registry, imageStatus="ANY") == ["v1", "v2"]
    assert described(registry, imageStatus="ANY") == {"v1": "ARCHIVED", "v2": "ACTIVE"}
    assert_fits_model(wire)
    by_id = registry.client().describe_images(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    detail = by_id["imageDetails"][0]
    assert detail["imageStatus"] == "ARCHIVED" and detail["lastArchivedAt"] == registry.emulator.now()


def test_archived_images_cannot_be_pulled(registry, image):
    transition(registry, "ARCHIVE")
    answer = registry.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert answer["images"] == []
    assert [f["failureCode"] for f in answer["failures"]] == ["ImageNotFound"]
    v2 = V2(registry)
    pulled = v2("GET", "/v2/team/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert pulled.status == 404 and errors(pulled) == ["MANIFEST_UNKNOWN"]
    assert v2("GET", "/v2/team/app/manifests/v2", headers={"Accept": OCI_MANIFEST}).status == 200


def test_a_restore_takes_twenty_minutes_on_the_emulator_clock(registry, image):
    transition(registry, "ARCHIVE")
    assert transition(registry, "STANDARD", imageDigest=image)["imageStatus"] == "ACTIVATING"
    assert listed(registry, imageStatus="ACTIVATING") == ["v1"]
    pulled = registry.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert pulled["images"] == []  # still not pullable while it restores
    registry.emulator.advance(minutes=19)
    assert described(registry, imageStatus="ANY")["v1"] == "ACTIVATING"
    registry.emulator.advance(minutes=1)
    assert described(registry)["v1"] == "ACTIVE"
    detail = registry.client().describe_images(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert detail["imageDetails"][0]["lastActivatedAt"] == registry.emulator.now()
    assert registry.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])["images"]


def test_settle_finishes_a_restore(registry, image):
    transition(registry, "ARCHIVE")
    transition(registry, "STANDARD")
    registry.emulator.settle()
    assert described(registry)["v1"] == "ACTIVE"


def test_pushing_an_archived_image_again_restores_it(registry, image):
    transition(registry, "ARCHIVE")
    registry.client().put_image(repositoryName="team/app", imageManifest=MANIFEST, imageTag="v1-again")
    assert described(registry, imageStatus="ANY")["v1"] == "ACTIVE"


@pytest.mark.parametrize(
    ("steps", "target", "error"),
    [
        ((), "STANDARD", "ImageStorageClassUpdateNotSupportedException"),  # already standard
        (("ARCHIVE",), "ARCHIVE", "ImageStorageClassUpdateNotSupportedException"),  # already archived
        (("ARCHIVE", "STANDARD"), "ARCHIVE", "ImageStorageClassUpdateNotSupportedException"),  # restoring
        ((), "GLACIER", "ValidationException"),  # model enum: STANDARD | ARCHIVE
    ],
    ids=["standard-to-standard", "archive-twice", "while-activating", "unknown-class"],
)
def test_transitions_aws_does_not_support(registry, image, steps, target, error):
    for step in steps:
        transition(registry, step)
    with pytest.raises(ClientError) as refused:
        transition(registry, target)
    assert code(refused) == error


def test_missing_image_or_repository(registry, image):
    with pytest.raises(ClientError) as no_image:
        transition(registry, "ARCHIVE", imageTag="nope")
    assert code(no_image) == "ImageNotFoundException"
    with pytest.raises(ClientError) as no_repository:
        registry.client().update_image_storage_class(
            repositoryName="absent", imageId={"imageTag": "v1"}, targetStorageClass="ARCHIVE"
        )
    assert code(no_repository) == "RepositoryNotFoundException"


def test_lifecycle_previews_see_archived_images(registry, image):
    transition(registry, "ARCHIVE")
    expire_archived = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "any",
            "storageClass": "archive",
            "countType": "sinceImageTransitioned",
            "countUnit": "days",
            "countNumber": 90,
        },
        "action": {"type": "expire"},
    }
    ecr = registry.client()
    text = json.dumps({"rules": [expire_archived]})

    def previewed() -> list[tuple[list[str], str]]:
        ecr.start_lifecycle_policy_preview(repositoryName="team/app", lifecyclePolicyText=text)
        results = ecr.get_lifecycle_policy_preview(repositoryName="team/app")["previewResults"]
        return [(r["imageTags"], r["storageClass"]) for r in results]

    registry.emulator.advance(days=89)
    assert previewed() == []  # the 90-day minimum storage duration
    registry.emulator.advance(days=2)
    assert previewed() == [(["v1"], "ARCHIVE")]  # only the archived image; v2 is standard


def test_a_status_outside_the_model_enum_is_a_validation_error(registry, image):
    for call in (registry.client().list_images, registry.client().describe_images):
        with pytest.raises(ClientError) as refused:
            call(repositoryName="team/app", filter={"imageStatus": "FROZEN"})
        assert code(refused) == "ValidationException"
        assert "ACTIVE, ARCHIVED, ACTIVATING, ANY" in str(refused.value)
