"""One image, two doors: what /v2/ pushes the API describes, what the API writes /v2/ serves, events from both."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import urllib3
from botocore.exceptions import ClientError

from ecrlab.emulator.clock import WORKSHOP_START
from tests.oci import OCI_INDEX, OCI_MANIFEST, V2, digest_of, errors, image_manifest, index_manifest


@pytest.fixture
def v2(registry):
    registry.client().create_repository(repositoryName="app")
    return V2(registry)


def sdk_upload(ecr, repository: str, data: bytes, part: int = 4) -> str:
    """Upload a layer the way the AWS SDKs do: initiate, parts, complete."""
    upload_id = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    for start in range(0, len(data), part):
        chunk = data[start : start + part]
        ecr.upload_layer_part(
            repositoryName=repository,
            uploadId=upload_id,
            partFirstByte=start,
            partLastByte=start + len(chunk) - 1,
            layerPartBlob=chunk,
        )
    return ecr.complete_layer_upload(repositoryName=repository, uploadId=upload_id, layerDigests=[digest_of(data)])[
        "layerDigest"
    ]


def test_a_v2_push_is_what_the_api_describes(registry, v2):
    registry.emulator.advance(hours=1)
    config, layers = b'{"os":"linux"}', [b"first layer", b"second, longer layer"]
    manifest, digest = v2.push("app", "v1", layers, config)
    ecr = registry.client()
    [detail] = ecr.describe_images(repositoryName="app")["imageDetails"]
    assert detail["imageDigest"] == digest
    assert detail["imageTags"] == ["v1"]
    assert detail["imageSizeInBytes"] == len(config) + sum(len(layer) for layer in layers)
    assert detail["imageManifestMediaType"] == OCI_MANIFEST
    assert detail["artifactMediaType"] == "application/vnd.oci.image.config.v1+json"
    assert detail["imagePushedAt"] == WORKSHOP_START + timedelta(hours=1)
    assert ecr.list_images(repositoryName="app")["imageIds"] == [{"imageDigest": digest, "imageTag": "v1"}]
    [image] = ecr.batch_get_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])["images"]
    assert image["imageManifest"] == manifest.decode()
    assert image["imageManifestMediaType"] == OCI_MANIFEST


def test_an_sdk_push_is_what_v2_serves(registry, v2):
    ecr = registry.client()
    config, layer = b"{}", b"pushed through the layer APIs"
    assert sdk_upload(ecr, "app", config) == digest_of(config)
    sdk_upload(ecr, "app", layer)
    available = ecr.batch_check_layer_availability(repositoryName="app", layerDigests=[digest_of(layer)])
    assert available["layers"][0]["layerAvailability"] == "AVAILABLE"
    manifest = image_manifest(config, [layer])
    pushed = ecr.put_image(repositoryName="app", imageManifest=manifest.decode(), imageTag="sdk")["image"]
    assert pushed["imageId"]["imageDigest"] == digest_of(manifest)
    response = v2("GET", "/v2/app/manifests/sdk")
    assert response.data == manifest and response.headers["Docker-Content-Digest"] == digest_of(manifest)
    assert v2("GET", f"/v2/app/blobs/{digest_of(layer)}").data == layer


def test_a_v2_blob_is_available_to_the_layer_apis(registry, v2):
    digest = v2.upload("app", b"over v2")
    ecr = registry.client()
    result = ecr.batch_check_layer_availability(repositoryName="app", layerDigests=[digest])
    assert [layer["layerSize"] for layer in result["layers"]] == [7]
    url = ecr.get_download_url_for_layer(repositoryName="app", layerDigest=digest)["downloadUrl"]
    http = urllib3.PoolManager(retries=False)
    assert http.request("GET", url).data == b"over v2"  # presigned: no credentials needed
    tampered = url.replace("signature=", "signature=0")
    assert http.request("GET", tampered).status == 403
    registry.emulator.advance(hours=2)
    assert http.request("GET", url).status == 403


def test_layer_api_errors(registry, v2):
    ecr = registry.client()
    upload_id = ecr.initiate_layer_upload(repositoryName="app")["uploadId"]
    ecr.upload_layer_part(
        repositoryName="app", uploadId=upload_id, partFirstByte=0, partLastByte=2, layerPartBlob=b"abc"
    )
    with pytest.raises(ClientError, match="InvalidLayerPartException"):
        ecr.upload_layer_part(
            repositoryName="app", uploadId=upload_id, partFirstByte=10, partLastByte=12, layerPartBlob=b"def"
        )
    with pytest.raises(ClientError, match="InvalidLayerException"):
        ecr.complete_layer_upload(repositoryName="app", uploadId=upload_id, layerDigests=[digest_of(b"other")])
    ecr.complete_layer_upload(repositoryName="app", uploadId=upload_id, layerDigests=[digest_of(b"abc")])
    with pytest.raises(ClientError, match="UploadNotFoundException"):
        ecr.complete_layer_upload(repositoryName="app", uploadId=upload_id, layerDigests=[digest_of(b"abc")])
    with pytest.raises(ClientError, match="LayerAlreadyExistsException"):
        sdk_upload(ecr, "app", b"abc")
    empty = ecr.initiate_layer_upload(repositoryName="app")["uploadId"]
    with pytest.raises(ClientError, match="EmptyUploadException"):
        ecr.complete_layer_upload(repositoryName="app", uploadId=empty, layerDigests=[digest_of(b"")])
    with pytest.raises(ClientError, match="LayersNotFoundException"):
        ecr.get_download_url_for_layer(repositoryName="app", layerDigest=digest_of(b"nope"))


def test_put_image_checks_what_the_manifest_references(registry, v2):
    ecr = registry.client()
    manifest = image_manifest(b"{}", [b"never uploaded"]).decode()
    with pytest.raises(ClientError, match="LayersNotFoundException"):
        ecr.put_image(repositoryName="app", imageManifest=manifest, imageTag="v1")
    child, _ = v2.push("app", digest_of(image_manifest(b"{}", [b"amd"])), [b"amd"])
    index = index_manifest(child, image_manifest(b"{}", [b"arm"])).decode()
    with pytest.raises(ClientError, match="ReferencedImagesNotFoundException"):
        ecr.put_image(repositoryName="app", imageManifest=index, imageTag="multi")
    with pytest.raises(ClientError, match="ImageDigestDoesNotMatchException"):
        ecr.put_image(repositoryName="app", imageManifest=child.decode(), imageDigest=digest_of(b"x"))
    with pytest.raises(ClientError, match="RepositoryNotFoundException"):
        ecr.put_image(repositoryName="missing", imageManifest=child.decode(), imageTag="v1")


def test_an_index_weighs_as_its_largest_image(registry, v2):
    small, _ = v2.push("app", digest_of(image_manifest(b"{}", [b"s"])), [b"s"])
    large, _ = v2.push("app", digest_of(image_manifest(b"{}", [b"l" * 100])), [b"l" * 100])
    index = index_manifest(small, large)
    assert v2.put_manifest("app", "multi", index, OCI_INDEX).status == 201
    [detail] = registry.client().describe_images(repositoryName="app", imageIds=[{"imageTag": "multi"}])["imageDetails"]
    assert detail["imageSizeInBytes"] == 2 + 100
    assert detail["imageManifestMediaType"] == OCI_INDEX


def test_api_deletes_are_visible_over_v2(registry, v2):
    v2.push("app", "v1", [b"doomed"])
    registry.client().batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v1"}])
    assert errors(v2("GET", "/v2/app/manifests/v1")) == ["MANIFEST_UNKNOWN"]


def test_a_moved_tag_leaves_the_old_image_untagged(registry, v2):
    _, old = v2.push("app", "latest", [b"build 1"])
    _, new = v2.push("app", "latest", [b"build 2"])
    ids = registry.client().list_images(repositoryName="app")["imageIds"]
    assert sorted(ids, key=lambda i: i["imageDigest"]) == sorted(
        [{"imageDigest": old}, {"imageDigest": new, "imageTag": "latest"}], key=lambda i: i["imageDigest"]
    )
    assert v2("GET", f"/v2/app/manifests/{old}").status == 200


def test_immutable_tags_on_both_paths(registry, v2):
    ecr = registry.client()
    ecr.create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    first, _ = v2.push("locked", "v1", [b"release"])
    again = v2.put_manifest("locked", "v1", first)  # even the identical image, as ECR does
    assert again.status == 400 and errors(again) == ["TAG_INVALID"]
    assert "cannot be overwritten" in json.loads(again.data)["errors"][0]["message"]
    other, _ = v2.push("locked", "v2", [b"another release"])
    with pytest.raises(ClientError) as excinfo:
        ecr.put_image(repositoryName="locked", imageManifest=other.decode(), imageTag="v1")
    assert excinfo.value.response["Error"]["Code"] == "ImageTagAlreadyExistsException"
    assert errors(v2.put_manifest("locked", "v1", other)) == ["TAG_INVALID"]


def test_mutable_api_push_of_the_same_image_and_tag(registry, v2):
    manifest, _ = v2.push("app", "v1", [b"same"])
    with pytest.raises(ClientError, match="ImageAlreadyExistsException"):
        registry.client().put_image(repositoryName="app", imageManifest=manifest.decode(), imageTag="v1")


def test_exclusion_filters_make_some_tags_mutable(registry, v2):
    registry.client().create_repository(
        repositoryName="mostly-locked",
        imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
        imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}],
    )
    v2.push("mostly-locked", "latest", [b"one"])
    v2.push("mostly-locked", "v1", [b"one"])
    _, moved = v2.push("mostly-locked", "latest", [b"two"])
    assert json.loads(v2("GET", "/v2/mostly-locked/tags/list").data)["tags"] == ["latest", "v1"]
    assert v2("GET", "/v2/mostly-locked/manifests/latest").headers["Docker-Content-Digest"] == moved
    refused = v2.put_manifest("mostly-locked", "v1", image_manifest(b"{}", [b"two"]))
    assert errors(refused) == ["TAG_INVALID"]


@pytest.fixture
def queue(registry):
    """An EventBridge rule for ECR image actions with an SQS target; yields a function reading its messages."""
    sqs, events = registry.client("sqs"), registry.client("events")
    url = sqs.create_queue(QueueName="ecr-image-actions")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["aws.ecr"], "detail-type": ["ECR Image Action"]}
    events.put_rule(Name="image-actions", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="image-actions", Targets=[{"Id": "queue", "Arn": arn}])

    def received() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    return received


def test_pushes_and_deletes_reach_eventbridge(registry, v2, queue):
    _, over_v2 = v2.push("app", "v1", [b"event me"])
    ecr = registry.client()
    manifest = image_manifest(b"{}", [b"event me", b"too"])
    sdk_upload(ecr, "app", b"too")
    over_api = ecr.put_image(repositoryName="app", imageManifest=manifest.decode(), imageTag="v2")["image"]
    v2("DELETE", "/v2/app/manifests/v1")
    ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v2"}])
    events = queue()
    assert [(e["detail"]["action-type"], e["detail"]["image-tag"]) for e in events] == [
        ("PUSH", "v1"),
        ("PUSH", "v2"),
        ("DELETE", "v1"),
        ("DELETE", "v2"),
    ]
    first = events[0]
    assert (first["source"], first["detail-type"], first["resources"]) == ("aws.ecr", "ECR Image Action", [])
    assert first["detail"] == {
        "result": "SUCCESS",
        "repository-name": "app",
        "image-digest": over_v2,
        "action-type": "PUSH",
        "image-tag": "v1",
    }
    assert events[1]["detail"]["image-digest"] == over_api["imageId"]["imageDigest"]
    assert first["time"] == "2025-06-02T09:00:00Z"


def test_events_stay_in_their_region(registry, v2, queue):
    eu = registry.in_region("eu-west-1")
    eu.client().create_repository(repositoryName="app")
    V2(eu).push("app", "v1", [b"in europe"])
    assert queue() == []
