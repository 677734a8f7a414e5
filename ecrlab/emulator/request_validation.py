"""The emulator's front door: every ECR API request is checked against botocore's model before any handler runs.

AWS answers in two stages, and so does this layer. First the JSON body is read into the operation's input
shape: a body that is not a JSON object, or a member of the wrong JSON type, is a `SerializationException`
(explicit `null` for a member reads as absent). Then the model's constraints (required members, lengths,
ranges, patterns, enums) give one `ValidationException` listing every broken rule. Only then does moto or an
ecrlab extension see the request, so no handler ever receives a value its model type does not allow.

Whatever still goes wrong inside the emulator answers AWS's JSON `ServerException` shape (never werkzeug's
HTML page) and is logged with its traceback.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from botocore.model import Shape
from werkzeug.exceptions import ClientDisconnected

from ecrlab.ecr_model import ecr_model, validation_message
from ecrlab.emulator import snapshots

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

LOG = logging.getLogger("ecrlab.emulator")

JSON_TYPE = "application/x-amz-json-1.1"

# The X-Amz-Target of an ECR API call: the model's target prefix, a dot, the operation.
TARGET_PREFIX = ecr_model().metadata["targetPrefix"] + "."

# A connection that sends nothing for this long is dropped (no thread waits forever on a stalled client).
IDLE_TIMEOUT_SECONDS = 60.0

# Java's int and long bounds: the service reads `integer` and `long` members into them.
_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# How the service names the Java type it failed to read into, as in "STRING_VALUE can not be converted to a Boolean".
_JAVA_NAMES = {
    "boolean": "a Boolean",
    "integer": "an Integer",
    "long": "a Long",
    "string": "a String",
    "blob": "a Blob",
}


class Refusal(Exception):
    """A request AWS would refuse before running the operation: its error code, status and message."""

    def __init__(self, code: str, message: str | None, status: int = 400) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(f"{code}: {message}")


def _token(value: Any) -> str:
    """The JSON token name the service's parser reports for a value it cannot read into the member's type."""
    if value is None:
        return "NULL_VALUE"
    if value is True:
        return "TRUE_VALUE"
    if value is False:
        return "FALSE_VALUE"
    if isinstance(value, int | float):
        return "NUMBER_VALUE"
    return "STRING_VALUE"


def _unexpected(value: Any, kind: str) -> Refusal:
    if isinstance(value, dict):
        return Refusal("SerializationException", "Start of structure or map found where not expected.")
    if isinstance(value, list):
        return Refusal("SerializationException", "Start of list found where not expected")
    return Refusal("SerializationException", f"{_token(value)} can not be converted to {kind}")


def deserialize(shape: Shape, value: Any) -> Any:
    """`value` read into `shape` as the service reads JSON: explicit nulls dropped, wrong JSON types refused.

    Returns the value with null and unknown structure members removed (the service ignores members its model
    lacks); raises `Refusal` (SerializationException).
    """
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _unexpected(value, "a Structure")
        return {
            key: deserialize(shape.members[key], item)
            for key, item in value.items()
            if item is not None and key in shape.members
        }
    if kind == "list":
        if not isinstance(value, list):
            raise _unexpected(value, "a List")
        return [None if item is None else deserialize(shape.member, item) for item in value]
    if kind == "map":
        if not isinstance(value, dict):
            raise _unexpected(value, "a Map")
        return {key: None if item is None else deserialize(shape.value, item) for key, item in value.items()}
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _unexpected(value, "a Boolean")
        return value
    if kind in _BOUNDS:
        low, high = _BOUNDS[kind]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _unexpected(value, _JAVA_NAMES[kind])
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _unexpected(value, f"a {kind.capitalize()}")
        return value
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _unexpected(value, "a Date")
        return value
    if kind == "blob":
        if not isinstance(value, str):
            raise _unexpected(value, "a Blob")
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise Refusal("SerializationException", "Base64 encoded string expected for a Blob member") from None
        return value
    if not isinstance(value, str):
        raise _unexpected(value, _JAVA_NAMES["string"])
    return value


def checked_body(operation_name: str, body: bytes) -> dict[str, Any]:
    """The request parameters AWS would pass to `operation_name`, or `Refusal` with the error AWS sends."""
    if operation_name not in ecr_model().operation_names:
        raise Refusal("UnknownOperationException", None)
    try:
        params = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting deeper than a parser goes
        raise Refusal("SerializationException", None) from None
    shape = ecr_model().operation_model(operation_name).input_shape
    params = deserialize(shape, params)
    problem = validation_message(operation_name, params)
    if problem:
        raise Refusal("ValidationException", problem)
    return params


@cache
def not_emulated() -> frozenset[str]:
    """Operations of the model neither moto nor ecrlab answers (the fidelity table's "not emulated")."""
    from ecrlab.emulator import coverage

    return frozenset(row.operation for row in coverage.coverage() if row.status == coverage.MISSING)


def error_response(start_response: Callable[..., Any], code: str, message: str | None, status: int) -> list[bytes]:
    """AWS's JSON error shape for the JSON 1.1 protocol (`__type` plus `message` when there is one)."""
    payload: dict[str, str] = {"__type": code}
    if message is not None:
        payload["message"] = message
    body = json.dumps(payload).encode()
    reason = {400: "Bad Request", 408: "Request Timeout", 500: "Internal Server Error"}.get(status, "Error")
    start_response(
        f"{status} {reason}",
        [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body))), ("x-amzn-ErrorType", code)],
    )
    return [body]


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    try:
        return environ["wsgi.input"].read(length) if length > 0 else b""
    except (TimeoutError, OSError, ClientDisconnected):
        raise Refusal("RequestTimeoutException", "the request body stopped arriving", 408) from None


def _validate_api_call(environ: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """For an ECR API call, refuse what AWS refuses and hand the handlers the body as AWS reads it.

    Returns the operation's name and its parameters (None for anything but an ECR API call).
    """
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not target.startswith(TARGET_PREFIX):
        return None
    operation_name = target[len(TARGET_PREFIX) :]
    params = checked_body(operation_name, _read_body(environ))
    if operation_name in not_emulated():
        # AWS would run it; the emulator says so in the common error shape rather than failing with a 500.
        raise Refusal("InvalidAction", f"The emulator does not emulate {operation_name} (see docs/fidelity.md)")
    body = json.dumps(params).encode()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return operation_name, params


def _is_json(headers: list[tuple[str, str]]) -> bool:
    return any(name.lower() == "content-type" and "json" in value for name, value in headers)


def screen(environ: dict[str, Any], start_response: Callable[..., Any], app: WSGIApp) -> Iterable[bytes]:
    """Run `app` behind the model checks; an unexpected error answers `ServerException` JSON, never HTML."""
    connection = environ.get("werkzeug.socket")  # werkzeug's server hands the app its socket
    if connection is not None:
        connection.settimeout(IDLE_TIMEOUT_SECONDS)  # each wait for bytes, for the rest of the connection
    try:
        call = _validate_api_call(environ)
        snapshot = snapshots.before_write(environ, *call) if call else None
    except Refusal as refusal:
        return error_response(start_response, refusal.code, refusal.message, refusal.status)
    except Exception:
        LOG.exception("request validation failed for %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        return error_response(start_response, "ServerException", "Internal server error", 500)
    swallowed: list[str] = []

    def guarded_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
        if status.startswith("5") and not _is_json(headers):
            swallowed.append(status)
            return lambda data: None
        return start_response(status, headers, exc_info)

    try:
        result = app(environ, guarded_start)
    except Exception:
        LOG.exception("unexpected error answering %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        return _server_error(start_response, snapshot)
    if swallowed:
        # The app already logged its traceback (Flask does for moto); the client gets AWS's shape, not HTML.
        if hasattr(result, "close"):
            result.close()
        return _server_error(start_response, snapshot)
    return result


def _server_error(start_response: Callable[..., Any], snapshot: snapshots.Snapshot | None) -> list[bytes]:
    """AWS never half-applies a request it answers with ServerException: the registry goes back as it was."""
    if snapshot is not None:
        snapshots.restore(snapshot)
    return error_response(start_response, "ServerException", "Internal server error", 500)
