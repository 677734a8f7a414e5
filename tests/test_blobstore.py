"""The content-addressed blob store: streamed, verified, shared across repositories, regions and accounts."""

from __future__ import annotations

import io
import os
import subprocess

import pytest

import ecrlab
from ecrlab.emulator.blobstore import BlobStore, DigestMismatch, UploadUnknown, shared_store
from tests.conftest import BIN
from tests.oci import V2, digest_of


class TrickleStream(io.RawIOBase):
    """A stream that hands out a few bytes per read, like a socket does."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk, self.data = bytes(self.data[:3]), self.data[3:]
        return chunk


def test_upload_streams_in_pieces_and_commits_under_its_digest(tmp_path):
    store = BlobStore(tmp_path)
    upload = store.begin_upload()
    assert store.append(upload, TrickleStream(b"hello ")) == 6
    assert store.append(upload, io.BytesIO(b"world and more"), length=5) == 11
    digest = digest_of(b"hello world")
    assert store.upload_digest(upload) == digest
    assert store.commit(upload, digest) == 11
    assert store.has(digest) and store.size(digest) == 11
    assert b"".join(store.read(digest)) == b"hello world"
    assert store.path(digest) == tmp_path / "blobs" / "sha256" / digest.removeprefix("sha256:")
    assert os.listdir(tmp_path / "uploads") == []
    with pytest.raises(UploadUnknown):
        store.upload_size(upload)


def test_a_wrong_digest_is_refused_and_nothing_is_stored(tmp_path):
    store = BlobStore(tmp_path)
    upload = store.begin_upload()
    store.append(upload, io.BytesIO(b"content"))
    with pytest.raises(DigestMismatch):
        store.commit(upload, digest_of(b"something else"))
    assert not store.has(digest_of(b"something else"))
    store.cancel(upload)
    assert os.listdir(tmp_path / "uploads") == []
    with pytest.raises(UploadUnknown):
        store.cancel(upload)


def test_only_sha256_digests(tmp_path):
    store = BlobStore(tmp_path)
    assert not store.has("md5:abc")
    with pytest.raises(ValueError):
        store.path("sha256:../../etc/passwd")


def test_a_default_store_lives_in_a_temporary_directory():
    store = BlobStore()
    assert store.root.is_dir() and "ecrlab-blobs-" in store.root.name


def test_one_file_for_a_blob_pushed_to_two_repositories_in_two_regions_and_accounts(registry):
    layer = os.urandom(4096)
    digest = digest_of(layer)
    other_account = registry.assume_role("arn:aws:iam::210987654321:role/Admin")
    for reg in (registry, registry.in_region("eu-west-1"), other_account):
        reg.client().create_repository(repositoryName="app")
        assert V2(reg).upload("app", layer) == digest
    files = [path for path in shared_store().root.rglob("*") if path.is_file() and path.read_bytes() == layer]
    assert files == [shared_store().path(digest)]
    for reg in (registry, registry.in_region("eu-west-1"), other_account):
        check = reg.client().batch_check_layer_availability(repositoryName="app", layerDigests=[digest])
        assert check["layers"][0]["layerAvailability"] == "AVAILABLE"


def test_having_the_bytes_is_not_having_the_blob(registry):
    """Repositories share bytes, not access: a blob pushed elsewhere is unknown here until pushed or mounted."""
    ecr = registry.client()
    for name in ("pushed-here", "not-here"):
        ecr.create_repository(repositoryName=name)
    v2 = V2(registry)
    digest = v2.upload("pushed-here", b"private layer")
    assert v2("GET", f"/v2/not-here/blobs/{digest}").status == 404
    assert v2("HEAD", f"/v2/pushed-here/blobs/{digest}").status == 200


def test_serve_keeps_blobs_in_the_data_dir(tmp_path):
    proc = subprocess.Popen(
        [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        registry = ecrlab.connect(endpoint_url=proc.stdout.readline().strip())
        registry.client().create_repository(repositoryName="app")
        digest = V2(registry).upload("app", b"kept on disk")
        assert (tmp_path / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes() == b"kept on disk"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_durable_store_commits_and_a_restart_drops_unfinished_uploads(tmp_path):
    store = BlobStore(tmp_path, durable=True)
    finished, unfinished = store.begin_upload(), store.begin_upload()
    store.append(finished, io.BytesIO(b"whole"))
    store.append(unfinished, io.BytesIO(b"half of it"))
    assert store.commit(finished, digest_of(b"whole")) == 5
    restarted = BlobStore(tmp_path, durable=True)
    restarted.clear_staging()
    assert restarted.path(digest_of(b"whole")).read_bytes() == b"whole"
    assert list((tmp_path / "uploads").iterdir()) == []
    with pytest.raises(UploadUnknown):
        restarted.upload_size(unfinished)
