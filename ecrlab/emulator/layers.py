"""The layer APIs (how the AWS SDKs push and pull) over the same blob store as `/v2/`.

moto keeps uploads in memory and has no download URL; here parts stream into the shared on-disk store, a
completed layer is recorded in moto's `Repository.layers` (the per-repository record `/v2/` reads too, so
`BatchCheckLayerAvailability` stays moto's own), and `GetDownloadUrlForLayer` answers with a signed,
short-lived URL on the emulator, like the presigned S3 URL AWS returns.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ecrlab.emulator.aws_errors import aws_error
from ecrlab.emulator.blobstore import shared_store
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.extension import Call, backend_hook, operation
from ecrlab.emulator.moto_compat import (
    DEFAULT_LAYER_PART_SIZE,
    ECRBackend,
    InvalidLayerPartException,
    UploadNotFoundException,
    get_repository,
)
from ecrlab.emulator.state import feature_state, state_of
from ecrlab.emulator.tokens import sign


@feature_state(persistent=False)
@dataclass
class UploadsState:
    """Open blob uploads, by either path (API or /v2/): upload id -> repository name. They end with the process."""

    uploads: dict[str, str] = field(default_factory=dict)


# How long a download URL works: AWS's presigned URL lifetime is not documented (UNCONFIRMED [U24]); one hour.
DOWNLOAD_URL_SECONDS = 3600


def _owned_upload(backend: ECRBackend, repository_name: str, upload_id: str, registry_id: str | None) -> None:
    repository = get_repository(backend, repository_name, registry_id)
    # An upload idle for a day is removed from the store (distribution.ABANDONED_AFTER): then it is unknown too.
    opened_for = state_of(backend, UploadsState).uploads.get(upload_id)
    if opened_for != repository_name or not shared_store().has_upload(upload_id):
        raise UploadNotFoundException(upload_id, repository_name, repository.registry_id)


@backend_hook("initiate_layer_upload", ("InitiateLayerUpload",), "uploads stream to the shared on-disk blob store")
def initiate_layer_upload(
    _moto: Callable[..., Any], backend: ECRBackend, repository_name: str, registry_id: str | None = None
) -> dict[str, Any]:
    get_repository(backend, repository_name, registry_id)
    upload_id = shared_store().begin_upload()
    state_of(backend, UploadsState).uploads[upload_id] = repository_name
    return {"uploadId": upload_id, "partSize": DEFAULT_LAYER_PART_SIZE}


@backend_hook("upload_layer_part", ("UploadLayerPart",), "parts must arrive in order; bytes go to disk")
def upload_layer_part(
    _moto: Callable[..., Any],
    backend: ECRBackend,
    repository_name: str,
    upload_id: str,
    part_first_byte: int,
    part_last_byte: int,
    layer_part_blob: bytes,
    registry_id: str | None = None,
) -> dict[str, Any]:
    _owned_upload(backend, repository_name, upload_id, registry_id)
    store = shared_store()
    received = store.upload_size(upload_id)
    if part_first_byte != received:
        raise InvalidLayerPartException(backend.account_id, repository_name, upload_id, received - 1)
    size = store.append(upload_id, io.BytesIO(layer_part_blob or b""))
    return {
        "registryId": backend.account_id,
        "repositoryName": repository_name,
        "uploadId": upload_id,
        "lastByteReceived": size - 1,
    }


@backend_hook(
    "complete_layer_upload",
    ("CompleteLayerUpload",),
    "checks the digest against the uploaded bytes; the layer joins the repository's blobs",
)
def complete_layer_upload(
    _moto: Callable[..., Any],
    backend: ECRBackend,
    repository_name: str,
    upload_id: str,
    layer_digests: list[str],
    registry_id: str | None = None,
) -> dict[str, Any]:
    _owned_upload(backend, repository_name, upload_id, registry_id)
    repository = get_repository(backend, repository_name, registry_id)
    store = shared_store()
    if store.upload_size(upload_id) == 0:
        raise aws_error("EmptyUploadException", f"The upload with id '{upload_id}' has no layer parts")
    actual = store.upload_digest(upload_id)
    if layer_digests != [actual]:
        raise aws_error(
            "InvalidLayerException", f"The layer digest {layer_digests} does not match the uploaded content ({actual})"
        )
    if actual in repository.layers:
        store.cancel(upload_id)
        del state_of(backend, UploadsState).uploads[upload_id]
        raise aws_error(
            "LayerAlreadyExistsException",
            f"The layer {actual} already exists in the repository with name '{repository_name}'",
        )
    repository.layers[actual] = store.commit(upload_id, actual)
    del state_of(backend, UploadsState).uploads[upload_id]
    return {
        "registryId": repository.registry_id,
        "repositoryName": repository_name,
        "uploadId": upload_id,
        "layerDigest": actual,
    }


def download_signature(account: str, region: str, repository: str, digest: str, expires: int) -> str:
    return sign(f"{account}\n{region}\n{repository}\n{digest}\n{expires}")


def signed_download_url(host: str, account: str, region: str, repository: str, digest: str) -> str:
    """A one-hour URL that serves one layer without credentials: the emulator's stand-in for a presigned S3 URL."""
    expires = int(emulator_now().timestamp()) + DOWNLOAD_URL_SECONDS
    signature = download_signature(account, region, repository, digest, expires)
    query = urlencode({"registry": account, "region": region, "expires": expires, "signature": signature})
    return f"http://{host}/v2/{repository}/blobs/{digest}?{query}"


@operation(
    "GetDownloadUrlForLayer",
    "a signed one-hour URL on the emulator serving the layer from the blob store",
    replaces_native=True,
)
def get_download_url_for_layer(call: Call) -> dict[str, Any]:
    """moto raises NotImplementedError; AWS hands out a presigned URL, this hands out a signed one."""
    name, digest = call.params["repositoryName"], call.params["layerDigest"]
    repository = call.repository()
    if digest not in repository.layers:
        raise aws_error(
            "LayersNotFoundException",
            f"The specified layer {digest} could not be found in the repository with name '{name}'",
        )
    url = signed_download_url(call.host, call.account_id, call.region, name, digest)
    return {"downloadUrl": url, "layerDigest": digest}
