"""botocore's ECR service model as the single source of names, enums, limits and patterns.

AWS validates enums, max lengths and patterns on the server; botocore only checks types and minimums on
the client. The emulator re-checks the rest here so learners see the same `ValidationException` AWS sends.
"""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any

import botocore.session
from botocore.exceptions import UnknownRegionError
from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel, Shape


class _PathsOnce(list[str]):
    """boto3 appends its data folder to the loader of every Session it wraps; a shared loader keeps one copy."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@cache
def shared_loader() -> Loader:
    """One botocore data loader per process, so endpoint and service JSON are parsed once.

    A new botocore session re-reads endpoints.json and each service model (~90 ms per session and client);
    notebooks create a session per principal, account and role.
    """
    extra = [os.path.expanduser(p) for p in os.environ.get("AWS_DATA_PATH", "").split(os.pathsep) if p]
    return Loader(extra_search_paths=_PathsOnce(extra))


def new_botocore_session() -> botocore.session.Session:
    session = botocore.session.Session()
    session.register_component("data_loader", shared_loader())
    return session


@cache
def _offline_session() -> botocore.session.Session:
    """For models and endpoint data only: never used to sign a request."""
    return new_botocore_session()


@cache
def ecr_model() -> ServiceModel:
    return _offline_session().get_service_model("ecr")


@cache
def partition_of(region: str) -> str | None:
    """The AWS partition of a region per botocore's endpoint data (None: not a region botocore knows)."""
    try:
        return _offline_session().get_partition_for_region(region)
    except UnknownRegionError:
        return None


# A region's name: two letters, words, a number (us-east-1, ap-southeast-2, us-gov-west-1). botocore assigns any
# name of its partitions' broad patterns to a partition (`eu-0-0`), so the shape is checked first.
_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def is_region(name: object) -> bool:
    """Whether `name` is an AWS region name in a partition botocore knows (`moon-1` and `eu-0-0` are not)."""
    return isinstance(name, str) and bool(_REGION_NAME.match(name)) and partition_of(name) is not None


@cache
def known_partitions() -> tuple[str, ...]:
    """Partitions botocore knows, so ARNs are checked against the SDK's list, not ours."""
    return tuple(_offline_session().get_available_partitions())


@cache
def service_regions(service: str) -> tuple[str, ...]:
    """Every region botocore lists for `service`, in every partition it knows."""
    session = _offline_session()
    return tuple(
        region
        for partition in known_partitions()
        for region in session.get_available_regions(service, partition_name=partition)
    )


@cache
def service_names() -> tuple[str, ...]:
    """Every service botocore has a model for."""
    return tuple(_offline_session().get_available_services())


def operation(name: str) -> OperationModel:
    return ecr_model().operation_model(name)


# The model's scanning-filter pattern backtracks exponentially on a near miss (24 characters and a '!' take ~40 s
# in `re`). This form accepts exactly the same strings (alphanumeric or '*' at both ends, no two separators in a
# row) in linear time; messages still quote the model's own pattern.
_LINEAR_EQUIVALENTS = {r"^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$": r"^[a-z0-9*]+(?:[._\-/][a-z0-9*]+)*$"}


@cache
def _pattern(expr: str) -> re.Pattern[str]:
    return re.compile(_LINEAR_EQUIVALENTS.get(expr, expr))


def constraint_violations(shape: Shape, value: Any, path: str) -> list[str]:
    """AWS-style messages for every enum, length, range and pattern rule `value` breaks under `shape`."""
    problems: list[str] = []
    meta = shape.metadata
    if shape.type_name == "structure" and isinstance(value, dict):
        for member in shape.required_members:
            if value.get(member) is None:
                problems.append(
                    f"Value null at '{_join(path, member)}' failed to satisfy constraint: Member must not be null"
                )
        for key, item in value.items():
            if key in shape.members and item is not None:
                problems += constraint_violations(shape.members[key], item, _join(path, key))
    elif shape.type_name == "list" and isinstance(value, list):
        problems += _length(meta, len(value), value, path)
        for index, item in enumerate(value):
            problems += _item(shape.member, item, f"{path}.{index + 1}.member")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            problems += _item(shape.value, item, f"{path}.{key}")
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
            )
        problems += _length(meta, len(value), value, path)
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {meta['pattern']}"
            )
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        if "min" in meta and value < meta["min"]:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {meta['max']}"
            )
    return problems


def _item(shape: Shape, item: Any, path: str) -> list[str]:
    """A list or map entry: null is refused as AWS refuses it, anything else is checked against its shape."""
    if item is None:
        return [f"Value null at '{path}' failed to satisfy constraint: Member must not be null"]
    return constraint_violations(shape, item, path)


def _length(meta: dict[str, Any], length: int, value: Any, path: str) -> list[str]:
    shown = value if isinstance(value, str) else "[...]"
    if "min" in meta and length < meta["min"]:
        return [
            f"Value '{shown}' at '{path}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {meta['min']}"
        ]
    if "max" in meta and length > meta["max"]:
        return [
            f"Value '{shown}' at '{path}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {meta['max']}"
        ]
    return []


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def validation_message(operation_name: str, params: dict[str, Any]) -> str | None:
    """The message of the `ValidationException` AWS would send for `params`, or None when they are valid."""
    problems = constraint_violations(operation(operation_name).input_shape, params, "")
    if not problems:
        return None
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(problems)


# Plain-words versions of the model's regular expressions, for people rather than parsers.
PATTERN_HINTS = {
    "RepositoryName": "lowercase letters and digits, in parts joined by '.', '_', '__', '-' or '/'",
    "Prefix": "ROOT, or lowercase letters and digits in parts joined by '.', '_', '__', '-' or '/'",
    "ScanningRepositoryFilterValue": (
        "lowercase letters, digits and '*' wildcards, with single '.', '_', '-' or '/' between them "
        "(no capitals or spaces)"
    ),
    "PullThroughCacheRuleRepositoryPrefix": (
        "ROOT, or lowercase letters and digits in parts joined by '.', '_', '__', '-' or '/'"
    ),
    "RepositoryFilterValue": (
        "the start of a repository name: lowercase letters and digits, joined by '.', '_', '-' or '/'"
    ),
    "CredentialArn": "the ARN of a Secrets Manager secret whose name starts with ecr-pullthroughcache/",
}


# What a model type is in Python, for `check`'s type test (bool is an int in Python but not in the model).
_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "integer": int,
    "long": int,
    "list": (list, tuple),
    "structure": dict,
    "map": dict,
}
_TYPE_WORDS = {
    "string": "a string",
    "boolean": "true or false",
    "integer": "an integer",
    "long": "an integer",
    "list": "a list",
    "structure": "an object",
    "map": "an object",
}


def check(shape_name: str, field: str, value: Any) -> None:
    """Raise `ValidationError` naming `field` when `value` breaks the model's rules for `shape_name`."""
    from ecrlab.errors import ValidationError

    shape = ecr_model().shape_for(shape_name)
    expected = _PYTHON_TYPES.get(shape.type_name)
    counts = shape.type_name in ("integer", "long")
    if expected and (not isinstance(value, expected) or (counts and isinstance(value, bool))):
        kind = "None" if value is None else type(value).__name__
        raise ValidationError(field, value, f"must be {_TYPE_WORDS[shape.type_name]}, not {kind}")
    problems = constraint_violations(shape, value, field)
    if problems:
        rule = problems[0].split("failed to satisfy constraint: ", 1)[-1]
        if "regular expression" in rule and shape_name in PATTERN_HINTS:
            rule = f"must be {PATTERN_HINTS[shape_name]}"
        raise ValidationError(field, value, rule[0].lower() + rule[1:])
