"""The emulator's upstream registries: stand-ins for the public ones, `--upstream` mappings, and a request log.

A pull through cache rule names a public host (registry-1.docker.io, public.ecr.aws, …). Offline, the emulator
answers for those hosts itself: a small OCI distribution server, routed at `/_upstreams/<host>/v2/` on the
emulator's own address, serves the sample images of data/images under public names (`library/node:18-alpine` on
Docker Hub, `docker/library/node:18-alpine` on ECR Public). It copies the Docker Hub habits lessons need: a
per-client pull rate limit answering 429 TOOMANYREQUESTS, counted on manifest GETs as Docker Hub counts pulls (a
logged-in client by its user, anonymous ones by address, so on loopback they share one budget), and 401 for a
repository it does not have (why an official image without `library/` fails). `ecrlab emulator serve
--upstream HOST=URL` sends a host to a real registry instead. Every request the emulator makes upstream is logged,
so a lesson can count "one upstream fetch". `GET`/`POST /_upstreams/` read and set all of it
(`ecrlab.upstream_knobs.Upstreams` is the client).
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from ecrlab.emulator.clock import emulator_now
from ecrlab.oci_layout import INDEX_MEDIA_TYPES, OciLayout, read_blob, read_layout
from ecrlab.package_data import sample_images
from ecrlab.pull_through_cache_rules import ECR_HOST, kind_of
from ecrlab.upstream_knobs import STAND_IN_CREDENTIALS

PREFIX = "/_upstreams/"
IMAGES = sample_images()
AZURE = "*.azurecr.io"  # every Azure registry name gets the same stand-in
# What each stand-in serves at start: host -> repository -> tag -> sample layout in data/images.
CATALOG: dict[str, dict[str, dict[str, str]]] = {
    "public.ecr.aws": {
        "docker/library/node": {"18-alpine": "alpine-node"},
        "docker/library/alpine": {"3.19": "alpine-multiarch"},
    },
    "registry-1.docker.io": {
        "library/node": {"18-alpine": "alpine-node"},
        "library/alpine": {"3.19": "alpine-multiarch"},
    },
    "registry.k8s.io": {"pause": {"3.9": "scratch-binary"}},
    "quay.io": {"libpod/alpine": {"3.19": "alpine-multiarch"}},
    "ghcr.io": {"ecrlab/app": {"bookworm": "debian-app"}},
    "registry.gitlab.com": {"ecrlab/app": {"bookworm": "debian-app"}},
    AZURE: {"ecrlab/app": {"bookworm": "debian-app"}},
    "cgr.dev": {"chainguard/static": {"latest": "distroless-static"}},
}
TOO_MANY_REQUESTS = (
    "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: "
    "https://www.docker.com/increase-rate-limit"
)
LOG_SIZE = 10_000


@cache
def _layout(name: str) -> OciLayout:
    return read_layout(IMAGES / name)


@cache
def _contents(name: str) -> tuple[dict[str, str], frozenset[str]]:
    """A sample layout's manifests (digest -> media type) and every blob digest it holds."""
    layout = _layout(name)
    manifests: dict[str, str] = {}

    def visit(desc: dict[str, Any]) -> None:
        doc = json.loads(read_blob(layout, desc["digest"]))
        manifests[desc["digest"]] = desc.get("mediaType") or doc["mediaType"]
        if manifests[desc["digest"]] in INDEX_MEDIA_TYPES:
            for child in doc["manifests"]:
                visit(child)

    for desc in layout.refs.values():
        visit(desc)
    blobs = frozenset("sha256:" + p.name for p in (layout.path / "blobs" / "sha256").iterdir())
    return manifests, blobs


@dataclass
class StandIn:
    """One stand-in upstream: its repositories and tags, knobs, and what it served."""

    tags: dict[str, dict[str, str]]  # repository -> tag -> sample layout name
    history: dict[str, set[str]]  # repository -> every layout it served, so old digests stay pullable
    rate_limit: tuple[int, float] | None = None  # (pulls, window seconds) per client
    down: bool = False
    pulls: dict[str, deque[float]] = field(default_factory=dict)  # client -> times of counted pulls
    served: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, catalog: Mapping[str, Mapping[str, str]]) -> StandIn:
        return cls({r: dict(t) for r, t in catalog.items()}, {r: set(t.values()) for r, t in catalog.items()})

    def publish(self, repository: str, tag: str, image: str) -> None:
        # Only a layout directly in the sample folder: a name, never a path (no `../` out of it).
        known = sorted(p.name for p in IMAGES.iterdir() if (p / "index.json").is_file())
        if not isinstance(image, str) or image not in known:
            raise ValueError(f"image must be a sample layout in data/images ({', '.join(known)}), not {image!r}")
        self.tags.setdefault(repository, {})[tag] = image
        self.history.setdefault(repository, set()).add(image)

    def summary(self) -> dict[str, Any]:
        limit = self.rate_limit
        return {
            "repositories": {
                repo: {tag: _digest_of(image) for tag, image in tags.items()} for repo, tags in self.tags.items()
            },
            "rate_limit": {"pulls": limit[0], "window_seconds": limit[1]} if limit else None,
            "down": self.down,
            "served": dict(self.served),
        }


def _digest_of(image: str) -> str:
    return next(iter(_layout(image).refs.values()))["digest"]


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mapped: dict[str, str] = {}  # host -> URL of a real registry (--upstream)
        self.own: str | None = None  # where this process's emulator listens (`serving_at`)
        self.reset()

    def reset(self) -> None:
        self.stand_ins = {host: StandIn.of(catalog) for host, catalog in CATALOG.items()}
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self.sequence = 0


_STATE = _State()


def reset() -> None:
    """Stand-ins back to their catalog, no limits or outages, an empty log; `--upstream` mappings stay."""
    with _STATE.lock:
        _STATE.reset()


def map_hosts(pairs: Iterable[str]) -> None:
    """Send upstream hosts to real registries, from `HOST=URL` pairs (`--upstream`), for this process."""
    from ecrlab.errors import ValidationError

    mapping = {}
    for pair in pairs:
        host, _, url = pair.partition("=")
        parts = urlsplit(url)
        if not host or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError("--upstream", pair, "must be HOST=URL with URL http(s)://host[:port]")
        mapping[host] = url.rstrip("/")
    with _STATE.lock:
        _STATE.mapped.update(mapping)


def _stand_in_key(host: str) -> str | None:
    if host in CATALOG:
        return host
    return AZURE if kind_of(host) == "azure-container-registry" else None


def own_url(environ: Mapping[str, Any]) -> str:
    """The address the emulator serving this request listens on (how it reaches its own routes)."""
    return f"http://{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"


def serving_at(url: str) -> None:
    """Record where this process's emulator listens, for work no request carries (`own_address`)."""
    with _STATE.lock:
        _STATE.own = url


def own_address() -> str | None:
    """Where this process's emulator listens, once it does: how background work reaches the stand-ins it serves."""
    with _STATE.lock:
        return _STATE.own


def where(host: str, own: str) -> tuple[str, str | None]:
    """(base URL, Host header) to reach upstream `host`: its mapping, its stand-in, or for an ECR host the
    emulator itself addressed by registry name. Raises LookupError for a host nothing serves."""
    with _STATE.lock:
        if host in _STATE.mapped:
            return _STATE.mapped[host], None
    if _stand_in_key(host):
        return f"{own}{PREFIX}{host}", None
    match = ECR_HOST.fullmatch(host)
    if match:
        return own, f"{match[1]}.dkr.ecr.{match[2]}.localhost:{urlsplit(own).port}"
    raise LookupError(f"no upstream serves {host}; map it with `ecrlab emulator serve --upstream {host}=URL`")


def recorder(host: str, repository: str) -> Callable[[str, str, int], None]:
    """A callback that logs each request the emulator makes to `host` while filling `repository`."""

    def record(method: str, path: str, status: int) -> None:
        with _STATE.lock:
            _STATE.sequence += 1
            _STATE.log.append(
                {
                    "seq": _STATE.sequence,
                    "time": emulator_now().isoformat(),
                    "host": host,
                    "method": method,
                    "path": "/v2/" + path.split("/v2/", 1)[1] if "/v2/" in path else path,
                    "status": status,
                    "repository": repository,
                }
            )

    return record


# --- the HTTP side: /_upstreams/ (knobs and log) and /_upstreams/<host>/v2/… (the stand-ins) ----------------


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def _errors(status: int, code: str, message: str, headers: dict[str, str] | None = None, **detail: Any) -> Response:
    return _json(status, {"errors": [{"code": code, "message": message, "detail": detail or None}]}, headers)


def _status(request: Request) -> dict[str, Any]:
    own = own_url(request.environ)
    hosts = {host: f"{own}{PREFIX}{host}" for host in CATALOG if host != AZURE}
    with _STATE.lock:
        hosts.update(_STATE.mapped)
        since = request.args.get("since", 0, type=int)
        return {
            "hosts": hosts,
            "stand_ins": {host: s.summary() for host, s in _STATE.stand_ins.items()},
            "requests": [entry for entry in _STATE.log if entry["seq"] > since] if since >= 0 else [],
            "last": _STATE.sequence,
        }


def _configure(body: dict[str, Any]) -> None:
    host = body.get("host", "")
    key = _stand_in_key(host)
    if key is None:
        raise ValueError(f"{host!r} has no stand-in; stand-ins: {', '.join(CATALOG)}")
    with _STATE.lock:
        stand_in = _STATE.stand_ins[key]
        if "rate_limit" in body:
            limit = body["rate_limit"]
            stand_in.rate_limit = (int(limit["pulls"]), float(limit["window_seconds"])) if limit else None
            stand_in.pulls.clear()
        if "down" in body:
            stand_in.down = bool(body["down"])
        if "publish" in body:
            published = body["publish"]
            stand_in.publish(published["repository"], published["tag"], published["image"])


def _authenticated(request: Request) -> tuple[bool, str]:
    """(credentials accepted, client identity): the stand-in account's user, else the client's address."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return True, request.remote_addr or "anonymous"
    try:
        user, _, token = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False, ""
    accepted = (user, token) == (STAND_IN_CREDENTIALS["username"], STAND_IN_CREDENTIALS["accessToken"])
    return accepted, user


def _throttled(stand_in: StandIn, client: str) -> dict[str, str] | None:
    """Count one pull for `client`; the 429 headers when it is over the limit (Docker Hub's header names)."""
    if stand_in.rate_limit is None:
        return None
    pulls, window = stand_in.rate_limit
    now = emulator_now().timestamp()
    times = stand_in.pulls.setdefault(client, deque())
    while times and times[0] <= now - window:
        times.popleft()
    if len(times) >= pulls:
        return {"RateLimit-Limit": f"{pulls};w={int(window)}", "RateLimit-Remaining": f"0;w={int(window)}"}
    times.append(now)
    return None


class UpstreamsApp:
    """WSGI app for everything under `/_upstreams/`."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        rest = request.path[len(PREFIX) :] if request.path.startswith(PREFIX) else ""
        if not rest:
            response = self._control(request)
        else:
            host, _, path = rest.partition("/")
            response = self._stand_in(request, host, "/" + path)
            response.headers["Docker-Distribution-API-Version"] = "registry/2.0"
        return response(environ, start_response)

    def _control(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                _configure(json.loads(request.get_data() or b"{}"))
            except (ValueError, KeyError, TypeError) as exc:
                return _json(400, {"field": "upstream", "message": str(exc)})
        return _json(200, _status(request))

    def _stand_in(self, request: Request, host: str, path: str) -> Response:
        key = _stand_in_key(host)
        if key is None:
            return _errors(404, "NAME_UNKNOWN", f"no stand-in upstream for {host}")
        with _STATE.lock:
            stand_in = _STATE.stand_ins[key]
            if stand_in.down:
                stand_in.served["unavailable"] += 1
                return _errors(503, "UNAVAILABLE", "service unavailable")
            accepted, client = _authenticated(request)
            if not accepted:
                stand_in.served["unauthorized"] += 1
                challenge = {"WWW-Authenticate": f'Basic realm="{host}"'}
                return _errors(401, "UNAUTHORIZED", "incorrect username or password", challenge)
            if path.rstrip("/") == "/v2":
                return _json(200, {})
            name, kind, reference = _parse(path)
            if name not in stand_in.tags:
                return _unknown_repository(host, name)
            if kind == "manifests":
                return self._manifest(request, stand_in, name, reference, client)
            if kind == "blobs":
                return self._blob(stand_in, name, reference)
            if kind == "tags":
                return _json(200, {"name": name, "tags": sorted(stand_in.tags[name])})
        return _errors(404, "NOT_FOUND", f"no such endpoint: {path}")

    def _manifest(self, request: Request, stand_in: StandIn, name: str, reference: str, client: str) -> Response:
        if reference.startswith("sha256:"):
            image = next((i for i in sorted(stand_in.history[name]) if reference in _contents(i)[0]), None)
            if image is None:
                return _errors(404, "MANIFEST_UNKNOWN", "manifest unknown")
            digest, media_type = reference, _contents(image)[0][reference]
        elif reference in stand_in.tags[name]:
            image = stand_in.tags[name][reference]
            desc = next(iter(_layout(image).refs.values()))
            digest, media_type = desc["digest"], desc["mediaType"]
        else:
            return _errors(404, "MANIFEST_UNKNOWN", "manifest unknown")
        # Docker Hub counts a pull per manifest GET by tag; the digest GETs of an index's images ride along.
        if request.method == "GET" and not reference.startswith("sha256:"):
            limited = _throttled(stand_in, client)
            if limited:
                stand_in.served["throttled"] += 1
                return _errors(429, "TOOMANYREQUESTS", TOO_MANY_REQUESTS, limited)
        if request.method == "GET":
            stand_in.served["manifests"] += 1
        data = read_blob(_layout(image), digest)
        return Response(data, headers={"Docker-Content-Digest": digest}, content_type=media_type)

    def _blob(self, stand_in: StandIn, name: str, digest: str) -> Response:
        image = next((i for i in sorted(stand_in.history[name]) if digest in _contents(i)[1]), None)
        if image is None:
            return _errors(404, "BLOB_UNKNOWN", "blob unknown to registry")
        stand_in.served["blobs"] += 1
        path = IMAGES / image / "blobs" / "sha256" / digest.removeprefix("sha256:")
        return Response(
            path.read_bytes(), headers={"Docker-Content-Digest": digest}, content_type="application/octet-stream"
        )


def _parse(path: str) -> tuple[str, str, str]:
    """('library/node', 'manifests', '18-alpine') from '/v2/library/node/manifests/18-alpine'."""
    body = path.removeprefix("/v2/")
    if body.endswith("/tags/list"):
        return body.removesuffix("/tags/list"), "tags", ""
    for kind in ("manifests", "blobs"):
        name, marker, reference = body.rpartition(f"/{kind}/")
        if marker:
            return name, kind, reference
    return body, "", ""


def _unknown_repository(host: str, name: str) -> Response:
    if kind_of(host) == "docker-hub":
        # Docker Hub answers a repository it does not have (e.g. `node` for the official `library/node`) with 401.
        detail = [{"Type": "repository", "Class": "", "Name": name, "Action": "pull"}]
        return _json(
            401,
            {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": detail}]},
            {"WWW-Authenticate": f'Basic realm="{host}"'},
        )
    return _errors(404, "NAME_UNKNOWN", "repository name not known to registry")
