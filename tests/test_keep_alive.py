"""Connections the emulator keeps open between requests, as HTTP/1.1 has them by default (RFC 9112 § 9.3).

Expectations come from the HTTP/1.1 spec: a connection persists unless either side sends `Connection: close` or the
request is HTTP/1.0; a HEAD answer has no body; a body left unread must not be taken for the next request. They are
checked over raw sockets, the way a client that reuses connections (boto3, skopeo, docker) sees the server.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from ecrlab.emulator import keep_alive
from tests.oci import V2
from tests.raw_api import TARGET

API_HEADERS = {
    "X-Amz-Target": f"{TARGET}.DescribeRepositories",
    "Content-Type": "application/x-amz-json-1.1",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIARAW0000000000000/20260101/us-east-1/ecr/aws4_request, "
    "SignedHeaders=host;x-amz-target, Signature=00",
}


def _connection(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def _describe(connection: http.client.HTTPConnection) -> http.client.HTTPResponse:
    connection.request("POST", "/", body=b"{}", headers=API_HEADERS)
    return connection.getresponse()


def _closed_by_server(connection: http.client.HTTPConnection) -> bool:
    """Whether the server ended the connection: reading it gives end-of-file rather than waiting."""
    assert connection.sock is not None
    connection.sock.settimeout(5)
    try:
        return connection.sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_api_calls_share_one_connection(registry):
    connection = _connection(registry.endpoint_url)
    try:
        first = _describe(connection)
        assert first.status == 200 and first.getheader("Connection") is None
        json.loads(first.read())
        sock = connection.sock
        second = _describe(connection)
        assert second.status == 200
        assert json.loads(second.read()) == {"repositories": []}
        assert connection.sock is sock  # http.client reconnects when a server closed: it did not
    finally:
        connection.close()


def test_a_body_the_server_did_not_read_is_not_taken_for_the_next_request(registry):
    connection = _connection(registry.endpoint_url)
    try:
        # The emulator's knobs without their token: refused before the body is read.
        connection.request("POST", "/_ecrlab/reset", body=b"x" * 100_000)
        unread = connection.getresponse()
        unread.read()
        assert unread.status in (401, 403)
        after = _describe(connection)
        assert after.status == 200 and json.loads(after.read()) == {"repositories": []}
    finally:
        connection.close()


def test_a_head_answer_has_no_body_and_the_connection_goes_on(registry):
    registry.client().create_repository(repositoryName="team/app")
    v2 = V2(registry)
    connection = _connection(v2.base)
    try:
        connection.request("HEAD", "/v2/team/app/manifests/missing", headers=v2.headers)
        head = connection.getresponse()
        assert head.status == 404 and head.read() == b""
        connection.request("GET", "/v2/team/app/tags/list", headers=v2.headers)
        tags = connection.getresponse()
        assert tags.status == 200 and json.loads(tags.read())["name"] == "team/app"
    finally:
        connection.close()


def _exchange(url: str, request: bytes) -> bytes:
    """Send `request` on a new connection and read until the server closes it (a timeout fails the test)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_the_connection_ends_when_the_registry_asks_to(registry):
    registry.client().create_repository(repositoryName="team/app")
    v2 = V2(registry)
    location = urlsplit(v2("POST", "/v2/team/app/blobs/uploads/").headers["Location"])
    # A Content-Length that is no byte count: the registry refuses it and, not knowing where the body ends, closes.
    fixed = "".join(f"{name}: {value}\r\n" for name, value in v2.headers.items())
    path = location.path + (f"?{location.query}" if location.query else "")
    answer = _exchange(v2.base, f"PATCH {path} HTTP/1.1\r\nHost: x\r\n{fixed}Content-Length: abc\r\n\r\n".encode())
    head = answer.partition(b"\r\n\r\n")[0].lower()
    assert b" 400 " in head.split(b"\r\n")[0] and b"connection: close" in head


@pytest.mark.parametrize(
    "request_line, headers",
    [("POST / HTTP/1.0", ""), ("POST / HTTP/1.1", "Connection: close\r\n")],
    ids=["http-1.0", "client-asks-to-close"],
)
def test_a_client_that_does_not_keep_the_connection_gets_it_closed(registry, request_line, headers):
    fixed = "".join(f"{name}: {value}\r\n" for name, value in API_HEADERS.items())
    request = f"{request_line}\r\nHost: x\r\n{fixed}{headers}Content-Length: 2\r\n\r\n{{}}"
    head, _, body = _exchange(registry.endpoint_url, request.encode()).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0]
    assert b"connection: close" in head.lower()
    assert json.loads(body) == {"repositories": []}


def test_a_chunked_request_body_is_read_and_then_the_connection_ends(registry):
    registry.client().create_repository(repositoryName="team/app")
    v2 = V2(registry)
    location = v2("POST", "/v2/team/app/blobs/uploads/").headers["Location"]
    connection = _connection(v2.base)
    try:
        # Go's HTTP client (docker, skopeo) sends a layer's chunk this way when it does not know its length.
        connection.request("PATCH", location, body=iter([b"abc", b"def"]), headers=v2.headers, encode_chunked=True)
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 202 and answer.getheader("Range") == "0-5"
        assert answer.getheader("Connection") == "close"  # where a chunked body ends is the dechunker's to know
    finally:
        connection.close()


def _ok_app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


@contextlib.contextmanager
def _served(app):
    """`app` on a werkzeug server with the emulator's handler (not a second emulator: that would take over this
    process's emulator clock and blob store); yields the server and its handler class."""
    handler = keep_alive.handler_class(WSGIRequestHandler)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, handler
    finally:
        server.shutdown()
        server.server_close()


def test_stopping_the_server_ends_the_connections_it_kept():
    with _served(_ok_app) as (server, handler):
        connection = _connection(f"http://127.0.0.1:{server.socket.getsockname()[1]}")
        try:
            connection.request("GET", "/")
            answer = connection.getresponse()
            assert answer.status == 200 and answer.read() == b"ok"
            server.shutdown()
            handler.close_idle()  # what EmulatorServer.stop() does after shutdown
            assert _closed_by_server(connection)  # a kept connection never reaches a stopped server
        finally:
            connection.close()


def _short_app(environ, start_response):
    """Declares ten bytes and sends five: a stream that ended early (a file cut short under it)."""
    start_response("200 OK", [("Content-Length", "10")])
    return [b"12345"]


def test_a_response_shorter_than_it_said_ends_the_connection():
    with _served(_short_app) as (server, _):
        request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        answer = _exchange(f"http://127.0.0.1:{server.socket.getsockname()[1]}", request)  # ends: the server closed
    assert answer.endswith(b"\r\n\r\n12345")  # five of ten bytes, then the end of the connection


def _body_even_for_head(environ, start_response):
    """A raw WSGI app that writes its body whatever the method (werkzeug's Response would drop it for HEAD)."""
    start_response("200 OK", [("Content-Length", "4")])
    return [b"body"]


def test_a_head_answer_never_carries_the_body_an_app_wrote():
    with _served(_body_even_for_head) as (server, _):
        port = server.socket.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            # A HEAD then a GET on one connection: the GET's answer must start right where the HEAD's headers end.
            sock.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while answer.count(b"HTTP/1.1 200") < 2 or not answer.endswith(b"\r\n\r\nbody"):
                chunk = sock.recv(65536)
                assert chunk, answer
                answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and rest.startswith(b"HTTP/1.1 200"), answer
