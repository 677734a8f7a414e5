"""Type checks every spec shares: a wrong-typed value is a `ValidationError` naming the field, never a coercion.

Specs call these before their value rules, so `RepositorySpec(name=None)` says "name must be a string" instead
of raising a TypeError deep inside a regular expression, and `delete_replication="no"` is refused instead of
being read as true.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from ecrlab.errors import ValidationError


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def text(field: str, value: Any) -> str:
    """`value` when it is a string; otherwise a ValidationError naming `field`."""
    if not isinstance(value, str):
        raise ValidationError(field, value, f"must be a string, not {_kind(value)}")
    return value


def flag(field: str, value: Any) -> bool:
    """`value` when it is exactly True or False ("no", 0 and None are refused, not read as booleans)."""
    if not isinstance(value, bool):
        raise ValidationError(field, value, f"must be true or false, not {_kind(value)}")
    return value


def optional_text(field: str, value: Any) -> str | None:
    return None if value is None else text(field, value)


def strings(field: str, value: Any) -> tuple[str, ...]:
    """One string or a list, tuple or set of strings, as a tuple; anything else names `field`."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Mapping) or not isinstance(value, list | tuple | set | frozenset):
        raise ValidationError(field, value, f"must be a string or a list of strings, not {_kind(value)}")
    for item in value:
        text(field, item)
    return tuple(sorted(value)) if isinstance(value, set | frozenset) else tuple(value)


def items(field: str, value: Any, kind: type, what: str) -> tuple[Any, ...]:
    """A list or tuple whose every item is a `kind` (e.g. the rules of a ReplicationSpec)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(field, value, f"must be a list of {what}, not {_kind(value)}")
    found = tuple(value)
    for item in found:
        if not isinstance(item, kind):
            raise ValidationError(field, item, f"must be a list of {what}, not a list holding {_kind(item)}")
    return found


def instance(field: str, value: Any, kind: type, what: str) -> Any:
    if not isinstance(value, kind):
        raise ValidationError(field, value, f"must be {what}, not {_kind(value)}")
    return value


def string_pairs(field: str, value: Any) -> tuple[tuple[str, str], ...]:
    """A mapping of strings to strings, or (key, value) pairs of strings, as pairs."""
    pairs = value.items() if isinstance(value, Mapping) else value
    if isinstance(pairs, str | bytes) or not isinstance(pairs, Iterable):
        raise ValidationError(field, value, f"must be a mapping of strings to strings, not {_kind(value)}")
    found: list[tuple[str, str]] = []
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise ValidationError(field, value, "must be a mapping of strings to strings")
        found.append((pair[0], pair[1]))
    return tuple(found)


def first_repeated(values: Iterable[Hashable]) -> Hashable | None:
    """The first value seen twice, in one pass (a count per value would be quadratic)."""
    seen: set[Hashable] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None
