"""Responses checked against botocore's ECR model: the raw JSON the emulator sent, not what botocore parsed.

botocore's parser silently drops members the model does not know and does not check enums, patterns or required
members, so tests read the wire body and check it here: every member known to the output shape, of its type, with
the model's required members, enums, lengths and patterns.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.model import Shape

from ecrlab.ecr_model import constraint_violations, operation

TYPES = {
    "string": str,
    "integer": int,
    "long": int,
    "boolean": bool,
    "timestamp": (int, float),
    "list": list,
    "map": dict,
    "structure": dict,
    "float": (int, float),
    "double": (int, float),
}


def shape_problems(shape: Shape, value: Any, path: str) -> list[str]:
    """Members unknown to `shape` and values of the wrong JSON type, recursively."""
    expected = TYPES[shape.type_name]
    if not isinstance(value, expected) or (shape.type_name != "boolean" and isinstance(value, bool)):
        return [f"{path or '<response>'}: {type(value).__name__} is not a {shape.type_name}"]
    problems: list[str] = []
    if shape.type_name == "structure":
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{path}.{key}: not a member of {shape.name}")
            else:
                problems += shape_problems(shape.members[key], item, f"{path}.{key}")
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            problems += shape_problems(shape.member, item, f"{path}[{index}]")
    elif shape.type_name == "map":
        for key, item in value.items():
            problems += shape_problems(shape.value, item, f"{path}.{key}")
    return problems


class Wire:
    """Records the raw JSON body of each ECR response a client receives, until `close()`."""

    def __init__(self, client: Any) -> None:
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.client = client
        client.meta.events.register("after-call.ecr", self._record)

    def close(self) -> None:
        self.client.meta.events.unregister("after-call.ecr", self._record)

    def _record(self, http_response: Any, model: Any, **_: Any) -> None:
        if http_response.status_code == 200:
            self.bodies.append((model.name, json.loads(http_response.content or b"{}")))

    def last(self) -> tuple[str, dict[str, Any]]:
        return self.bodies[-1]


def output_problems(operation_name: str, body: dict[str, Any]) -> list[str]:
    """Everything in `body` that breaks the model's output shape of `operation_name`."""
    shape = operation(operation_name).output_shape
    return shape_problems(shape, body, "") + constraint_violations(shape, body, "")


def assert_fits_model(wire: Wire) -> dict[str, Any]:
    """The last response fits its operation's output shape; returns its raw body."""
    name, body = wire.last()
    assert output_problems(name, body) == [], (name, body)
    return body


def recording(registry: Any) -> Iterator[Wire]:
    """For a `wire` fixture: records what `registry.client()` receives during one test."""
    recorder = Wire(registry.client())
    yield recorder
    recorder.close()
