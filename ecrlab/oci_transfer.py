"""Moving an OCI image tree between a source and a sink — a registry over the OCI distribution API (ECR with its
auth, or an upstream registry by URL), or an OCI layout on disk: the one transfer `images` and the emulator's
pull-through share.

One walk serves every direction: a source hands manifests and blob streams to a sink, children before the index
that lists them, blobs before their manifest, skipping blobs the sink already has. Blobs stream in chunks, so
memory stays flat.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, Protocol, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit

import urllib3

from ecrlab.errors import (
    AccessDeniedError,
    AuthenticationError,
    ImageNotFoundError,
    ImmutableTagError,
    RegistryError,
    RepositoryNotFoundError,
)
from ecrlab.oci_layout import INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, REF_NAME_ANNOTATION, read_blob, read_layout

if TYPE_CHECKING:
    from ecrlab.registry import Registry

Descriptor = dict[str, Any]
# ECR takes layer parts of at least 5 MiB (except the last); 8 MiB keeps requests few and memory small.
CHUNK = 8 * 1024 * 1024
LARGE_BLOB = 16 * 1024 * 1024
ACCEPT = ", ".join(sorted(INDEX_MEDIA_TYPES | MANIFEST_MEDIA_TYPES))
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass(frozen=True)
class Transfer:
    """Progress of one blob: `done` of `total` bytes moved."""

    direction: str  # "push" or "pull"
    digest: str
    done: int
    total: int


Progress = Callable[[Transfer], None]


def print_large_transfers(transfer: Transfer) -> None:
    """The default progress: a line on stderr per chunk of blobs over 16 MiB; small ones stay quiet."""
    if transfer.total >= LARGE_BLOB:
        percent = 100 * transfer.done // transfer.total
        print(
            f"{transfer.direction} {transfer.digest[:19]} {transfer.done / 1e6:.1f}/{transfer.total / 1e6:.1f} MB"
            f" ({percent}%)",
            file=sys.stderr,
        )


def media_type_of(desc: Descriptor, data: bytes) -> str:
    return desc.get("mediaType") or json.loads(data).get("mediaType", "")


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- the registry end ----------------------------------------------------------------------------------


class RegistryEndpoint:
    """One registry's `/v2/`, logged in with a token from `GetAuthorizationToken`."""

    def __init__(self, registry: Registry, registry_id: str | None = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            data = registry.authorization(registry_id)
        except (BotoCoreError, ClientError) as exc:
            raise AuthenticationError(f"could not get an ECR authorization token: {exc}") from None
        self.endpoint = data["proxyEndpoint"].rstrip("/")
        self._auth = {"Authorization": f"Basic {data['authorizationToken']}"}
        self._http = urllib3.PoolManager(retries=urllib3.Retry(total=3, redirect=5, raise_on_status=False))

    def request(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200,),
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        subject: str = "",
    ) -> urllib3.BaseHTTPResponse:
        """One call; any status outside `ok` becomes a typed error about `subject` (a repository or image)."""
        url = urljoin(self.endpoint, path)  # `path` may also be an absolute Location
        try:
            response = self._http.request(
                method, url, body=body, headers={**self._auth, **(headers or {})}, preload_content=not stream
            )
        except urllib3.exceptions.HTTPError as exc:
            raise RegistryError(f"cannot reach {self.endpoint}: {exc}") from None
        if response.status not in ok:
            raise self._error(response, method, subject)
        return response

    def _error(self, response: urllib3.BaseHTTPResponse, method: str, subject: str) -> RegistryError:
        try:
            first = json.loads(response.data)["errors"][0]
            code, message = first.get("code", ""), first.get("message", "")
        except (ValueError, KeyError, IndexError, TypeError):
            code, message = "", response.data.decode(errors="replace").strip()[:200]
        status = response.status
        if status == 401:
            return AuthenticationError(
                f"{self.endpoint} rejected the credentials ({message or 'unauthorized'}); tokens last 12 hours: "
                "connect again, or log in again with `aws ecr get-login-password`",
                code,
                status,
            )
        if code == "NAME_UNKNOWN":
            # ECR answers a pull through cache miss whose puller may not create the repository the same way
            # (error-pullthroughcache.html), so a pull's hint names that cause too.
            fix = (
                "create it (aws ecr create-repository); if a pull through cache rule covers it, the first pull "
                "needs ecr:CreateRepository (identity or registry policy, not overridden by a Deny)"
                if method in ("GET", "HEAD")
                else "create it (aws ecr create-repository) or add a repository creation template that applies "
                "to CREATE_ON_PUSH"
            )
            name = subject.split(":")[0].split("@")[0]
            return RepositoryNotFoundError(
                f"repository {name!r} does not exist in {self.endpoint}: {fix}", code, status
            )
        if code == "MANIFEST_UNKNOWN":
            return ImageNotFoundError(f"image {subject} not found in {self.endpoint}", code, status)
        if code == "TAG_INVALID":
            return ImmutableTagError(f"{message} Push under a new tag instead.", code, status)
        if status == 403 or code == "DENIED":
            return AccessDeniedError(message or f"access to {subject} denied", code, status)
        return RegistryError(f"{method} {subject} on {self.endpoint} failed: {status} {code} {message}", code, status)

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of a manifest; the bytes are checked against the digest."""
        response = self.request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            headers={"Accept": ACCEPT},
            subject=f"{repository}:{reference}",
        )
        data = response.data
        digest = digest_of(data)
        claimed = (
            reference if reference.startswith("sha256:") else response.headers.get("Docker-Content-Digest", digest)
        )
        if claimed != digest:
            raise RegistryError(f"manifest {repository}:{reference} does not hash to {claimed}")
        return data, response.headers.get("Content-Type", "").split(";")[0] or media_type_of({}, data), digest


class ManifestEndpoint(Protocol):
    """What a `RegistrySource` reads through: a `RegistryEndpoint`, or an `UpstreamRegistry`."""

    def request(
        self, method: str, path: str, *, stream: bool = False, subject: str = ""
    ) -> urllib3.BaseHTTPResponse: ...

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str, str]: ...


Endpoint = TypeVar("Endpoint", bound=ManifestEndpoint)


class RegistrySource(Generic[Endpoint]):
    def __init__(self, registry: Endpoint, repository: str) -> None:
        self.registry = registry
        self.repository = repository
        self.manifests: dict[str, bytes] = {}

    def root(self, reference: str) -> Descriptor:
        data, media_type, digest = self.registry.get_manifest(self.repository, reference)
        self.manifests[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def manifest(self, desc: Descriptor) -> bytes:
        if desc["digest"] not in self.manifests:
            self.manifests[desc["digest"]] = self.registry.get_manifest(self.repository, desc["digest"])[0]
        return self.manifests[desc["digest"]]

    @contextmanager
    def blob(self, desc: Descriptor) -> Iterator[BinaryIO]:
        path = f"/v2/{self.repository}/blobs/{desc['digest']}"
        response = self.registry.request("GET", path, stream=True, subject=f"{self.repository}@{desc['digest']}")
        try:
            yield response  # type: ignore[misc]  # urllib3's response reads as a binary file; it is no BinaryIO
        finally:
            response.release_conn()


class RegistrySink:
    def __init__(self, registry: RegistryEndpoint, repository: str, mount_from: str | None = None) -> None:
        self.registry = registry
        self.repository = repository
        self.mount_from = mount_from

    def has_blob(self, digest: str) -> bool:
        path = f"/v2/{self.repository}/blobs/{digest}"
        return self.registry.request("HEAD", path, ok=(200, 404), subject=self.repository).status == 200

    def put_blob(self, desc: Descriptor, reader: BinaryIO, progress: Progress | None) -> None:
        uploads = f"/v2/{self.repository}/blobs/uploads/"
        if self.mount_from:
            uploads += f"?mount={desc['digest']}&from={self.mount_from}"
        started = self.registry.request("POST", uploads, ok=(201, 202), subject=self.repository)
        if started.status == 201:  # mounted from the source repository: no bytes to move
            return
        location, done = started.headers["Location"], 0
        while chunk := reader.read(CHUNK):
            headers = {"Content-Type": "application/octet-stream", "Content-Range": f"{done}-{done + len(chunk) - 1}"}
            sent = self.registry.request(
                "PATCH", location, ok=(202,), body=chunk, headers=headers, subject=self.repository
            )
            location, done = sent.headers.get("Location", location), done + len(chunk)
            if progress:
                progress(Transfer("push", desc["digest"], done, desc["size"]))
        separator = "&" if "?" in location else "?"
        self.registry.request(
            "PUT", f"{location}{separator}digest={desc['digest']}", ok=(201,), subject=self.repository
        )

    def put_manifest(self, desc: Descriptor, data: bytes, reference: str) -> None:
        self.registry.request(
            "PUT",
            f"/v2/{self.repository}/manifests/{reference}",
            ok=(201,),
            body=data,
            headers={"Content-Type": desc["mediaType"]},
            subject=f"{self.repository}:{reference}",
        )


# --- an upstream registry by URL -------------------------------------------------------------------------

# The model's ImageFailureCode for each way an upstream can refuse.
FAILURE_CODES = {
    401: "UpstreamAccessDenied",
    403: "UpstreamAccessDenied",
    404: "ImageNotFound",
    429: "UpstreamTooManyRequests",
}
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')

Observer = Callable[[str, str, int], None]  # (method, path, status) of every request made


class UpstreamError(RegistryError):
    """An upstream refused or failed a request; `failure_code` is ECR's name for it."""

    def __init__(self, message: str, failure_code: str, code: str = "", status: int = 0) -> None:
        self.failure_code = failure_code
        super().__init__(message, code, status)


class UpstreamRegistry:
    """One registry's `/v2/` at `base_url` (which may carry a path, as the emulator's stand-ins do), reached by URL:
    Docker Hub, Quay, a Distribution registry. ECR fills a pull through cache this way, and a lesson's "CI job"
    pulls straight from an upstream this way (`images.pull`) to meet its rate limit. Auth is anonymous, basic, or
    the bearer-token challenge Docker Hub and GHCR use; a failure carries the `ImageFailureCode` ECR reports for it.
    """

    def __init__(
        self,
        base_url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        name: str | None = None,
        host_header: str | None = None,
        observe: Observer | None = None,
    ) -> None:
        self.endpoint = base_url.rstrip("/")
        self.name = name or host_header or urlsplit(self.endpoint).netloc  # how errors name the registry
        self._basic = (
            {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}
            if username is not None
            else {}
        )
        self._auth = dict(self._basic)
        self._host = {"Host": host_header} if host_header else {}
        self._observe = observe
        # Fail fast on an outage: one retry on connect, none on a status, redirects followed (Docker Hub's CDN).
        self._http = urllib3.PoolManager(
            retries=urllib3.Retry(total=2, connect=1, read=1, status=0, redirect=5, raise_on_status=False),
            timeout=urllib3.Timeout(connect=5, read=60),
        )

    def _send(self, method: str, url: str, headers: dict[str, str], stream: bool) -> urllib3.BaseHTTPResponse:
        try:
            response = self._http.request(
                method, url, headers={**self._host, **self._auth, **headers}, preload_content=not stream
            )
        except urllib3.exceptions.HTTPError as exc:
            if self._observe:
                self._observe(method, urlsplit(url).path, 0)
            raise UpstreamError(f"cannot reach {self.name}: {exc}", "UpstreamUnavailable") from None
        if self._observe:
            self._observe(method, urlsplit(url).path, response.status)
        return response

    def _token(self, challenge: str) -> bool:
        """Answer a `Bearer realm=…` challenge (Docker Hub, GHCR) with a token; False when it is not one."""
        if not challenge.lower().startswith("bearer "):
            return False
        fields = dict(_CHALLENGE.findall(challenge))
        query = urlencode({k: v for k, v in fields.items() if k in ("service", "scope")})
        response = self._send("GET", f"{fields.get('realm', '')}?{query}", self._basic, False)
        if response.status != 200:
            return False
        body = json.loads(response.data)
        self._auth = {"Authorization": f"Bearer {body.get('token') or body.get('access_token')}"}
        return True

    def request(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200,),
        headers: dict[str, str] | None = None,
        stream: bool = False,
        subject: str = "",
    ) -> urllib3.BaseHTTPResponse:
        """One call (after a token challenge if asked); a status outside `ok` becomes an `UpstreamError`."""
        url = path if path.startswith("http") else self.endpoint + path
        response = self._send(method, url, headers or {}, stream)
        if response.status == 401 and self._token(response.headers.get("WWW-Authenticate", "")):
            response.drain_conn()
            response = self._send(method, url, headers or {}, stream)
        if response.status not in ok:
            raise self._error(response, method, subject)
        return response

    def _error(self, response: urllib3.BaseHTTPResponse, method: str, subject: str) -> UpstreamError:
        data = response.data or b""
        try:
            first = json.loads(data)["errors"][0]
            code, message = first.get("code", ""), first.get("message", "")
        except (ValueError, KeyError, IndexError, TypeError):
            code, message = "", data.decode(errors="replace").strip()[:200]
        status = response.status
        failure = FAILURE_CODES.get(status, "UpstreamUnavailable")
        return UpstreamError(
            f"{self.name} answered {method} {subject} with {status} {code} {message}".strip(), failure, code, status
        )

    def ping(self) -> None:
        """Authenticate against `/v2/` (what Validate does); raises `UpstreamError` when refused."""
        self.request("GET", "/v2/", subject="/v2/")

    def get_manifest(self, repository: str, reference: str) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of a manifest; the bytes are checked against the digest."""
        subject = f"{repository}:{reference}"
        response = self.request(
            "GET", f"/v2/{repository}/manifests/{reference}", headers={"Accept": ACCEPT}, subject=subject
        )
        data = response.data
        digest = digest_of(data)
        claimed = (
            reference if reference.startswith("sha256:") else response.headers.get("Docker-Content-Digest", digest)
        )
        if claimed != digest:
            raise UpstreamError(
                f"manifest {subject} from {self.name} does not hash to {claimed}", "UpstreamUnavailable"
            )
        return data, response.headers.get("Content-Type", "").split(";")[0] or media_type_of({}, data), digest

    def manifest_digest(self, repository: str, reference: str) -> str:
        """The digest a tag points at now, by HEAD (which Docker Hub does not count as a pull)."""
        response = self.request(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            headers={"Accept": ACCEPT},
            subject=f"{repository}:{reference}",
        )
        digest = response.headers.get("Docker-Content-Digest")
        return digest or self.get_manifest(repository, reference)[2]

    def source(self, repository: str) -> RegistrySource[UpstreamRegistry]:
        """A source for the walk (`transfer`): manifests and blob streams of one repository."""
        return RegistrySource(self, repository)


# --- the layout end ------------------------------------------------------------------------------------


class LayoutSource:
    def __init__(self, path: Path) -> None:
        self.layout = read_layout(path)

    def root(self, tag: str | None) -> tuple[Descriptor, str]:
        refs = self.layout.refs
        if tag is None and len(refs) != 1:
            raise RegistryError(
                f"{self.layout.path} has tags {sorted(refs)}: say which to push ('{self.layout.path}:TAG')"
            )
        tag = tag or next(iter(refs))
        if tag not in refs:
            raise RegistryError(f"{self.layout.path} has no tag {tag!r} (tags: {', '.join(sorted(refs)) or 'none'})")
        return refs[tag], tag

    def manifest(self, desc: Descriptor) -> bytes:
        return read_blob(self.layout, desc["digest"])

    @contextmanager
    def blob(self, desc: Descriptor) -> Iterator[BinaryIO]:
        with (self.layout.path / "blobs" / "sha256" / desc["digest"].removeprefix("sha256:")).open("rb") as f:
            yield f


def _ref_name(desc: Descriptor) -> str | None:
    return desc.get("annotations", {}).get(REF_NAME_ANNOTATION)


class LayoutSink:
    """Writes an OCI image layout; blobs are verified before they take their name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.blobs = path / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)

    def has_blob(self, digest: str) -> bool:
        return (self.blobs / digest.removeprefix("sha256:")).is_file()

    def put_blob(self, desc: Descriptor, reader: BinaryIO, progress: Progress | None) -> None:
        hasher, done = hashlib.sha256(), 0
        with tempfile.NamedTemporaryFile(dir=self.blobs, delete=False) as staged:
            try:
                while chunk := reader.read(CHUNK):
                    staged.write(chunk)
                    hasher.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(Transfer("pull", desc["digest"], done, desc["size"]))
            except urllib3.exceptions.HTTPError as exc:
                os.unlink(staged.name)
                raise RegistryError(f"download of {desc['digest']} failed: {exc}") from None
        if "sha256:" + hasher.hexdigest() != desc["digest"]:
            os.unlink(staged.name)
            raise RegistryError(f"blob {desc['digest']} arrived corrupt (it hashes to sha256:{hasher.hexdigest()})")
        os.replace(staged.name, self.blobs / desc["digest"].removeprefix("sha256:"))

    def put_manifest(self, desc: Descriptor, data: bytes, reference: str) -> None:
        (self.blobs / desc["digest"].removeprefix("sha256:")).write_bytes(data)

    def name(self, desc: Descriptor, tag: str | None) -> None:
        """Record the pulled image in index.json (replacing an entry of the same tag) and mark the layout."""
        index_path = self.path / "index.json"
        index: dict[str, Any] = (
            json.loads(index_path.read_text())
            if index_path.exists()
            else {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        )
        entry = {key: desc[key] for key in ("mediaType", "digest", "size")}
        if tag:
            entry["annotations"] = {REF_NAME_ANNOTATION: tag}
        kept = [m for m in index["manifests"] if m != entry and not (tag and _ref_name(m) == tag)]
        index["manifests"] = [*kept, entry]
        index_path.write_text(json.dumps(index, separators=(",", ":")))
        (self.path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')


# --- the walk and the public calls ---------------------------------------------------------------------


class Source(Protocol):
    def manifest(self, desc: Descriptor) -> bytes: ...
    def blob(self, desc: Descriptor) -> Any: ...


class Sink(Protocol):
    def has_blob(self, digest: str) -> bool: ...
    def put_blob(self, desc: Descriptor, reader: BinaryIO, progress: Progress | None) -> None: ...
    def put_manifest(self, desc: Descriptor, data: bytes, reference: str) -> None: ...


@dataclass(frozen=True)
class TreeNode:
    """One manifest or index of an image tree: its descriptor (with its media type), bytes, parsed document, and
    the reference it is stored under (the root's tag, or a child's digest)."""

    desc: Descriptor
    data: bytes
    doc: dict[str, Any]
    reference: str

    @property
    def is_manifest(self) -> bool:
        return self.desc["mediaType"] in MANIFEST_MEDIA_TYPES

    def blobs(self) -> list[Descriptor]:
        """A manifest's config and layers (an index has none of its own)."""
        return [self.doc["config"], *self.doc.get("layers", [])] if self.is_manifest else []


def image_tree(source: Source, root: Descriptor, reference: str) -> Iterator[TreeNode]:
    """The manifests and indexes under `root`, children before their index (the order a registry accepts them in);
    anything that is not an image refuses with `RegistryError`."""

    def visit(desc: Descriptor, ref: str) -> Iterator[TreeNode]:
        data = source.manifest(desc)
        media_type = media_type_of(desc, data)
        doc = json.loads(data)
        if media_type in INDEX_MEDIA_TYPES:
            for child in doc.get("manifests", []):
                yield from visit(child, child["digest"])
        elif media_type not in MANIFEST_MEDIA_TYPES:
            raise RegistryError(f"{desc['digest']} has media type {media_type!r}, which is not an image")
        yield TreeNode({**desc, "mediaType": media_type}, data, doc, ref)

    return visit(root, reference)


def transfer(source: Source, sink: Sink, root: Descriptor, reference: str, progress: Progress | None) -> None:
    """Move the image tree under `root`: blobs, then manifests by digest, then the root under `reference`."""
    seen: set[str] = set()
    for node in image_tree(source, root, reference):
        for blob in node.blobs():
            if blob["digest"] in seen or sink.has_blob(blob["digest"]):
                continue
            with source.blob(blob) as reader:
                sink.put_blob(blob, reader, progress)
            seen.add(blob["digest"])
        sink.put_manifest(node.desc, node.data, node.reference)
