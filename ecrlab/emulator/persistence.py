"""`--data-dir`: the whole registry survives a restart and a `kill -9`; what was acknowledged is on disk first.

Design: an atomic snapshot of all state plus a write-ahead journal of the pushes acknowledged since.

- **The snapshot** (`state.pickle`) is one pickle of every account's and region's moto backends of the services
  the kit uses (ECR, IAM, STS, Secrets Manager, EventBridge, SQS, SNS), ecrlab's per-registry state, the queue of
  background work (pending replications and backfills, whose jobs hold the very backends they act on — one pickle
  keeps those references), published advisories, the clock, moto's id generator and the password signing key.
  It is written to a temporary file and renamed over the old one, so a crash leaves the old or the new, never half.
- **The journal** (`journal-<generation>.log`) holds what a snapshot per push would cost too much to cover: a
  snapshot is O(registry) and a push would pay it three times (two blobs, one manifest). A blob commit is journaled
  as its effect (repository R has blob D of size S: pure data); a manifest PUT as the request itself, replayed at
  start through the same `/v2/` code with the clock pinned to the time it was served, so timestamps and every
  consequence (scan on push, replication queued, events) come out as they did. Replay is exact because a push is
  journaled only when nothing else ran inside it: when background work ran, or anything else changed state (API
  writes, control actions, a pull that filled a pull through cache), a new snapshot is taken instead and the
  journal starts over. Each record is length- and CRC-framed and written with one `write()` before the answer;
  a torn last record (a crash mid-write, never acknowledged) is dropped at start.
- **Writers take turns**: requests that change state are served one at a time with their record or snapshot, so
  the journal's order is the state's order; reads run freely. A blob upload streams its bytes outside that turn
  and takes one only for its record: a link commutes with everything a journal can hold (at replay links go
  first), and a snapshot taken between a link and its record already holds it.
- **Durability**: records and snapshots reach the kernel before the answer, so they survive the process being
  killed; `durable=True` (`ecrlab emulator serve --fsync`) also fsyncs them, which survives power loss and costs
  a few milliseconds per write (see benchmarks/bench_persistence.py).
- **Blobs** are already files in `blobs/` (content-addressed, renamed into place only after their bytes hashed
  to their name), so a partial blob is never served; unfinished uploads (`uploads/`) are discarded at start, as
  any restart of a registry ends upload sessions.

Not kept: upload sessions in progress, pending injected faults, the stand-in upstreams' knobs and request log, and
pull timestamps recorded by reads (a pull changes no setting). The pickle is trusted input: keep the data dir
private (the server creates it readable by its owner only). The saved clock wins over `--frozen-clock` at a
restart: the registry's time never goes back.
"""

from __future__ import annotations

import copyreg
import io
import os
import pickle
import struct
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ecrlab.emulator import background, observers, scanner, tokens
from ecrlab.emulator.blobstore import shared_store
from ecrlab.emulator.clock import Clock
from ecrlab.emulator.extension import registry_state
from ecrlab.errors import EcrlabError

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

STATE_FILE = "state.pickle"
FORMAT = 1
COMPACT_RECORDS = 1000  # a snapshot replaces the journal after this many records (bounds replay at start)
COMPACT_BYTES = 64 << 20
# API operations that only read (every other operation, e.g. AssumeRole or ReceiveMessage, is a change).
READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "BatchCheck")
# The API's upload sessions, like /v2/'s, end with the process: only CompleteLayerUpload is kept.
SESSION_OPERATIONS = ("InitiateLayerUpload", "UploadLayerPart")
# What each request is to persistence.
READ, TRANSIENT, PUSH, LINK, CHANGE = "read", "transient", "push", "link", "change"
_FRAME = struct.Struct(">II")  # payload length, CRC-32 of the payload
_REPLAYED_HEADERS = ("Host", "Authorization", "Content-Type")


def _backend_dicts() -> dict[str, Any]:
    """moto's state per service: {account: {region: backend}} dictionaries."""
    from moto.ecr.models import ecr_backends
    from moto.events.models import events_backends
    from moto.iam.models import iam_backends
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends
    from moto.sts.models import sts_backends

    return {
        "ecr": ecr_backends,
        "iam": iam_backends,
        "sts": sts_backends,
        "secretsmanager": secretsmanager_backends,
        "events": events_backends,
        "sqs": sqs_backends,
        "sns": sns_backends,
    }


class _StatePickler(pickle.Pickler):
    """Pickles moto's objects; a lock inside them (moto keeps a few) comes back as a new, unlocked lock."""

    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[type(threading.Lock())] = lambda lock: (threading.Lock, ())
    dispatch_table[type(threading.RLock())] = lambda lock: (threading.RLock, ())


def _pickle(value: Any) -> bytes:
    buffer = io.BytesIO()
    _StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _operation(environ: dict[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    fields = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" not in fields and body:
        fields = parse_qs(body.decode(errors="replace"))
    return (fields.get("Action") or [""])[0]


def classify(environ: dict[str, Any], body: bytes = b"") -> str:
    """READ, TRANSIENT (upload sessions, faults, upstream knobs: not kept), PUSH, LINK (a blob joins a
    repository) or CHANGE (anything else that may write)."""
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    if method in ("GET", "HEAD", "OPTIONS") and not path.startswith("/_ecrlab/"):
        return READ
    if path.startswith("/_upstreams/"):
        return TRANSIENT
    if path.startswith("/_ecrlab/"):
        action = path.removeprefix("/_ecrlab/")
        return {"status": READ, "faults": TRANSIENT}.get(action, CHANGE)
    if path.startswith("/v2/"):
        if "/blobs/uploads/" in path:
            query = parse_qs(environ.get("QUERY_STRING", ""))
            if method == "PUT" or (method == "POST" and ("digest" in query or "mount" in query)):
                return LINK
            return TRANSIENT if method in ("POST", "PATCH", "DELETE") else CHANGE
        return PUSH if method == "PUT" and "/manifests/" in path else CHANGE
    operation = _operation(environ, body)
    if operation in SESSION_OPERATIONS:
        return TRANSIENT
    return READ if operation.startswith(READ_PREFIXES) else CHANGE


def _buffer(environ: dict[str, Any]) -> bytes:
    """Read the request body once and put it back for the app (it is needed for a record or a classification)."""
    from werkzeug.wsgi import get_input_stream

    body = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = False
    return body


class Journal:
    """Append-only framed records; a torn or corrupt tail (never acknowledged) ends the reading."""

    def __init__(self, path: Path, durable: bool) -> None:
        self.path = path
        self.durable = durable
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        self.records = 0
        self.size = 0
        if durable:
            fsync_directory(path.parent)  # the new file's name, not only its records, must survive a power loss

    def append(self, payload: bytes) -> None:
        data = _FRAME.pack(len(payload), zlib.crc32(payload)) + payload
        os.write(self._fd, data)  # one write: the record reaches the kernel whole before the answer
        if self.durable:
            os.fsync(self._fd)
        self.records += 1
        self.size += len(data)

    def close(self) -> None:
        os.close(self._fd)

    @staticmethod
    def read(path: Path) -> Iterator[bytes]:
        if not path.is_file():
            return
        data = path.read_bytes()
        offset = 0
        while offset + _FRAME.size <= len(data):
            length, crc = _FRAME.unpack_from(data, offset)
            payload = data[offset + _FRAME.size : offset + _FRAME.size + length]
            if len(payload) != length or zlib.crc32(payload) != crc:
                return
            yield payload
            offset += _FRAME.size + length


def _write_atomically(path: Path, data: bytes, durable: bool) -> None:
    staged = path.with_name(f".{path.name}.tmp")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(staged, path)
    if durable:
        fsync_directory(path.parent)


def fsync_directory(path: Path) -> None:
    """Make the names in `path` (a rename, a new file) survive a power loss."""
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


_noticed = threading.local()  # images pushed or deleted on this thread (a read that filled a cache changed state)


def _count(*_: Any) -> None:
    _noticed.count = getattr(_noticed, "count", 0) + 1


observers.on_push(_count)
observers.on_delete(_count)


class Persistence:
    """The registry's state under `root`: restore it at start, then wrap the app so each change is kept."""

    def __init__(self, root: str | Path, clock: Clock, durable: bool = False) -> None:
        self.root = Path(root)
        if not self.root.exists():
            self.root.mkdir(parents=True, mode=0o700)  # its files are the registry and the key to its knobs
        self.clock = clock
        self.durable = durable
        self.generation = 0
        self.advisories: list[Any] = []  # published OSV records, in order, to load into the feed again
        self._lock = threading.RLock()
        self._dirty = False
        self._journal: Journal | None = None
        self._app: WSGIApp | None = None
        self._v2: WSGIApp | None = None

    # --- start -----------------------------------------------------------------------------------------

    def restore(self, app: Any) -> int:
        """Load the snapshot and replay its journal into `app` (an `EmulatorApp`); returns how many records
        were replayed. Then a fresh snapshot starts a new journal."""
        from ecrlab.emulator import distribution

        self._app, self._v2 = app, app.mounts[distribution.PREFIX]
        shared_store().clear_staging()
        replayed = 0
        path = self.root / STATE_FILE
        if path.is_file():
            saved = pickle.loads(path.read_bytes())
            self._install(saved)
            replayed = self._replay(self.root / f"journal-{saved['generation']}.log", saved["clock"])
        with self._lock:
            self._snapshot()
        return replayed

    def _install(self, saved: dict[str, Any]) -> None:
        from moto.moto_api._internal import mock_random

        if saved.get("format") != FORMAT:
            raise EcrlabError(
                f"{self.root / STATE_FILE} was written in format {saved.get('format')}; this ecrlab reads format "
                f"{FORMAT}: serve it with the ecrlab that wrote it, or start from an empty --data-dir"
            )
        self.generation = saved["generation"]
        for name, backend_dict in _backend_dicts().items():
            for account, regions in saved["backends"].get(name, {}).items():
                for region, backend in regions.items():
                    backend_dict[account][region] = backend
        for backend, state in saved["registry_states"]:
            restored = registry_state(backend)
            vars(restored).update(vars(state))
            restored.uploads = {}  # upload sessions end with the process
        background.restore(saved["jobs"])
        self.advisories = list(saved["advisories"])
        for records in self.advisories:
            scanner.publish(records)
        self.clock.restore(saved["clock"])
        mock_random.setstate(saved["random"])
        tokens.use_signing_key(saved["signing_key"])

    def _replay(self, path: Path, clock_state: Any) -> int:
        """Blob links first (a link only makes a blob available, and every journaled push had its blobs), then
        the pushes in order; a link to a repository a replayed push creates waits for it."""
        from werkzeug.test import EnvironBuilder

        records = [pickle.loads(payload) for payload in Journal.read(path)]
        waiting = [record for record in records if record["kind"] == LINK]
        waiting = [record for record in waiting if not _link(record)]
        try:
            for record in records:
                if record["kind"] != PUSH:
                    continue
                self.clock.freeze(record["time"])  # the push is served again at the time it was served
                environ = EnvironBuilder(
                    path=record["path"],
                    method="PUT",
                    headers=record["headers"],
                    data=record["body"],
                    query_string=record["query"],
                ).get_environ()
                assert self._v2 is not None
                status = _status_of(self._v2, environ)
                if not status.startswith("201"):  # the same request on the same state: should not happen
                    print(f"ecrlab: replaying PUT {record['path']} answered {status}", file=sys.stderr)
                waiting = [record for record in waiting if not _link(record)]
        finally:
            self.clock.restore(clock_state)
        return len(records)

    # --- serving ---------------------------------------------------------------------------------------

    def wrap(self, app: WSGIApp) -> WSGIApp:
        """`app`, keeping every change it makes under `root` before answering."""
        self._app = app

        def persisted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            needs_body = environ.get("REQUEST_METHOD") not in ("GET", "HEAD", "OPTIONS") and not (
                path.startswith(("/v2/", "/_upstreams/")) or environ.get("HTTP_X_AMZ_TARGET")
            )
            body = _buffer(environ) if needs_body or (path.startswith("/v2/") and "/manifests/" in path) else b""
            kind = classify(environ, body)
            if kind == TRANSIENT and _starts_upload(environ) and self._link_target(environ) is None:
                kind = CHANGE  # the upload may create its repository from a CREATE_ON_PUSH template
            if kind in (READ, TRANSIENT):
                return self._observed(app, environ, start_response)
            if kind == LINK:  # the blob's bytes stream without the writers' turn; only its record takes one
                return self._linked(app, environ, start_response)
            with self._lock:
                return self._kept(app, kind, body, environ, start_response)

        return persisted

    def _observed(self, app: WSGIApp, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """A read: kept only if background work ran or an image came or went while it was served."""
        runs, seen = background.carried_out(), getattr(_noticed, "count", 0)
        result = app(environ, start_response)
        if background.carried_out() != runs or getattr(_noticed, "count", 0) != seen:
            # A read nested inside a change (an ECR upstream on this same server) must not wait for it.
            if self._lock.acquire(timeout=5):
                try:
                    self._snapshot()
                finally:
                    self._lock.release()
            else:
                self._dirty = True
        return result

    def _kept(
        self, app: WSGIApp, kind: str, body: bytes, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        runs, started = background.carried_out(), self.clock.now()
        answer: dict[str, Any] = {}
        result = app(environ, _capturing(start_response, answer))
        if kind == PUSH and background.carried_out() == runs and not self._dirty and answer.get("status", 500) < 300:
            self._record({"kind": PUSH, "time": started, **self._request(environ, body)})
            return result
        if kind == CHANGE and environ.get("PATH_INFO") == "/_ecrlab/advisories" and answer.get("status") == 200:
            self._published(body)
        elif environ.get("PATH_INFO") == "/_ecrlab/reset":
            self.advisories = []
        self._snapshot()
        return result

    def _linked(self, app: WSGIApp, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """A blob joins a repository: journaled after the fact. Whatever snapshot comes between the link and its
        record holds the link already, and applying it again at replay changes nothing."""
        runs = background.carried_out()
        link = self._link_target(environ)
        answer: dict[str, Any] = {}
        result = app(environ, _capturing(start_response, answer))
        with self._lock:
            digest = answer.get("headers", {}).get("Docker-Content-Digest", "")
            simple = background.carried_out() == runs and not self._dirty and answer.get("status", 500) < 300
            if simple and link is not None and digest in link[3].layers:
                account, region, name, repository = link
                self._record(
                    {"kind": LINK, "account": account, "region": region, "name": name, "digest": digest}
                    | {"size": repository.layers[digest]}
                )
            else:
                self._snapshot()
        return result

    def _link_target(self, environ: dict[str, Any]) -> tuple[str, str, str, Any] | None:
        """(account, region, repository name, repository) a blob upload joins, if the repository exists now
        (otherwise the push creates it from a template: more than a link, so a snapshot keeps it)."""
        from moto.ecr.models import ecr_backends

        password = tokens.basic_credentials(environ.get("HTTP_AUTHORIZATION", ""))
        if password is None:
            return None
        try:
            login = tokens.verify_password(password)
        except tokens.TokenRejected:
            return None
        account, region = tokens.addressed_registry(environ.get("HTTP_HOST", ""), login)
        name = environ.get("PATH_INFO", "").removeprefix("/v2/").split("/blobs/uploads/")[0]
        try:
            repository = ecr_backends[account][region].repositories.get(name)
        except KeyError:
            return None
        return (account, region, name, repository) if repository is not None else None

    @staticmethod
    def _request(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
        headers = {name: environ[key] for name in _REPLAYED_HEADERS if (key := _environ_key(name)) in environ}
        return {"path": environ["PATH_INFO"], "query": environ.get("QUERY_STRING", ""), "headers": headers} | {
            "body": body
        }

    def _published(self, body: bytes) -> None:
        import json

        parsed = json.loads(body or b"{}")
        self.advisories.append(parsed.get("records") if isinstance(parsed, dict) else parsed)

    # --- writing ---------------------------------------------------------------------------------------

    def _record(self, record: dict[str, Any]) -> None:
        assert self._journal is not None
        self._journal.append(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        if self._journal.records >= COMPACT_RECORDS or self._journal.size >= COMPACT_BYTES:
            self._snapshot()

    def _capture(self) -> dict[str, Any]:
        from moto.moto_api._internal import mock_random

        backends = {
            name: {account: dict(regions) for account, regions in backend_dict.items()}
            for name, backend_dict in _backend_dicts().items()
        }
        states = [
            (backend, registry_state(backend)) for regions in backends["ecr"].values() for backend in regions.values()
        ]
        return {
            "format": FORMAT,
            "generation": self.generation + 1,
            "backends": backends,
            "registry_states": states,
            "jobs": background.pending(),
            "advisories": self.advisories,
            "clock": self.clock.state(),
            "random": mock_random.getstate(),
            "signing_key": tokens.signing_key(),
        }

    def _snapshot(self) -> None:
        """Write all state atomically and start an empty journal (the caller holds the writers' lock)."""
        for attempt in range(5):
            try:
                data = _pickle(self._capture())
                break
            except RuntimeError:  # a read changed a dict while it was pickled (a cache fill): take it again
                if attempt == 4:
                    raise
        self.generation += 1
        _write_atomically(self.root / STATE_FILE, data, self.durable)
        if self._journal is not None:
            self._journal.close()
        self._journal = Journal(self.root / f"journal-{self.generation}.log", self.durable)
        for old in self.root.glob("journal-*.log"):
            if old != self._journal.path:
                old.unlink(missing_ok=True)
        self._dirty = False


def _capturing(start_response: Callable[..., Any], answer: dict[str, Any]) -> Callable[..., Any]:
    """`start_response`, noting the status and headers in `answer`."""

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)
        return start_response(status, headers, exc_info)

    return capture


def _link(record: dict[str, Any]) -> bool:
    """Apply a journaled blob link; False while its repository does not exist (yet)."""
    from moto.ecr.models import ecr_backends

    repository = ecr_backends[record["account"]][record["region"]].repositories.get(record["name"])
    if repository is None:
        return False
    if shared_store().has(record["digest"]):
        repository.layers[record["digest"]] = record["size"]
    return True


def _status_of(app: WSGIApp, environ: dict[str, Any]) -> str:
    answered: list[str] = []
    list(app(environ, lambda status, headers, exc_info=None: answered.append(status)))
    return answered[0] if answered else "no answer"


def _starts_upload(environ: dict[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").endswith("/blobs/uploads/")


def _environ_key(header: str) -> str:
    name = header.upper().replace("-", "_")
    return name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
