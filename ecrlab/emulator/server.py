"""The emulator as a loopback HTTP server: moto's ECR (with ecrlab's extensions) plus ecrlab's own routes.

One path, not two: the embedded emulator of a notebook is this same server in a daemon thread, so boto3,
the AWS CLI in a terminal and OCI clients all take the same route as against `ecrlab emulator serve`.
"""

from __future__ import annotations

import gc
import json
import math
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, make_server

from ecrlab import control_token as control_token_module
from ecrlab.emulator import (
    background,
    blob_fills,
    blobstore,
    control_plane,
    faults,
    keep_alive,
    lifecycle_policies,
    moto_compat,
    request_validation,
    upstream_standins,
)
from ecrlab.emulator.clock import Clock, install_clock
from ecrlab.errors import ValidationError

if TYPE_CHECKING:
    from ecrlab.emulator.persistence import Persistence

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

CONTROL_PREFIX = "/_ecrlab/"


def _upstream_knobs(path: str) -> bool:
    """`/_upstreams/` itself holds the knobs and the log; `/_upstreams/<host>/v2/` are the stand-in registries."""
    return path.rstrip("/") == upstream_standins.PREFIX.rstrip("/")


class EmulatorApp:
    """Routes ecrlab's own prefixes to their apps and everything else to moto's service dispatcher."""

    def __init__(
        self,
        clock: Clock,
        data_dir: str | Path | None = None,
        vulndb: str | Path | None = None,
        control_token: str | None = None,
    ) -> None:
        from ecrlab.emulator import blobstore, distribution, scanner
        from ecrlab.emulator.extension import install

        install()
        install_clock(clock)
        blobstore.configure(data_dir)
        if vulndb is not None:  # otherwise scans use data/vulndb, loaded on the first scan
            scanner.use_feed(vulndb)
        self.clock = clock
        self.control_token = control_token or control_token_module.new_token()
        self._moto = moto_compat.wsgi_application()
        self.mounts: dict[str, WSGIApp] = {
            CONTROL_PREFIX: control_plane.guard(self._control, self.control_token),
            distribution.PREFIX: distribution.DistributionApp(),
            # stand-in upstream registries (open, as public registries are) and their knobs (closed)
            upstream_standins.PREFIX: control_plane.guard(
                upstream_standins.UpstreamsApp(), self.control_token, _upstream_knobs
            ),
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return request_validation.screen(environ, start_response, self._dispatch)  # botocore's model first

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        background.run_due()  # work AWS does in the background, once its time has come on the emulator clock
        path = environ.get("PATH_INFO", "")
        for prefix, app in self.mounts.items():
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return app(environ, start_response)
        return faults.intercept(environ, start_response) or self._moto(environ, start_response)

    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Knobs a lesson needs and AWS lacks: read and move the clock, settle background work, reset all state,
        publish advisories to the vulnerability feed (a list of OSV records, or `{"records": [...]}`)."""
        try:
            return self._act(environ, start_response)
        except ValidationError as error:
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            refusal = {"message": str(error), "field": error.field, "value": error.value, "rule": error.rule}
            return [json.dumps(refusal, default=str).encode()]

    def _act(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        action = environ["PATH_INFO"][len(CONTROL_PREFIX) :]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            # Unchecked JSON: each knob checks what it takes (publish_advisories refuses anything but a list).
            body: Any = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        except ValueError:
            raise ValidationError("body", None, "must be JSON") from None
        settled = rescanned = 0
        if action == "clock" and environ["REQUEST_METHOD"] == "POST":
            if "freeze" in body:
                frozen = body["freeze"]
                self.clock.freeze(datetime.fromisoformat(frozen) if frozen else None)
            if "advance_seconds" in body:
                self.clock.advance(_seconds(body, "advance_seconds"))
        elif action == "reset" and environ["REQUEST_METHOD"] == "POST":
            reset_state(self.clock)
        elif action == "settle" and environ["REQUEST_METHOD"] == "POST":
            within = _seconds(body, "within_seconds") if "within_seconds" in body else None
            settled = background.settle(None if within is None else self.clock.now() + within)
        elif action == "faults" and environ["REQUEST_METHOD"] == "POST":
            faults.inject(body.get("operation", ""), body.get("error", "ThrottlingException"), body.get("count", 1))
        elif action == "advisories" and environ["REQUEST_METHOD"] == "POST":
            from ecrlab.emulator.scanning_operations import publish_advisories

            records: Any = body.get("records") if isinstance(body, dict) else body
            rescanned = publish_advisories(records)
        elif action not in ("clock", "status", "faults"):
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [json.dumps({"message": f"unknown control action {action!r}"}).encode()]
        payload = {
            "now": self.clock.now().isoformat(),
            "frozen": self.clock.frozen,
            "settled": settled,
            "rescanned": rescanned,
            "faults": faults.pending(),
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(payload).encode()]


def _seconds(body: dict[str, Any], key: str) -> timedelta:
    """A knob's duration in seconds, or the knob's refusal naming it."""
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > 1e9:
        raise ValidationError(key, value, "must be a number of seconds (at most 10^9 either way)")
    return timedelta(seconds=value)


def reset_state(clock: Clock) -> None:
    """Forget every account's state and published advisories; a frozen clock restarts at its start and ids restart
    their sequence."""
    from ecrlab.emulator import scanner

    moto_compat.reset_all_backends()
    faults.clear()
    blob_fills.forget()
    lifecycle_policies.RUNS.forget()
    scanner.unpublish()
    upstream_standins.reset()
    if clock.frozen:
        clock.freeze()
        moto_compat.seed_ids(0)


YOUNG_GENERATION = 50_000  # objects allocated between two collections of the youngest generation (default 700)


def tune_garbage_collection() -> None:
    """Keep the cyclic collector's full collections out of scans and requests (issue 17, P4).

    What exists when a server is made (moto's and botocore's models, the feed, a restored registry) lives as long as
    the process: frozen out of the collector's reach, a full collection no longer walks it (one took 60-130 ms of
    CPU in the middle of whichever scan set it off). A scan or a write makes some 10^4 short-lived objects: past
    the default 700 they were promoted mid-scan, so every few scans a full collection walked the registry (75-195
    ms once 50 images were scanned); a young generation that holds them lets them die young.
    """
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])


class EmulatorServer:
    """A threaded server, on loopback unless `allow_remote`; `start()` returns once it accepts connections.

    Its knobs need `control_token` (a fresh one by default; `self.control_token`); CORS headers are sent only to
    `cors_origin`. With `data_dir` the whole registry is kept there and restored at start (`persistence`);
    `fsync` makes each acknowledged change survive a power loss too, not only a crash of the process.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        log_requests: bool = False,
        data_dir: str | Path | None = None,
        vulndb: str | Path | None = None,
        *,
        control_token: str | None = None,
        cors_origin: str | None = None,
        allow_remote: bool = False,
        fsync: bool = False,
    ) -> None:
        if not allow_remote and not control_plane.is_loopback(host):
            raise ValidationError("host", host, "binds beyond this machine; pass allow_remote (--allow-remote)")
        self.clock = clock or Clock()
        if self.clock.frozen:
            moto_compat.seed_ids(0)
        self.app = EmulatorApp(self.clock, data_dir, vulndb, control_token)
        self.control_token = self.app.control_token
        served: WSGIApp = self.app
        self.persistence: Persistence | None = None
        self.replayed = 0  # journal records (blob links, pushes) replayed at start (with `data_dir`)
        if data_dir is not None:  # the whole registry lives there: restore it, then keep every change
            from ecrlab.emulator.persistence import Persistence

            blobstore.configure(data_dir, durable=fsync)
            self.persistence = Persistence(data_dir, self.clock, durable=fsync)
            self.replayed = self.persistence.restore(self.app)
            served = self.persistence.wrap(self.app)
        self._handler = keep_alive.handler_class(moto_compat.request_handler_class(quiet=not log_requests))
        self._server: BaseWSGIServer = make_server(
            host,
            port,
            control_plane.CorsPolicy(served, cors_origin),
            threaded=True,
            # silent per request unless asked, so notebook outputs stay clean
            request_handler=self._handler,
        )
        self._thread: threading.Thread | None = None
        control_token_module.remember(self.url, self.control_token)
        upstream_standins.serving_at(self.url)
        tune_garbage_collection()

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]  # server_address, as the bound socket reports it (str)
        return f"http://{host}:{port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="ecrlab-emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def close(self) -> None:
        self._server.server_close()

    def stop(self) -> None:
        """Stop a server started with `start()`."""
        self._server.shutdown()
        self.close()
        self._handler.close_idle()
        if self._thread:
            self._thread.join()
