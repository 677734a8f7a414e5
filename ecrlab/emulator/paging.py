"""Pages for the list operations ecrlab adds: `maxResults` items and an opaque `nextToken`, as AWS pages."""

from __future__ import annotations

import base64
import binascii
from typing import Any, TypeVar

from ecrlab.emulator.extension import aws_error

T = TypeVar("T")


def page(items: list[T], params: dict[str, Any], default_size: int = 100) -> tuple[list[T], str | None]:
    """The page of `items` the request asks for, and the token of the next page (None on the last one)."""
    token = params.get("nextToken")
    start = 0
    if token:
        try:
            start = int(base64.b64decode(token, altchars=b"-_", validate=True))
        except (binascii.Error, ValueError):
            # AWS's wording for a bad token is UNCONFIRMED [U6].
            raise aws_error(
                "InvalidParameterException",
                "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid pagination token'",
            ) from None
    end = start + params.get("maxResults", default_size)
    return items[start:end], (base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None)
