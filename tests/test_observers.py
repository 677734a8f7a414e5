"""Push and delete listeners fire once per image for both paths (the API and /v2/)."""

from __future__ import annotations

import pytest

from ecrlab import images
from ecrlab.emulator import observers
from tests.conftest import ROOT


@pytest.fixture
def seen():
    calls: list[tuple[str, ...]] = []

    def on_push(backend, repository, image, tag):
        calls.append(("push", backend.region_name, repository, image.image_digest, tag))

    def on_delete(backend, repository, digest, tag):
        calls.append(("delete", backend.region_name, repository, digest, tag))

    observers.on_push(on_push)
    observers.on_delete(on_delete)
    yield calls
    observers._ON_PUSH.remove(on_push)
    observers._ON_DELETE.remove(on_delete)


def test_push_over_oci_and_delete_over_api_notify_once(registry, seen):
    registry.client().create_repository(repositoryName="app")
    images.push(registry, ROOT / "data" / "images" / "alpine-node", "app")
    pushes = [call for call in seen if call[0] == "push"]
    assert len(pushes) == 1 and pushes[0][1:3] == ("us-east-1", "app") and pushes[0][4] == "18-alpine"
    digest = pushes[0][3]
    registry.client().batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": digest}])
    assert seen[-1][:4] == ("delete", "us-east-1", "app", digest)
