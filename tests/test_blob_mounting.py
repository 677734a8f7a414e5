"""Cross-repository blob mounting under BLOB_MOUNTING, against the user guide ("Blob mounting in Amazon ECR").

The guide: mounting only within one registry, between repositories with the same encryption type and key, never for
pull through cache images, and the pusher needs ecr:GetDownloadUrlForLayer on the source repository. Anything a
registry does not mount is a normal upload: 202 and an upload location (OCI distribution spec).
"""

from __future__ import annotations

import pytest

from ecrlab import principals
from tests.oci import V2

PUSH = (
    "ecr:GetAuthorizationToken",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchCheckLayerAvailability",
    "ecr:PutImage",
)


@pytest.fixture
def shared(registry) -> str:
    """team/app holds a layer, BLOB_MOUNTING is ENABLED; returns the layer's digest."""
    ecr = registry.client()
    for name in ("team/app", "dest"):
        ecr.create_repository(repositoryName=name)
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")
    return V2(registry).upload("team/app", b"shared layer")


def mount(v2: V2, digest: str, source: str = "team/app", target: str = "dest") -> int:
    return v2("POST", f"/v2/{target}/blobs/uploads/?mount={digest}&from={source}").status


def test_the_pusher_needs_get_download_url_for_layer_on_the_source(registry, shared):
    without = principals.act_as_role(registry, "pusher", PUSH)
    assert mount(V2(without), shared) == 202
    downloader = principals.act_as_role(registry, "downloader", (*PUSH, "ecr:GetDownloadUrlForLayer"))
    assert mount(V2(downloader), shared) == 201


def test_repositories_with_different_encryption_do_not_share_blobs(registry, shared):
    registry.client().create_repository(repositoryName="sealed", encryptionConfiguration={"encryptionType": "KMS"})
    v2 = V2(registry)
    assert mount(v2, shared, target="sealed") == 202
    assert mount(v2, shared, target="dest") == 201


def test_pull_through_cache_repositories_are_not_mounted_from(registry, shared):
    ecr = registry.client()
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws")
    ecr.create_repository(repositoryName="ecr-public/library/alpine")
    v2 = V2(registry)
    cached = v2.upload("ecr-public/library/alpine", b"cached layer")
    assert mount(v2, cached, source="ecr-public/library/alpine") == 202
    assert mount(v2, shared) == 201
