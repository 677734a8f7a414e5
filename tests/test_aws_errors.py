"""ECR's errors are classes generated from botocore's ECR model (issue 16): the emulator can raise no code ECR lacks."""

from __future__ import annotations

import ast
from pathlib import Path

import botocore.session
import pytest
from botocore.exceptions import ClientError

import ecrlab.emulator
from ecrlab.emulator.aws_errors import ERRORS, UnknownError, aws_error, invalid_parameter


def _model_errors() -> set[str]:
    model = botocore.session.get_session().get_service_model("ecr")
    return {s.name for op in model.operation_names for s in model.operation_model(op).error_shapes}


def test_one_class_per_error_shape_of_the_model():
    assert set(ERRORS) == _model_errors()
    assert all(cls.__name__ == code == cls.code for code, cls in ERRORS.items())


def test_every_code_a_raise_site_names_is_an_error_of_the_model():
    named = set()
    for path in Path(ecrlab.emulator.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "aws_error" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant):
                    named.add(first.value)
    assert named and named <= _model_errors()


def test_an_unknown_code_is_refused_by_name():
    with pytest.raises(UnknownError, match="NoSuchThingException"):
        aws_error("NoSuchThingException", "never raised")


def test_invalid_parameter_reads_as_aws_words_it():
    error = invalid_parameter("maxResults", "Member must have value less than or equal to 1000")
    assert isinstance(error, ERRORS["InvalidParameterException"])
    assert str(error.message) == (
        "Invalid parameter at 'maxResults' failed to satisfy constraint: "
        "'Member must have value less than or equal to 1000'"
    )


def test_a_generated_error_reaches_boto3_by_its_code(registry):
    with pytest.raises(ClientError) as caught:
        registry.client().put_account_setting(name="NO_SUCH_SETTING", value="x")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    assert caught.value.response["Error"]["Message"].startswith("Invalid parameter at 'name' failed to satisfy")
