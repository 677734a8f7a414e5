"""Injected faults: the next N calls of an ECR operation answer with an AWS error, as a throttled service would.

Runbooks retry throttling and 5xx with botocore's standard retry mode; this is how a lesson or a test shows that
an apply survives them, and how a failure mid-apply is reported change by change.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

# Status codes AWS uses for the errors worth injecting; anything else is a 400 client error.
STATUS = {
    "ThrottlingException": 400,
    "TooManyRequestsException": 400,
    "ServerException": 500,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
}

# A lesson needs a handful; the bound keeps a stray or hostile request from queueing millions.
MAX_PENDING = 100

_lock = threading.Lock()
_pending: dict[str, list[str]] = {}


def inject(operation: str, error: str = "ThrottlingException", count: int = 1) -> None:
    """Make the next `count` calls of `operation` (e.g. "PutRegistryPolicy") fail with `error`; a count of 0
    takes back what is still pending for it (a persistent fault ends).

    At most `MAX_PENDING` faults wait per operation; more is refused with a `ValidationError`.
    """
    from ecrlab.errors import ValidationError

    if not isinstance(operation, str) or not operation.isalnum():
        raise ValidationError("operation", operation, "must be an API operation name such as PutRegistryPolicy")
    if not isinstance(error, str) or not error.isalnum():
        raise ValidationError("error", error, "must be an AWS error code such as ThrottlingException")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValidationError("count", count, "must be a whole number of calls (0 ends the fault)")
    with _lock:
        if count == 0:
            _pending.pop(operation, None)
            return
        queued = _pending.setdefault(operation, [])
        if len(queued) + count > MAX_PENDING:
            raise ValidationError("count", count, f"at most {MAX_PENDING} faults may wait per operation")
        queued.extend([error] * count)


def pending() -> dict[str, int]:
    with _lock:
        return {operation: len(errors) for operation, errors in _pending.items() if errors}


def clear() -> None:
    with _lock:
        _pending.clear()


def intercept(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes] | None:
    """The injected error response for this request, or None to let it through."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    operation = target.rsplit(".", 1)[-1] if target else ""
    with _lock:
        errors = _pending.get(operation)
        if not errors:
            return None
        error = errors.pop(0)
    status = STATUS.get(error, 400)
    body = json.dumps({"__type": error, "message": "Rate exceeded" if status == 400 else "Injected failure"})
    start_response(f"{status} Injected", [("Content-Type", "application/x-amz-json-1.1")])
    return [body.encode()]
