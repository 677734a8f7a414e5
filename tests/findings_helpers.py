"""Shared by several test modules (moved from test_findings.py so no test module imports another)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from botocore.model import Shape


def check_findings_shape(shape: Shape, value: Any, path: str) -> None:
    """Every member is in the model and every value has the model's type (timestamps as aware datetimes)."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), path
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{path}: members not in the ECR model: {unknown}"
        for key, item in value.items():
            check_findings_shape(shape.members[key], item, f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), path
        for index, item in enumerate(value):
            check_findings_shape(shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        assert isinstance(value, dict), path
        for key, item in value.items():
            check_findings_shape(shape.key, key, f"{path} key")
            check_findings_shape(shape.value, item, f"{path}.{key}")
    elif kind == "string":
        assert isinstance(value, str), path
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), path
    elif kind in ("double", "float"):
        assert isinstance(value, int | float) and not isinstance(value, bool), path
    elif kind == "timestamp":
        assert isinstance(value, datetime) and value.tzinfo is not None, path
    else:
        pytest.fail(f"{path}: unexpected shape type {kind}")
