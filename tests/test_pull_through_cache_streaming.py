"""A pull through cache miss streams: the client gets a layer's bytes while the upstream is still sending it.

The upstream is a small registry on loopback that this test steers: it sends half of a layer, then waits until
the test lets it go on, breaks the connection off, or sends wrong bytes. The witnesses are the bytes the client
reads (against the layer's digest) and what the upstream was asked for; no timing is asserted.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3

from ecrlab.emulator import blobstore, upstream_standins
from ecrlab.emulator.blobstore import BlobStore, shared_store
from tests.oci import CONFIG, OCI_MANIFEST, V2, digest_of

CONFIG_BLOB = b'{"architecture":"amd64","os":"linux"}'
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass
class Upstream:
    """What the upstream does with its layer and what it was asked. It sends half the layer, then, unless `mode`
    is `send`, waits for `release` and sends the rest (`pause`), breaks the connection off (`break`), or has sent
    other bytes than the layer's all along (`corrupt`).

    Each test gets a new random layer: the emulator's blob store outlives a reset, and must not hold it yet."""

    url: str = ""
    mode: str = "send"
    layer: bytes = field(default_factory=lambda: os.urandom(4 * 1024 * 1024))
    release: threading.Event = field(default_factory=threading.Event)
    layer_gets: int = 0

    @property
    def digest(self) -> str:
        return digest_of(self.layer)

    def manifest(self) -> bytes:
        config = {"mediaType": CONFIG, "digest": digest_of(CONFIG_BLOB), "size": len(CONFIG_BLOB)}
        layer = {"mediaType": LAYER_TYPE, "digest": self.digest, "size": len(self.layer)}
        return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}).encode()


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, body: bytes, media_type: str = "application/octet-stream") -> None:
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Docker-Content-Digest", digest_of(body))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            if self.path == "/v2/":
                return self._send(b"{}", "application/json")
            if self.path.endswith("/manifests/1"):
                return self._send(upstream.manifest(), OCI_MANIFEST)
            if self.path.endswith(digest_of(CONFIG_BLOB)):
                return self._send(CONFIG_BLOB)
            if not self.path.endswith(upstream.digest):
                return self.send_error(404)
            upstream.layer_gets += 1
            half = len(upstream.layer) // 2
            body = os.urandom(len(upstream.layer)) if upstream.mode == "corrupt" else upstream.layer
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:half])
            self.wfile.flush()
            if upstream.mode != "send" and not upstream.release.wait(timeout=30):
                return  # the client never got the first half while the upstream waited: no streaming
            if upstream.mode != "break":  # HTTP/1.0: on a break the connection closes with half the bytes sent
                self.wfile.write(body[half:])

    return Handler


@pytest.fixture
def upstream(registry, monkeypatch: pytest.MonkeyPatch) -> Iterator[Upstream]:
    """The steerable upstream, reached as quay.io through a rule `quay` (quay.io needs no credential)."""
    state = Upstream()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    where = upstream_standins.where
    monkeypatch.setattr(
        upstream_standins, "where", lambda host, own: (state.url, None) if host == "quay.io" else where(host, own)
    )
    registry.client().create_pull_through_cache_rule(ecrRepositoryPrefix="quay", upstreamRegistryUrl="quay.io")
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


def layer_path(upstream: Upstream) -> str:
    return f"/v2/quay/libpod/big/blobs/{upstream.digest}"


def open_layer(v2: V2, upstream: Upstream) -> urllib3.BaseHTTPResponse:
    """Pull the manifest (a miss), then start reading the layer."""
    assert v2("GET", "/v2/quay/libpod/big/manifests/1", headers={"Accept": OCI_MANIFEST}).status == 200
    response = v2.http.request("GET", v2.base + layer_path(upstream), headers=v2.headers, preload_content=False)
    assert response.status == 200
    return response


def rest_of(response: urllib3.BaseHTTPResponse) -> bytes:
    return b"".join(response.stream(1 << 16))


def test_a_miss_hands_the_layer_on_while_the_upstream_still_sends_it(registry, upstream):
    upstream.mode = "pause"
    v2 = V2(registry)
    first = open_layer(v2, upstream)
    start = first.read(1 << 16)  # the upstream has sent half and waits for the test: these bytes came through
    assert start == upstream.layer[: len(start)] and len(start) > 0 and not upstream.release.is_set()
    second = v2.http.request("GET", v2.base + layer_path(upstream), headers=v2.headers, preload_content=False)
    upstream.release.set()
    assert hashlib.sha256(start + rest_of(first)).hexdigest() == upstream.digest.removeprefix("sha256:")
    assert rest_of(second) == upstream.layer  # a second reader during the fill gets the same, whole layer
    again = v2("GET", layer_path(upstream))
    assert again.data == upstream.layer and upstream.layer_gets == 1  # filled once, then served from the cache


@pytest.mark.parametrize("failure", ["break", "corrupt"])
def test_a_failed_fill_leaves_no_blob_and_the_next_pull_fetches_it_again(registry, upstream, failure):
    upstream.mode = failure
    v2 = V2(registry)
    response = open_layer(v2, upstream)
    assert len(response.read(1 << 16)) > 0
    upstream.release.set()
    with pytest.raises(urllib3.exceptions.ProtocolError):  # the download ends short: the client knows it failed
        rest_of(response)
    assert not shared_store().has(upstream.digest)
    upstream.mode = "send"
    again = v2("GET", layer_path(upstream))
    assert again.status == 200 and again.data == upstream.layer and upstream.layer_gets == 2


@pytest.fixture
def empty_store(tmp_path, monkeypatch: pytest.MonkeyPatch) -> BlobStore:
    """A blob store of the test's own: the shared one keeps blobs across resets, and earlier tests pushed the sample
    image whose layers the stand-in upstream serves, so a scan would find them whether the cache fetched them or not."""
    store = BlobStore(tmp_path / "store")
    monkeypatch.setattr(blobstore, "_shared", store)
    return store


def _cached_layers(registry, store: BlobStore) -> list[str]:
    """Pull only the cached image's manifest; return its layers' digests, none of them in `store` yet."""
    answer = V2(registry)("GET", "/v2/docker/node/manifests/18-alpine", headers={"Accept": OCI_MANIFEST})
    assert answer.status == 200
    layers = [layer["digest"] for layer in json.loads(answer.data)["layers"]]
    assert layers and not any(store.has(digest) for digest in layers)
    return layers


def test_a_cached_image_scanned_on_push_is_scanned_with_layers_nobody_pulled_yet(registry, empty_store):
    """Scan on push reads the layers: the cache fetches them for it (the sample image is Alpine with packages)."""
    ecr = registry.client()
    every = [{"filter": "*", "filterType": "WILDCARD"}]
    ecr.put_registry_scanning_configuration(
        scanType="BASIC", rules=[{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": every}]
    )
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker", upstreamRegistryUrl="public.ecr.aws", upstreamRepositoryPrefix="docker/library"
    )
    layers = _cached_layers(registry, empty_store)
    registry.emulator.settle()  # scans finish in the background, as on AWS
    found = ecr.describe_image_scan_findings(repositoryName="docker/node", imageId={"imageTag": "18-alpine"})
    assert found["imageScanStatus"]["status"] == "COMPLETE" and found["imageScanFindings"]["findings"]
    assert all(empty_store.has(digest) for digest in layers)  # fetched for the scan


def test_a_cached_image_scanned_by_hand_is_scanned_with_layers_nobody_pulled_yet(registry, empty_store):
    """StartImageScan of a cached image whose layers only the manifest pull recorded: the scan fetches them."""
    ecr = registry.client()
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker", upstreamRegistryUrl="public.ecr.aws", upstreamRepositoryPrefix="docker/library"
    )
    layers = _cached_layers(registry, empty_store)
    ecr.start_image_scan(repositoryName="docker/node", imageId={"imageTag": "18-alpine"})
    registry.emulator.settle()
    found = ecr.describe_image_scan_findings(repositoryName="docker/node", imageId={"imageTag": "18-alpine"})
    assert found["imageScanStatus"]["status"] == "COMPLETE" and found["imageScanFindings"]["findings"]
    assert all(empty_store.has(digest) for digest in layers)  # fetched for the scan


def test_a_scan_whose_layer_fetch_breaks_unexpectedly_still_finishes(registry, monkeypatch):
    """The fetch before a scan runs outside the state lock, in whatever request or settle() runs background work: an
    error there must neither fail that call nor lose the scan (it finishes, FAILED if its blobs are missing)."""
    from ecrlab.emulator import scanning_operations

    ecr = registry.client()
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker", upstreamRegistryUrl="public.ecr.aws", upstreamRepositoryPrefix="docker/library"
    )
    assert V2(registry)("GET", "/v2/docker/node/manifests/18-alpine", headers={"Accept": OCI_MANIFEST}).status == 200

    def broken(_image):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(scanning_operations, "fill_missing_blobs", broken)
    ecr.start_image_scan(repositoryName="docker/node", imageId={"imageTag": "18-alpine"})
    assert registry.emulator.settle() >= 1
    status = ecr.describe_image_scan_findings(repositoryName="docker/node", imageId={"imageTag": "18-alpine"})
    assert status["imageScanStatus"]["status"] in ("COMPLETE", "FAILED")
