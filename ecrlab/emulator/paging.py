"""Pages for ECR's paginated operations: `maxResults` items and an opaque `nextToken`, as AWS pages them.

Page sizes come from botocore's model (its `maxResults` documentation says how many results a page holds when
the parameter is not used: 100 for most operations, 25 or 20 for some). A token names the operation and the key
of the last item returned, not an offset: a page continues after that key, so items created or deleted while a
client pages neither repeat nor push others out of the walk (each item present throughout is returned once).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import threading
import weakref
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from ecrlab.ecr_model import ecr_model
from ecrlab.emulator.extension import aws_error

T = TypeVar("T")

# The one AWS wording seen for a token ECR cannot read (regclient/regclient#931, through ECR's registry API, which
# passes its API's InvalidParameterException on); for the API itself the wording is UNCONFIRMED [U34].
BAD_TOKEN_MESSAGE = "Invalid parameter at 'NextToken' failed to satisfy constraint: 'Invalid next token provided.'"


@cache
def default_page_size(operation: str) -> int:
    """How many results `operation` returns without `maxResults`, read from the model's documentation of it."""
    member = ecr_model().operation_model(operation).input_shape.members["maxResults"]
    found = re.search(r"returns up to\W*(\d+)\W*results", re.sub(r"<[^>]+>|&#x2028;", " ", member.documentation))
    if found is None:  # every paginated ECR operation documents it today; a model change should fail loudly
        raise RuntimeError(f"botocore's model no longer documents {operation}'s default page size")
    return int(found.group(1))


def _encode(operation: str, key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([operation, key], separators=(",", ":")).encode()).decode()


def _as_key(value: Any) -> Any:
    """JSON turns tuples into lists; keys compare as tuples."""
    return tuple(_as_key(v) for v in value) if isinstance(value, list) else value


def _decode(token: str, operation: str) -> Any:
    try:
        named, key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, TypeError, UnicodeError):
        raise bad_token() from None
    if named != operation:
        raise bad_token()
    return _as_key(key)


_SEQUENCE = itertools.count(1)  # from 1: a number is never falsy


@dataclass
class _Numbering:
    """A collection as last listed, and its items with their sequence numbers in ascending order."""

    listed: list[Any]
    numbered: list[tuple[int, Any]]


# Per owner of collections (a backend, a repository) and collection name; weak, so a reset forgets them.
_NUMBERINGS: weakref.WeakKeyDictionary[object, dict[str, _Numbering]] = weakref.WeakKeyDictionary()
_NUMBERING_LOCK = threading.Lock()


def numbered(owner: object, collection: str, items: list[T]) -> list[tuple[int, T]]:
    """`items` (all of the collection, in its own order) with sequence numbers to page by, ascending.

    An item keeps its number for as long as it stays in the collection and new items get higher ones, so numbers
    follow creation order where the collection appends (moto's dicts and lists do). Unchanged since the last
    listing, the answer is the last one (one identity comparison per item, in C).
    """
    with _NUMBERING_LOCK:
        numberings = _NUMBERINGS.setdefault(owner, {})
        known = numberings.get(collection)
        if known is not None and known.listed == items:
            return known.numbered
        # `known.listed` keeps its items alive here, so an id in `numbers` cannot belong to a new item.
        numbers = {id(item): number for number, item in known.numbered} if known else {}
        entries = [(numbers.get(id(item)) or next(_SEQUENCE), item) for item in items]
        entries.sort(key=lambda entry: entry[0])  # already sorted unless the collection reordered: a linear check
        numberings[collection] = _Numbering(items, entries)
        return entries


def by_number(entry: tuple[int, Any]) -> int:
    """The key that pages `numbered` entries."""
    return entry[0]


def bad_token() -> Exception:
    return aws_error("InvalidParameterException", BAD_TOKEN_MESSAGE)


def page(
    items: Sequence[T], params: dict[str, Any], operation: str, key: Callable[[T], Any] | None = None
) -> tuple[list[T], str | None]:
    """The page of `items` the request asks for, and the token of the next page (None on the last one).

    `items` must be in ascending `key` order; keys are JSON values (str, int, or tuples of them). Without `key`
    the position is the key, which suits only snapshots that do not change while paged (scan findings, a lifecycle
    preview, a finished backfill's results).
    """
    size = params.get("maxResults") or default_page_size(operation)
    start = 0
    token = params.get("nextToken")
    if token:
        after = _decode(token, operation)
        try:
            start = bisect_right(items, after, key=key) if key else int(after) + 1
        except (TypeError, ValueError):  # a well-formed token whose key is not this operation's kind of key
            raise bad_token() from None
        if start < 0:
            raise bad_token()
    chunk = list(items[start : start + size])
    if start + size >= len(items) or not chunk:
        return chunk, None
    return chunk, _encode(operation, key(chunk[-1]) if key else start + len(chunk) - 1)
