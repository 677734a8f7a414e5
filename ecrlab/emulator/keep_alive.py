"""HTTP/1.1 keep-alive for the emulator's werkzeug server, as AWS and every registry keep connections open.

Why: werkzeug's development server closes the connection after every response, because it cannot tell where an
unread request body ends. So each API call and each blob request paid a TCP connect and a new server thread:
in-process, a quarter of a call's CPU (2.64 ms per call with a new connection each time, 1.98 ms when one is kept).
boto3, skopeo and docker all reuse connections when the server lets them.

How: the app reads the request body through a stream that stops at its Content-Length, and what the app left unread
is read after the response, so the next request starts where it should. werkzeug's own clean-up after a response
(which would swallow the next request) reads from an empty stream instead. The connection stays open unless the app
asked to close it (`Connection: close`, as the registry API does after a body it refuses or a fill that broke), the
request body was chunked, the request was HTTP/1.0 or asked to close, or the response did not end where it said it
would (a stream that broke off). `EmulatorServer.stop()` closes idle connections, so a client never reaches a
stopped server through a connection it kept. Relies on werkzeug 3.1's server (pinned; tests/test_keep_alive.py).
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any, ClassVar

from werkzeug.exceptions import ClientDisconnected
from werkzeug.serving import DechunkedInput, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

_TERMINATOR = b"0\r\n\r\n"  # the last chunk of a chunked response: it ended where it said it would
_LARGE = 64 * 1024  # a write this big goes out as it is: joining it to the headers would copy it for nothing


class _Drained:
    """What werkzeug's after-response clean-up reads instead of the socket: nothing, so it never takes the next
    request's bytes. The body the app left unread is read by the handler instead, up to its Content-Length."""

    def read(self, size: int = -1) -> bytes:
        return b""


class _ResponseWriter:
    """The connection's writer: counts the response body's bytes (after the headers), drops a HEAD's, and sends what
    werkzeug writes between two flushes (headers and body; a chunk's size, bytes and end) as one segment rather than
    one per write, which on a kept connection without Nagle's algorithm was a packet and a system call each."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self._pending: list[bytes] = []
        self.holding = False  # from a response's headers on: until werkzeug flushes
        self.counting = False
        self.head = False
        self.written = 0
        self.tail = b""

    def write(self, data: bytes) -> int:
        size = len(data)
        if self.counting:
            if self.head:
                return size  # a HEAD answer has no body, whatever the app gave: the next response follows
            self.written += size
            self.tail = (self.tail + bytes(data[-len(_TERMINATOR) :]))[-len(_TERMINATOR) :]
        if not self.holding or size >= _LARGE:
            self.flush()
            return int(self._writer.write(data))
        self._pending.append(bytes(data))
        if self.counting and data == _TERMINATOR:  # werkzeug does not flush the last chunk: send it now
            self.flush()
        return size

    def flush(self) -> None:
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            self._writer.write(data)
        self._writer.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


class KeepAliveHandler(WSGIRequestHandler):
    """A request handler serving many requests per connection (mixed in before moto's by `handler_class`)."""

    open_connections: ClassVar[set[socket.socket]]  # per server: see handler_class
    _meter: _ResponseWriter
    _body: LimitedStream | None
    _socket_reader: Any  # the connection's reader (a BufferedReader)
    _in_app = False
    _asked: list[str]
    _declared: int | None

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm holds the body back until
        # the client acknowledges the headers, which it delays: 40 ms per response on a kept connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._meter = _ResponseWriter(self.wfile)
        self.wfile = self._meter  # type: ignore[assignment]  # a writer in the writer's place (see _ResponseWriter)
        self.open_connections.add(self.connection)

    def finish(self) -> None:
        self.open_connections.discard(self.connection)
        super().finish()

    def run_wsgi(self) -> None:
        self._socket_reader, self.rfile = self.rfile, _Drained()  # type: ignore[assignment]  # see _Drained
        self._asked, self._declared, self._body = [], None, None
        self._meter.counting, self._meter.head = False, self.command == "HEAD"
        self._meter.written, self._meter.tail = 0, b""
        self._in_app = True
        try:
            super().run_wsgi()
        finally:
            self._in_app = False
            self.rfile = self._socket_reader
            self._meter.flush()
            self._meter.holding = False
        if not self._ended_cleanly():
            self.close_connection = True
        if self.close_connection or self._body is None or self._body.is_exhausted:
            return
        try:
            self._body.exhaust()  # what the app did not read, so the next request line comes next
        except (ClientDisconnected, OSError):
            self.close_connection = True

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if "wsgi.input_terminated" in environ:  # chunked: served, then the connection closes
            environ["wsgi.input"] = DechunkedInput(self._socket_reader)
            return environ
        try:
            length = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
        except ValueError:
            length = 0  # the app refuses it; the connection closes, as no one knows where the body ends
            self.close_connection = True
        self._body = environ["wsgi.input"] = LimitedStream(self._socket_reader, length)
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        if not self._in_app:
            super().send_header(keyword, value)  # http.server's own answers (a malformed request line)
        elif keyword.lower() == "connection":
            self._asked.append(value.lower())  # decided in end_headers
        else:
            if keyword.lower() == "content-length" and value.isdigit():
                self._declared = int(value)
            super().send_header(keyword, value)

    def end_headers(self) -> None:
        # werkzeug adds one `Connection: close` to every response, last; any before it is the app's.
        if self._in_app and ("close" in self._asked[:-1] or self.close_connection or self._body is None):
            super().send_header("Connection", "close")
            self.close_connection = True
        self._meter.holding = self._in_app
        super().end_headers()
        self._meter.counting = self._in_app

    def connection_dropped(self, error: BaseException, environ: dict[str, Any] | None = None) -> None:
        self.close_connection = True
        super().connection_dropped(error, environ)

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out"):  # an idle kept connection ending: not an error
            return
        super().log_error(format, *args)

    def _ended_cleanly(self) -> bool:
        meter = self._meter
        if not meter.counting:  # no response went out
            return False
        if meter.head or self._declared is not None:
            return meter.head or meter.written == self._declared
        return meter.tail == _TERMINATOR or meter.written == 0

    @classmethod
    def close_idle(cls) -> None:
        """End every connection still open, once the server stopped accepting new ones."""
        for connection in list(cls.open_connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def handler_class(base: type[WSGIRequestHandler]) -> type[KeepAliveHandler]:
    """`base` (moto's request handler) keeping connections alive; one class per server, so the server can close
    the connections its handlers still hold (`close_idle`)."""
    return type("KeepAliveHandler", (KeepAliveHandler, base), {"open_connections": set()})
