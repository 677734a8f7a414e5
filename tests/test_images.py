"""ecrlab.images: push, pull, copy and inspect the sample layouts, and the errors a learner can act on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.stub import Stubber

from ecrlab import images
from ecrlab.errors import (
    AccessDeniedError,
    AuthenticationError,
    EcrlabError,
    ImageNotFoundError,
    ImmutableTagError,
    RegistryError,
    RepositoryNotFoundError,
)
from ecrlab.oci_layout import OciLayoutError, blob_digests, read_layout

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"
SAMPLES = {
    "alpine-node": "18-alpine",
    "alpine-node-fixed": "18-alpine-fixed",
    "debian-app": "bookworm",
    "distroless-static": "nonroot",
    "scratch-binary": "latest",
    "alpine-multiarch": "3.19",
}


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_push_then_pull_round_trips_every_sample(registry, tmp_path, sample):
    tag = SAMPLES[sample]
    registry.client().create_repository(repositoryName=f"samples/{sample}")
    layout = read_layout(IMAGES / sample)
    digest = images.push(registry, IMAGES / sample, f"samples/{sample}")
    assert digest == layout.refs[tag]["digest"]
    assert images.pull(registry, f"samples/{sample}", tag, tmp_path) == digest
    pulled = read_layout(tmp_path)
    assert pulled.refs[tag]["digest"] == digest
    for blob in blob_digests(layout, tag):
        name = blob.removeprefix("sha256:")
        assert (tmp_path / "blobs/sha256" / name).read_bytes() == (IMAGES / sample / "blobs/sha256" / name).read_bytes()


def test_push_skips_blobs_the_repository_has(registry):
    registry.client().create_repository(repositoryName="node")
    moved: list[images.Transfer] = []
    images.push(registry, IMAGES / "alpine-node", "node", progress=moved.append)
    assert {t.digest for t in moved} == set(blob_digests(read_layout(IMAGES / "alpine-node"), "18-alpine")[:-1])
    assert all(t.direction == "push" and t.done == t.total for t in moved)
    moved.clear()
    images.push(registry, IMAGES / "alpine-node", "node", "again", progress=moved.append)
    assert moved == []
    tags = registry.client().list_images(repositoryName="node")["imageIds"]
    assert sorted(i["imageTag"] for i in tags) == ["18-alpine", "again"]


def test_a_layout_and_tag_may_be_named_together(registry):
    registry.client().create_repository(repositoryName="node")
    digest = images.push(registry, f"{IMAGES / 'alpine-node'}:18-alpine", "node", "v1")
    assert images.inspect(registry, "node", "v1")["digest"] == digest
    with pytest.raises(RegistryError, match="no tag 'nope'"):
        images.push(registry, f"{IMAGES / 'alpine-node'}:nope", "node")
    with pytest.raises(OciLayoutError):
        images.push(registry, IMAGES / "does-not-exist", "node")


def test_pull_by_digest_and_into_an_existing_layout(registry, tmp_path):
    registry.client().create_repository(repositoryName="node")
    old = images.push(registry, IMAGES / "alpine-node", "node", "old")
    new = images.push(registry, IMAGES / "alpine-node-fixed", "node", "new")
    images.pull(registry, "node", "old", tmp_path)
    images.pull(registry, "node", "new", tmp_path)
    images.pull(registry, "node", new, tmp_path)
    images.pull(registry, "node", "old", tmp_path)  # again: replaces its entry, does not duplicate it
    layout = read_layout(tmp_path)
    assert {tag: ref["digest"] for tag, ref in layout.refs.items()} == {"old": old, "new": new}
    assert [m["digest"] for m in layout.index["manifests"]].count(old) == 1


def test_inspect_an_image_and_an_index(registry):
    registry.client().create_repository(repositoryName="alpine")
    images.push(registry, IMAGES / "alpine-multiarch", "alpine")
    images.push(registry, IMAGES / "alpine-node", "alpine", "node")
    node = images.inspect(registry, "alpine", "node")
    assert node["media_type"] == "application/vnd.oci.image.manifest.v1+json"
    assert node["platforms"] == ["linux/amd64"]
    assert [layer["size"] for layer in node["layers"]] == [6189, 936]
    described = registry.client().describe_images(repositoryName="alpine", imageIds=[{"imageTag": "node"}])
    assert node["size"] == described["imageDetails"][0]["imageSizeInBytes"]
    multi = images.inspect(registry, "alpine", "3.19")
    assert multi["platforms"] == ["linux/amd64", "linux/arm64/v8"]
    assert multi["size"] == max(child["size"] for child in multi["manifests"])
    assert multi["layers"] == [] and len(multi["manifests"]) == 2
    described = registry.client().describe_images(repositoryName="alpine", imageIds=[{"imageTag": "3.19"}])
    assert multi["size"] == described["imageDetails"][0]["imageSizeInBytes"]


def test_copy_within_a_registry_and_across_regions(registry):
    ecr = registry.client()
    for name in ("source", "mirror"):
        ecr.create_repository(repositoryName=name)
    digest = images.push(registry, IMAGES / "alpine-multiarch", "source")
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    moved: list[images.Transfer] = []
    assert images.copy(registry, "source", "3.19", registry, "mirror", progress=moved.append) == digest
    assert moved == []  # every layer was mounted, no bytes moved
    assert images.inspect(registry, "mirror", "3.19")["digest"] == digest
    europe = registry.in_region("eu-west-1")
    europe.client().create_repository(repositoryName="mirror")
    assert images.copy(registry, "source", digest, europe, "mirror", "stable") == digest
    assert images.inspect(europe, "mirror", "stable")["platforms"] == ["linux/amd64", "linux/arm64/v8"]


def test_missing_repository_says_what_to_do(registry):
    with pytest.raises(RepositoryNotFoundError) as excinfo:
        images.push(registry, IMAGES / "alpine-node", "not-created")
    assert "create it" in str(excinfo.value) and "CREATE_ON_PUSH" in str(excinfo.value)
    assert isinstance(excinfo.value, EcrlabError)


def test_a_create_on_push_template_creates_the_repository_on_push(registry):
    ecr = registry.client()
    ecr.create_repository_creation_template(
        prefix="apps", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE"
    )
    digest = images.push(registry, IMAGES / "alpine-node", "apps/web")
    [repository] = ecr.describe_repositories(repositoryNames=["apps/web"])["repositories"]
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert images.inspect(registry, "apps/web", "18-alpine")["digest"] == digest
    with pytest.raises(RepositoryNotFoundError):
        images.push(registry, IMAGES / "alpine-node", "tools/web")


def test_missing_image(registry, tmp_path):
    registry.client().create_repository(repositoryName="empty")
    with pytest.raises(ImageNotFoundError, match="empty:nope"):
        images.pull(registry, "empty", "nope", tmp_path)


def test_immutable_tag(registry):
    registry.client().create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    images.push(registry, IMAGES / "alpine-node", "locked", "v1")
    with pytest.raises(ImmutableTagError, match="already exists"):
        images.push(registry, IMAGES / "alpine-node-fixed", "locked", "v1")


def test_another_accounts_repository_needs_its_policy(registry, tmp_path):
    registry.client().create_repository(repositoryName="shared")
    images.push(registry, IMAGES / "alpine-node", "shared")
    bob = registry.assume_role("arn:aws:iam::210987654321:role/Reader", "bob")
    with pytest.raises(AccessDeniedError, match="not authorized"):
        images.pull(bob, "shared", "18-alpine", tmp_path, registry_id="123456789012")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
    registry.client().set_repository_policy(repositoryName="shared", policyText=json.dumps(policy))
    assert images.pull(bob, "shared", "18-alpine", tmp_path, registry_id="123456789012")


def _stub_token(registry, endpoint: str, token: str) -> Stubber:
    stubber = Stubber(registry.client())
    data = {"authorizationToken": token, "expiresAt": datetime.now(UTC) + timedelta(hours=1), "proxyEndpoint": endpoint}
    stubber.add_response("get_authorization_token", {"authorizationData": [data]})
    return stubber


def test_rejected_credentials_are_an_authentication_error(registry):
    registry.client().create_repository(repositoryName="node")
    with (
        _stub_token(registry, registry.endpoint_url, "QVdTOm5vdC1hLXRva2Vu"),
        pytest.raises(AuthenticationError) as excinfo,
    ):
        images.push(registry, IMAGES / "alpine-node", "node")
    assert "get-login-password" in str(excinfo.value) and excinfo.value.status == 401


def test_an_unreachable_registry_is_a_registry_error(registry):
    with _stub_token(registry, "http://127.0.0.1:9", "QVdTOng="), pytest.raises(RegistryError, match="cannot reach"):
        images.inspect(registry, "node", "latest")


def test_large_transfers_print_progress(capsys):
    images.print_large_transfers(images.Transfer("push", "sha256:" + "a" * 64, 8_000_000, 50_000_000))
    images.print_large_transfers(images.Transfer("push", "sha256:" + "b" * 64, 100, 1_000))
    err = capsys.readouterr().err
    assert err == "push sha256:aaaaaaaaaaaa 8.0/50.0 MB (16%)\n"


def test_transfers_through_one_registry_share_a_token_until_it_expires(registry):
    """A token lasts 12 hours (GetAuthorizationToken, as docker credential helpers reuse it): one per handle, and a
    new one once the registry's clock has passed that, since the old one is refused then."""
    asked = []
    registry.client().meta.events.register("before-call.ecr.GetAuthorizationToken", lambda **_: asked.append(1))
    registry.client().create_repository(repositoryName="node")
    digest = images.push(registry, IMAGES / "alpine-node", "node")
    images.push(registry, IMAGES / "alpine-node", "node", "again")
    assert images.inspect(registry, "node", "again")["digest"] == digest
    assert len(asked) == 1
    registry.emulator.advance(hours=12)
    assert images.inspect(registry, "node", "again")["digest"] == digest
    assert len(asked) == 2
