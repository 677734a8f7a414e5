"""Upstream registries (Docker Hub, Quay, a Distribution registry…) reached by URL over the OCI protocol.

ECR fills a pull through cache this way, and a lesson's "CI job" pulls straight from an upstream this way to meet
its rate limit. Auth is anonymous, basic, or the bearer-token challenge Docker Hub and GHCR use. A failure carries
the `ImageFailureCode` ECR reports for it (`UpstreamTooManyRequests`, …). `Upstreams` holds the emulator's knobs
for its stand-in upstreams (rate limits, outages, moving a tag) and its log of upstream requests; AWS has neither.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import urllib3

from ecrlab.errors import RegistryError, ValidationError
from ecrlab.images import ACCEPT, _digest, _LayoutSink, _media_type, _RegistrySource, _transfer

if TYPE_CHECKING:
    from ecrlab.registry import Registry

# The model's ImageFailureCode for each way an upstream can refuse.
FAILURE_CODES = {
    401: "UpstreamAccessDenied",
    403: "UpstreamAccessDenied",
    404: "ImageNotFound",
    429: "UpstreamTooManyRequests",
}
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
# The one account every authenticated stand-in upstream of the emulator accepts (the demo keys of upstreams).
STAND_IN_CREDENTIALS = {"username": "ecrlab", "accessToken": "ecrlab-stand-in-token"}

Observer = Callable[[str, str, int], None]  # (method, path, status) of every request made


class UpstreamError(RegistryError):
    """An upstream refused or failed a request; `failure_code` is ECR's name for it."""

    def __init__(self, message: str, failure_code: str, code: str = "", status: int = 0) -> None:
        self.failure_code = failure_code
        super().__init__(message, code, status)


class UpstreamRegistry:
    """One registry's `/v2/` at `base_url` (which may carry a path, as the emulator's stand-ins do)."""

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
        digest = _digest(data)
        claimed = (
            reference if reference.startswith("sha256:") else response.headers.get("Docker-Content-Digest", digest)
        )
        if claimed != digest:
            raise UpstreamError(
                f"manifest {subject} from {self.name} does not hash to {claimed}", "UpstreamUnavailable"
            )
        return data, response.headers.get("Content-Type", "").split(";")[0] or _media_type({}, data), digest

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

    def source(self, repository: str) -> _RegistrySource:
        """A source for `ecrlab.images`' walk: manifests and blob streams of one repository."""
        return _RegistrySource(self, repository)  # type: ignore[arg-type]


def pull(
    url: str,
    repository: str,
    reference: str,
    dest_dir: str | Path,
    *,
    username: str | None = None,
    password: str | None = None,
) -> str:
    """Pull `repository:reference` from the registry at `url` into an OCI layout, as a CI job would; the digest."""
    source = UpstreamRegistry(url, username, password).source(repository)
    root = source.root(reference)
    sink = _LayoutSink(Path(dest_dir))
    _transfer(source, sink, root, reference, None)
    sink.name(root, None if reference.startswith("sha256:") else reference)
    return root["digest"]


class Upstreams:
    """The emulator's upstreams from a lesson: where each host is served, the stand-ins' knobs, the request log."""

    def __init__(self, registry: Registry) -> None:
        if registry.emulator is None:
            raise ValidationError("registry", registry.target, "upstream knobs exist only on the emulator")
        self.url = f"{registry.endpoint_url}/_upstreams/"
        self._headers = {"Content-Type": "application/json", **registry.emulator.headers}  # the control token
        self._http = urllib3.PoolManager()

    def _call(self, method: str, body: dict[str, Any] | None = None, query: str = "") -> dict[str, Any]:
        response = self._http.request(
            method,
            self.url + query,
            body=json.dumps(body).encode() if body is not None else None,
            headers=self._headers,
        )
        result = json.loads(response.data)
        if response.status != 200:
            raise ValidationError(result.get("field", "upstream"), body, result.get("message", str(response.status)))
        return result

    def status(self) -> dict[str, Any]:
        """Every upstream host and where it is served; each stand-in's tags, rate limit, outage and counters."""
        return self._call("GET")

    def url_of(self, host: str) -> str:
        """Where the emulator reaches `host` (its stand-in, or the registry `--upstream` mapped it to)."""
        return self.status()["hosts"][host]

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The emulator's own requests to upstreams after sequence number `since`, oldest first."""
        return self._call("GET", query=f"?since={since}")["requests"]

    def last_request(self) -> int:
        """The sequence number of the latest upstream request (0: none yet), to count from."""
        return self._call("GET", query="?since=-1")["last"]

    def rate_limit(self, host: str, pulls: int | None, window_hours: float = 6) -> None:
        """Let each client GET at most `pulls` manifests of `host` per window, then 429 (None: no limit)."""
        limit = None if pulls is None else {"pulls": pulls, "window_seconds": window_hours * 3600}
        self._call("POST", {"host": host, "rate_limit": limit})

    def outage(self, host: str, down: bool = True) -> None:
        """Make the stand-in `host` answer 503 to everything (`down=False` brings it back)."""
        self._call("POST", {"host": host, "down": down})

    def publish(self, host: str, repository: str, tag: str, image: str) -> None:
        """Point `repository:tag` on the stand-in `host` at a sample image (a `data/images/` layout name)."""
        self._call("POST", {"host": host, "publish": {"repository": repository, "tag": tag, "image": image}})
