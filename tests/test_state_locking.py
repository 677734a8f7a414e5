"""One locking rule for both paths (ecrlab.emulator.state): API writes and /v2/ pushes of the same registry,
run at once, leave the state each would leave alone — on ECR an image digest is one image, whichever path tagged it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, wait

import pytest

from ecrlab.emulator.layers import UploadsState
from ecrlab.emulator.moto_compat import ecr_backends
from ecrlab.emulator.state import STATE_LOCK, registry_state, state_of
from ecrlab.registry import DEMO_ACCOUNT_ID
from tests.oci import OCI_MANIFEST, V2, digest_of, image_manifest

IMAGES = 6


def test_api_puts_and_v2_pushes_of_the_same_images_make_one_image_per_digest(registry):
    ecr = registry.client()
    ecr.create_repository(repositoryName="mixed")
    v2 = V2(registry)
    manifests = []
    for i in range(IMAGES):
        config, layer = f'{{"n":{i}}}'.encode(), f"layer {i}".encode()
        v2.upload("mixed", config)
        v2.upload("mixed", layer)
        manifests.append(image_manifest(config, [layer]))
    start = threading.Barrier(2 * IMAGES + 2)

    def over_v2(i: int) -> int:
        start.wait()
        return v2.put_manifest("mixed", f"v2-{i}", manifests[i]).status

    def over_api(i: int) -> int:
        start.wait()
        ecr.put_image(
            repositoryName="mixed",
            imageTag=f"api-{i}",
            imageManifest=manifests[i].decode(),
            imageManifestMediaType=OCI_MANIFEST,
        )
        return 201

    def settings() -> int:  # an ecrlab-answered API write to a feature state, at the same time
        start.wait()
        ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[])
        return 201

    def tagging() -> int:  # a moto-answered API write to the same repository, at the same time
        start.wait()
        arn = ecr.describe_repositories(repositoryNames=["mixed"])["repositories"][0]["repositoryArn"]
        ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "lab"}])
        return 201

    with ThreadPoolExecutor(2 * IMAGES + 2) as pool:
        futures = [pool.submit(over_v2, i) for i in range(IMAGES)] + [pool.submit(over_api, i) for i in range(IMAGES)]
        futures += [pool.submit(settings), pool.submit(tagging)]
        assert [f.result(timeout=60) for f in futures] == [201] * (2 * IMAGES + 2)

    details = ecr.describe_images(repositoryName="mixed")["imageDetails"]
    by_digest = {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in details}
    assert len(details) == IMAGES == len(by_digest)
    assert by_digest == {digest_of(m): sorted([f"api-{i}", f"v2-{i}"]) for i, m in enumerate(manifests)}
    arn = ecr.describe_repositories(repositoryNames=["mixed"])["repositories"][0]["repositoryArn"]
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "lab"}]


def test_writes_on_both_paths_wait_for_the_state_lock_and_reads_do_not(registry):
    """The rule itself: while STATE_LOCK is held, an ecrlab-answered API write, a moto-answered API write and a /v2/
    manifest push all wait; a read answers. (A wait can only make this pass late, never fail early.)"""
    ecr = registry.client()
    arn = ecr.create_repository(repositoryName="held")["repository"]["repositoryArn"]
    v2 = V2(registry)
    config, layer = b"{}", b"one layer"
    v2.upload("held", config)
    v2.upload("held", layer)
    writes = {
        "ecrlab API write": lambda: ecr.put_registry_scanning_configuration(scanType="BASIC", rules=[]),
        "moto API write": lambda: ecr.tag_resource(resourceArn=arn, tags=[{"Key": "k", "Value": "v"}]),
        "/v2/ push": lambda: v2.put_manifest("held", "v1", image_manifest(config, [layer])),
    }
    with ThreadPoolExecutor(len(writes)) as pool:
        with STATE_LOCK:
            pending = {name: pool.submit(write) for name, write in writes.items()}
            assert ecr.describe_repositories(repositoryNames=["held"])["repositories"][0]["repositoryArn"] == arn
            wait(pending.values(), timeout=1)
            assert [name for name, f in pending.items() if f.done()] == []
        assert all(f.result(timeout=60) is not None for f in pending.values())
    assert ecr.describe_images(repositoryName="held")["imageDetails"][0]["imageTags"] == ["v1"]
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "k", "Value": "v"}]


def test_each_feature_state_is_its_own_typed_part_made_on_first_use(registry):
    registry.client().create_repository(repositoryName="app")  # the registry's moto backend exists from here on
    backend = ecr_backends[DEMO_ACCOUNT_ID][registry.region]
    uploads = state_of(backend, UploadsState)
    assert uploads.uploads == {} and state_of(backend, UploadsState) is uploads
    assert UploadsState in registry_state(backend).parts


def test_an_unregistered_state_class_is_refused(registry):
    class NotAFeature:
        pass

    with pytest.raises(KeyError, match="feature_state"):
        state_of(ecr_backends[DEMO_ACCOUNT_ID][registry.region], NotAFeature)
