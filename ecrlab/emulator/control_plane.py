"""The emulator's door rules: its knobs need the control token, and browsers get CORS only when asked for.

`guard` wraps a knob app: without the server's token in `X-Ecrlab-Control-Token` it answers 403 and runs nothing.
`CorsPolicy` wraps the whole server: moto grants every Origin (flask-cors), which would let any web page read
the API's answers; here Access-Control-* headers are dropped unless the request's Origin is the one
`--cors-origin` names, and only that origin's preflights are answered.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
from collections.abc import Callable, Iterable
from typing import Any

from ecrlab.control_token import HEADER

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_ENVIRON_HEADER = "HTTP_" + HEADER.upper().replace("-", "_")


def _refuse(start_response: Callable[..., Any], message: str) -> Iterable[bytes]:
    start_response("403 Forbidden", [("Content-Type", "application/json")])
    return [json.dumps({"message": message, "field": HEADER, "rule": "the server's control token"}).encode()]


def guard(app: WSGIApp, token: str, covers: Callable[[str], bool] = lambda path: True) -> WSGIApp:
    """`app`, answering 403 to requests for a `covers`ed path that lack `token` (compared in constant time)."""
    expected = token.encode()

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if covers(environ.get("PATH_INFO", "")):
            sent = environ.get(_ENVIRON_HEADER, "").encode()
            if not hmac.compare_digest(sent, expected):
                return _refuse(
                    start_response,
                    f"the emulator's control endpoints need its control token in the {HEADER} header "
                    "(printed by `ecrlab emulator serve`; ecrlab.connect() finds it in $ECRLAB_CONTROL_TOKEN)",
                )
        return app(environ, start_response)

    return guarded


class CorsPolicy:
    """WSGI middleware: no CORS headers at all, or exactly one allowed origin."""

    def __init__(self, app: WSGIApp, origin: str | None = None) -> None:
        self.app = app
        self.origin = origin.rstrip("/") if origin else None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        allowed = self.origin is not None and environ.get("HTTP_ORIGIN", "").rstrip("/") == self.origin
        if allowed and environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            start_response("204 No Content", self._grant(environ, preflight=True))
            return [b""]

        def filtered(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept + (self._grant(environ) if allowed else []), exc_info)

        return self.app(environ, filtered)

    def _grant(self, environ: dict[str, Any], preflight: bool = False) -> list[tuple[str, str]]:
        headers = [("Access-Control-Allow-Origin", self.origin or ""), ("Vary", "Origin")]
        if preflight:
            requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            headers += [
                ("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE"),
                ("Access-Control-Allow-Headers", requested),
                ("Access-Control-Max-Age", "600"),
            ]
        else:
            headers.append(("Access-Control-Expose-Headers", "*"))
        return headers


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False
