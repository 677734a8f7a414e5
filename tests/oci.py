"""A bare OCI distribution client for tests: raw requests, so status codes and headers can be asserted."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from typing import Any

import urllib3

from ecrlab.registry import Registry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def login(registry: Registry, **token_args: Any) -> tuple[str, dict[str, str]]:
    """(endpoint, auth header) from GetAuthorizationToken, as a docker client would use them."""
    data = registry.client().get_authorization_token(**token_args)["authorizationData"][0]
    return data["proxyEndpoint"], {"Authorization": f"Basic {data['authorizationToken']}"}


class V2:
    """Requests to a registry's /v2/ with a token of `registry` (or none)."""

    def __init__(self, registry: Registry, authenticated: bool = True, **token_args: Any) -> None:
        self.base, auth = login(registry, **token_args)
        self.headers = auth if authenticated else {}
        self.http = urllib3.PoolManager(retries=False)

    def __call__(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> urllib3.BaseHTTPResponse:
        url = path if path.startswith("http") else self.base + path
        return self.http.request(method, url, body=body, headers={**self.headers, **(headers or {})})

    def upload(self, repository: str, data: bytes) -> str:
        """A monolithic upload (POST then PUT); returns the digest."""
        digest = digest_of(data)
        started = self("POST", f"/v2/{repository}/blobs/uploads/")
        assert started.status == 202, started.data
        done = self("PUT", f"{started.headers['Location']}?digest={digest}", body=data)
        assert done.status == 201, done.data
        return digest

    def push(self, repository: str, reference: str, layers: list[bytes], config: bytes = b"{}") -> tuple[bytes, str]:
        """Upload the blobs and PUT an OCI manifest for them; returns (manifest bytes, digest)."""
        manifest = image_manifest(config, layers)
        for blob in (config, *layers):
            self.upload(repository, blob)
        response = self.put_manifest(repository, reference, manifest)
        assert response.status == 201, response.data
        return manifest, digest_of(manifest)

    def put_manifest(
        self, repository: str, reference: str, manifest: bytes, media_type: str = OCI_MANIFEST
    ) -> urllib3.BaseHTTPResponse:
        return self("PUT", f"/v2/{repository}/manifests/{reference}", manifest, {"Content-Type": media_type})


def image_manifest(config: bytes, layers: list[bytes]) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": CONFIG, "digest": digest_of(config), "size": len(config)},
            "layers": [{"mediaType": LAYER, "digest": digest_of(layer), "size": len(layer)} for layer in layers],
        }
    ).encode()


PLATFORMS = [{"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "arm64"}]


def index_manifest(*manifests: bytes) -> bytes:
    """An OCI index of (up to two) image manifests, amd64 then arm64."""
    entries = [
        {"mediaType": OCI_MANIFEST, "digest": digest_of(m), "size": len(m), "platform": PLATFORMS[i]}
        for i, m in enumerate(manifests)
    ]
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()


def errors(response: urllib3.BaseHTTPResponse) -> list[str]:
    """The spec's error codes in a response body."""
    return [error["code"] for error in json.loads(response.data)["errors"]]


def layer(entries: dict[str, bytes | str | None], *, compress: bool = True) -> bytes:
    """A layer tarball: bytes are files, None a directory, and "-> target" a symlink."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content.removeprefix("-> ")
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    data = buffer.getvalue()
    return gzip.compress(data, mtime=0) if compress else data
