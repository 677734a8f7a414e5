"""The emulator's `/v2/` endpoint: the OCI distribution protocol with ECR's auth, over moto and the blob store.

Clients log in with basic auth, user `AWS`, password from `GetAuthorizationToken` (see `tokens.py` for which
registry a request addresses: the token's, or the Host `<account>.dkr.ecr.<region>.localhost:<port>`).
Manifests go through moto's `put_image` / `batch_get_image` / `batch_delete_image` (hooked in `images.py`),
so an image pushed here is the image the API describes; blob bytes stream to and from the shared on-disk
store and a repository's own blobs are moto's `Repository.layers`. A push to a missing repository creates it
when a CREATE_ON_PUSH repository creation template applies. Wire format only lives here: routing,
headers, status codes and the spec's error bodies. Departures from ECR: blobs are served directly (with byte
ranges) instead of a redirect to S3, and a cross-repository mount follows the BLOB_MOUNTING account setting
(UNCONFIRMED [U7]).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

from ecrlab.emulator import tokens
from ecrlab.emulator.authorization import denial
from ecrlab.emulator.blob_mounting import mount_source
from ecrlab.emulator.blobstore import DigestMismatch, UploadUnknown, is_digest, shared_store
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.layers import UploadsState, download_signature
from ecrlab.emulator.moto_compat import ECRBackend, Repository, ServiceException, ecr_backends, get_repository
from ecrlab.emulator.on_behalf import create_on_push_denial
from ecrlab.emulator.pull_through_cache_operations import unfetched
from ecrlab.emulator.pull_times import pulling
from ecrlab.emulator.referrers import referrers_index
from ecrlab.emulator.signing_operations import pushing
from ecrlab.emulator.state import STATE_LOCK, state_of
from ecrlab.emulator.stored_images import ManifestInvalid, create_on_push, manifest_digest, parse_manifest

PREFIX = "/v2/"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # ECR's manifest size limit
# ECR's "Maximum layer size" quota, 52,000 MiB (service quotas page); no request body may claim more.
MAX_LAYER_BYTES = 52_000 * 1024 * 1024
# An upload no bytes reached for a day is abandoned: its staged bytes are deleted (emulator clock).
ABANDONED_AFTER = timedelta(hours=24)
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,299}$")
ROUTES = [
    (re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$"), "manifest"),
    (re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<upload>[^/]*)$"), "upload"),
    (re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)$"), "blob"),
    (re.compile(r"^/v2/(?P<name>.+)/tags/list$"), "tags"),
    (re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)$"), "referrers"),
]
# How moto's (and ecrlab's) API errors read on the wire of /v2/.
API_ERRORS = {
    "RepositoryNotFoundException": (404, "NAME_UNKNOWN"),
    "ImageTagAlreadyExistsException": (400, "TAG_INVALID"),
    "LayersNotFoundException": (400, "MANIFEST_BLOB_UNKNOWN"),
    "ReferencedImagesNotFoundException": (400, "MANIFEST_BLOB_UNKNOWN"),
    "ImageDigestDoesNotMatchException": (400, "DIGEST_INVALID"),
    "InvalidParameterException": (400, "MANIFEST_INVALID"),
}


class ErrorResponse(Exception):
    """An error response: status, the spec's code, a message, and extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class Target:
    """The registry, repository and caller one request is about."""

    def __init__(self, backend: ECRBackend, name: str, principal: str, pushing: bool = False) -> None:
        self.backend = backend
        self.name = name
        self.principal = principal
        try:
            self.repository: Repository = get_repository(backend, name)
        except ServiceException:
            creates = pushing and principal.split(":")[4] == backend.account_id
            problem = create_on_push_denial(backend, principal, name) if creates else None
            if problem:  # a CREATE_ON_PUSH template applies, but the pusher may not create repositories
                raise ErrorResponse(403, "DENIED", problem) from None
            created = _create_on_push(backend, name) if creates else None
            if created is None:
                raise ErrorResponse(
                    404,
                    "NAME_UNKNOWN",
                    f"The repository with name '{name}' does not exist in the registry with id '{backend.account_id}'",
                ) from None
            self.repository = created

    def allow(self, action: str) -> None:
        problem = denial(self.principal, self.backend.account_id, self.backend.region_name, action, self.name)
        if problem:
            raise ErrorResponse(403, "DENIED", problem)

    def location(self, suffix: str) -> str:
        return f"{PREFIX}{self.name}/{suffix}"


def _create_on_push(backend: ECRBackend, name: str) -> Repository | None:
    """A push to a missing repository creates it when a CREATE_ON_PUSH creation template applies, as on ECR."""
    with STATE_LOCK:
        return create_on_push(backend, name)


def _backend(account: str, region: str) -> ECRBackend:
    try:
        return ecr_backends[account][region]
    except KeyError:
        raise ErrorResponse(404, "NAME_UNKNOWN", f"there is no registry in region {region!r}") from None


def _unauthorized(request: Request, message: str) -> ErrorResponse:
    challenge = f'Basic realm="http://{request.host}/",service="ecr.amazonaws.com"'
    return ErrorResponse(401, "UNAUTHORIZED", message, {"WWW-Authenticate": challenge})


def _login(request: Request) -> tokens.Login:
    password = tokens.basic_credentials(request.headers.get("Authorization", ""))
    if password is None:
        raise _unauthorized(request, "authentication required: basic auth, user AWS, password from get-login-password")
    try:
        return tokens.verify_password(password)
    except tokens.TokenRejected as exc:
        raise _unauthorized(request, exc.reason) from None


def _signed_download(request: Request, name: str, digest: str) -> ECRBackend | None:
    """The backend a presigned-style layer URL (from GetDownloadUrlForLayer) grants, or None if unsigned."""
    args = request.args
    if "signature" not in args:
        return None
    account, region, expires = args.get("registry", ""), args.get("region", ""), args.get("expires", "")
    expiry = int(expires) if expires.isdigit() else 0
    expected = download_signature(account, region, name, digest, expiry)
    if not hmac.compare_digest(expected, args["signature"]) or emulator_now().timestamp() > expiry:
        raise ErrorResponse(403, "DENIED", "the download URL is invalid or has expired")
    return _backend(account, region)


def _check_length(raw: str) -> None:
    """A Content-Length must be a non-negative integer no larger than ECR's largest layer.

    Refused before any byte is read, and the connection is closed: the unread body cannot be told from the
    next request.
    """
    if not raw:
        return
    if not raw.isdigit():
        raise ErrorResponse(400, "SIZE_INVALID", f"Content-Length {raw[:40]!r} is not a byte count", _CLOSE)
    if int(raw) > MAX_LAYER_BYTES:
        raise ErrorResponse(
            413, "SIZE_INVALID", f"Content-Length {raw[:40]} is larger than ECR's largest layer (52,000 MiB)", _CLOSE
        )


_CLOSE = {"Connection": "close"}


def _route(path: str) -> tuple[str, dict[str, str]] | None:
    for pattern, kind in ROUTES:
        match = pattern.match(path)
        if match:
            return kind, match.groupdict()
    return None


class DistributionApp:
    """WSGI app for everything under `/v2/`."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        shared_store().expire_uploads(ABANDONED_AFTER)
        request = Request(environ)
        try:
            _check_length(environ.get("CONTENT_LENGTH") or "")
            response = self._dispatch(request)
        except ErrorResponse as exc:
            response = _error(exc)
        except ClientDisconnected:
            # The body stopped arriving (the server's idle timeout) or the client went away: what arrived of an
            # upload stays, so the client can ask for its range and resume.
            response = _error(ErrorResponse(400, "BLOB_UPLOAD_INVALID", "the request body stopped arriving"))
            response.headers["Connection"] = "close"
        response.headers["Docker-Distribution-API-Version"] = "registry/2.0"
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        route = _route(request.path)
        if route is None:
            if request.path.rstrip("/") == PREFIX.rstrip("/"):
                _login(request)
                return _json(200, {})
            raise ErrorResponse(404, "NAME_UNKNOWN", f"no such endpoint: {request.path}")
        kind, parts = route
        if kind == "blob" and request.method in ("GET", "HEAD"):
            backend = _signed_download(request, parts["name"], parts["digest"])
            if backend is not None:
                owner = f"arn:aws:iam::{backend.account_id}:root"
                return _blob(request, Target(backend, parts["name"], owner), parts["digest"])
        login = _login(request)
        backend = _backend(*tokens.addressed_registry(request.host, login))
        if kind == "manifest" and request.method in ("GET", "HEAD"):
            from ecrlab.emulator.pull_through_fetch import pull_through  # fills the cache when a rule covers the name

            pull_through(backend, parts["name"], parts["reference"], login.principal, request.environ)
        pushing = (kind, request.method) in (("upload", "POST"), ("manifest", "PUT"))
        target = Target(backend, parts["name"], login.principal, pushing)
        handlers: dict[str, Callable[..., Response]] = {
            "manifest": _manifest,
            "upload": _upload,
            "blob": _blob,
            "tags": _tags,
            "referrers": _referrers,
        }
        handler = handlers[kind]
        return handler(request, target, *(v for k, v in parts.items() if k != "name"))


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def _error(exc: ErrorResponse) -> Response:
    body = {"errors": [{"code": exc.code, "message": exc.message, "detail": {}}]}
    return _json(exc.status, body, exc.headers)


def _empty(status: int, headers: dict[str, str]) -> Response:
    return Response(b"", status=status, headers={"Content-Length": "0", **headers})


def _api_error(exc: ServiceException) -> ErrorResponse:
    status, code = API_ERRORS.get(exc.code, (500, "UNKNOWN"))
    return ErrorResponse(status, code, exc.message)


# --- manifests ---------------------------------------------------------------------------------------


def _manifest(request: Request, target: Target, reference: str) -> Response:
    by_digest = reference.startswith("sha256:")
    if by_digest and not is_digest(reference):
        raise ErrorResponse(400, "DIGEST_INVALID", f"{reference} is not a sha256 digest")
    if not by_digest and not TAG.match(reference):
        raise ErrorResponse(400, "TAG_INVALID", f"invalid tag {reference!r}")
    image_id = {"imageDigest": reference} if by_digest else {"imageTag": reference}
    if request.method in ("GET", "HEAD"):
        target.allow("ecr:BatchGetImage")
        with pulling(target.principal, records=request.method == "GET"):
            found = target.backend.batch_get_image(target.name, image_ids=[image_id])["images"]
        if not found:
            raise ErrorResponse(404, "MANIFEST_UNKNOWN", "Requested image not found")
        image = found[0]
        headers = {"Docker-Content-Digest": image.get_image_digest(), "ETag": f'"{image.get_image_digest()}"'}
        return Response(image.image_manifest.encode(), headers=headers, content_type=image.image_manifest_media_type)
    if request.method == "PUT":
        target.allow("ecr:PutImage")
        return _put_manifest(request, target, reference, by_digest)
    if request.method == "DELETE":
        target.allow("ecr:BatchDeleteImage")
        with STATE_LOCK:
            result = target.backend.batch_delete_image(target.name, image_ids=[image_id])
        if not result["imageIds"]:
            raise ErrorResponse(404, "MANIFEST_UNKNOWN", "Requested image not found")
        return _empty(202, {})
    raise ErrorResponse(405, "UNSUPPORTED", f"{request.method} is not supported on manifests")


def _put_manifest(request: Request, target: Target, reference: str, by_digest: bool) -> Response:
    if (request.content_length or 0) > MAX_MANIFEST_BYTES:
        raise ErrorResponse(400, "MANIFEST_INVALID", "the manifest is larger than 4 MiB")
    try:
        text = request.get_data(cache=False).decode()
        media_type = request.mimetype or None
        _, media_type = parse_manifest(text, media_type)
    except (UnicodeDecodeError, ManifestInvalid) as exc:
        raise ErrorResponse(400, "MANIFEST_INVALID", str(exc)) from None
    digest = reference if by_digest else manifest_digest(text)
    try:
        with STATE_LOCK, pushing(lambda: target.principal):
            target.backend.put_image(target.name, text, None if by_digest else reference, media_type, digest)  # type: ignore[arg-type]  # moto types the tag str; None pushes untagged
    except ServiceException as exc:
        # The same manifest under the same tag again: docker push is idempotent where PutImage is not.
        if exc.code != "ImageAlreadyExistsException":
            raise _api_error(exc) from None
    headers = {"Location": target.location(f"manifests/{digest}"), "Docker-Content-Digest": digest}
    subject = json.loads(text).get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
        headers["OCI-Subject"] = subject["digest"]  # distribution-spec 1.1: this registry indexes referrers
    return _empty(201, headers)


# --- blobs -------------------------------------------------------------------------------------------


def _blob(request: Request, target: Target, digest: str) -> Response:
    if request.method not in ("GET", "HEAD"):
        raise ErrorResponse(405, "UNSUPPORTED", "ECR does not delete blobs through the registry API")
    target.allow("ecr:GetDownloadUrlForLayer" if request.method == "GET" else "ecr:BatchCheckLayerAvailability")
    if not is_digest(digest):
        raise ErrorResponse(400, "DIGEST_INVALID", f"{digest} is not a sha256 digest")
    store = shared_store()
    if digest not in target.repository.layers:
        raise ErrorResponse(404, "BLOB_UNKNOWN", f"blob {digest} is not in repository {target.name}")
    # A pull through cache lists an image's blobs before it fetched them (pull_through_fetch.cached_layer).
    held = store.has(digest) and not unfetched(target.backend, target.name, digest)
    size = store.size(digest) if held else target.repository.layers[digest]
    headers = {"Docker-Content-Digest": digest, "Accept-Ranges": "bytes"}
    # ECR redirects a layer GET (307) to presigned S3; serving it here saves a round trip per blob, which on
    # loopback would cost a pull from the cache half its speed. S3 serves one byte range, and so does this.
    wanted = request.range if request.range is not None and len(request.range.ranges) == 1 else None
    span = wanted.range_for_length(size) if wanted is not None else None
    if wanted is not None and span is None:
        raise ErrorResponse(
            416, "RANGE_INVALID", f"the range is outside the blob's {size} bytes", {"Content-Range": f"bytes */{size}"}
        )
    start, stop = span or (0, size)
    if span:  # an interrupted layer download resumes where it stopped
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    headers["Content-Length"] = str(stop - start)
    if held or request.method == "HEAD":
        # A lazy generator: werkzeug sends no body for HEAD, so the file is then never opened.
        body: Iterable[bytes] = store.read(digest, start, stop)
    else:
        from ecrlab.emulator.pull_through_fetch import cached_layer

        body = cached_layer(target.backend, target.name, digest, size, (start, stop), request.environ)
        headers.update(_CLOSE)  # a fill that breaks off mid-body then reads as one: the connection ends
    return Response(
        body,
        status=206 if span else 200,
        headers=headers,
        content_type="application/octet-stream",
        direct_passthrough=True,
    )


def _upload_headers(target: Target, upload_id: str, size: int) -> dict[str, str]:
    return {
        "Location": target.location(f"blobs/uploads/{upload_id}"),
        "Range": f"0-{max(size - 1, 0)}",
        "Docker-Upload-UUID": upload_id,
    }


def _commit(target: Target, upload_id: str, digest: str) -> Response:
    if not is_digest(digest):
        raise ErrorResponse(400, "DIGEST_INVALID", f"{digest!r} is not a sha256 digest")
    try:
        size = shared_store().commit(upload_id, digest)
    except DigestMismatch as exc:
        raise ErrorResponse(400, "DIGEST_INVALID", str(exc)) from None
    with STATE_LOCK:
        target.repository.layers[digest] = size
        state_of(target.backend, UploadsState).uploads.pop(upload_id, None)
    return _empty(201, {"Location": target.location(f"blobs/{digest}"), "Docker-Content-Digest": digest})


def _upload(request: Request, target: Target, upload_id: str) -> Response:
    store = shared_store()
    if request.method == "POST" and not upload_id:
        target.allow("ecr:InitiateLayerUpload")
        mounted = _mount(request, target)
        if mounted:
            return mounted
        upload_id = store.begin_upload(owner=target.principal)
        state_of(target.backend, UploadsState).uploads[upload_id] = target.name
        if "digest" in request.args:  # monolithic upload in the POST itself
            store.append(upload_id, request.stream, request.content_length)
            return _commit(target, upload_id, request.args["digest"])
        return _empty(202, _upload_headers(target, upload_id, 0))
    # An upload session belongs to the registry, repository and principal that opened it; to anyone else it
    # does not exist (a 404, so its id reveals nothing).
    if (
        state_of(target.backend, UploadsState).uploads.get(upload_id) != target.name
        or _owner(upload_id) != target.principal
    ):
        raise ErrorResponse(404, "BLOB_UPLOAD_UNKNOWN", f"upload {upload_id!r} is unknown to {target.name}")
    try:
        if request.method == "PATCH":
            target.allow("ecr:UploadLayerPart")
            _check_range(request, store.upload_size(upload_id))
            size = store.append(upload_id, request.stream, request.content_length)
            return _empty(202, _upload_headers(target, upload_id, size))
        if request.method == "PUT":
            target.allow("ecr:CompleteLayerUpload")
            store.append(upload_id, request.stream, request.content_length)
            return _commit(target, upload_id, request.args.get("digest", ""))
        if request.method == "GET":
            return _empty(204, _upload_headers(target, upload_id, store.upload_size(upload_id)))
        if request.method == "DELETE":
            store.cancel(upload_id)
            state_of(target.backend, UploadsState).uploads.pop(upload_id, None)
            return _empty(204, {})
    except UploadUnknown:
        raise ErrorResponse(404, "BLOB_UPLOAD_UNKNOWN", f"upload {upload_id!r} is unknown") from None
    raise ErrorResponse(405, "UNSUPPORTED", f"{request.method} is not supported on uploads")


def _owner(upload_id: str) -> str | None:
    try:
        return shared_store().upload_owner(upload_id)
    except UploadUnknown:
        return None


def _check_range(request: Request, received: int) -> None:
    """A chunk must start where the upload ends (the spec's 416 otherwise)."""
    content_range = request.headers.get("Content-Range")
    if content_range:
        start = content_range.removeprefix("bytes ").split("-")[0]
        if not start.isdigit() or int(start) != received:
            headers = {"Range": f"0-{max(received - 1, 0)}"}
            raise ErrorResponse(416, "BLOB_UPLOAD_INVALID", f"the chunk must start at byte {received}", headers)


def _mount(request: Request, target: Target) -> Response | None:
    """Cross-repository mount: 201 when `blob_mounting` allows it, else None (a normal upload)."""
    digest, source = request.args.get("mount", ""), request.args.get("from", "")
    origin = mount_source(target.backend, target.principal, target.repository, source, digest) if digest else None
    if origin is None:
        return None
    with STATE_LOCK:
        target.repository.layers[digest] = origin.layers[digest]
    return _empty(201, {"Location": target.location(f"blobs/{digest}"), "Docker-Content-Digest": digest})


# --- tags --------------------------------------------------------------------------------------------


def _tags(request: Request, target: Target) -> Response:
    if request.method != "GET":
        raise ErrorResponse(405, "UNSUPPORTED", f"{request.method} is not supported on tags")
    target.allow("ecr:ListImages")
    images = target.backend.list_images(target.name)
    tags = sorted({tag for image in images for tag in image.image_tags})
    last = request.args.get("last")
    if last:
        tags = [tag for tag in tags if tag > last]
    headers = {}
    limit = request.args.get("n", "")
    if limit.isdigit() and int(limit) < len(tags):
        tags = tags[: int(limit)]
        if tags:
            headers["Link"] = f'<{target.location("tags/list")}?n={limit}&last={tags[-1]}>; rel="next"'
    return _json(200, {"name": target.name, "tags": tags}, headers)


# --- referrers ---------------------------------------------------------------------------------------


def _referrers(request: Request, target: Target, digest: str) -> Response:
    """distribution-spec 1.1 referrers API: an image index of the manifests whose subject is `digest`."""
    if request.method != "GET":
        raise ErrorResponse(405, "UNSUPPORTED", f"{request.method} is not supported on referrers")
    target.allow("ecr:BatchGetImage")  # what ListImageReferrers requires (API reference)
    if not is_digest(digest):
        raise ErrorResponse(400, "DIGEST_INVALID", f"{digest} is not a sha256 digest")
    wanted = request.args.get("artifactType")
    headers = {"OCI-Filters-Applied": "artifactType"} if wanted else {}
    body = json.dumps(referrers_index(target.repository, digest, wanted))
    return Response(body, status=200, headers=headers, content_type="application/vnd.oci.image.index.v1+json")
