"""ECR's API errors as classes, one per error shape of botocore's ECR model, with AWS's message wordings here.

Why: a raise site names an error code; generating the classes from the model means a code ECR does not have fails
at once (`UnknownError`), and boto3 callers catch the emulator's errors by the same names as AWS's. Wordings that
several operations share live below as templates, so a correction is made once.
"""

from __future__ import annotations

from ecrlab.ecr_model import ecr_model
from ecrlab.emulator.moto_compat import ServiceException

# AWS's wording for a parameter that breaks a rule (the InvalidParameterException of many operations).
INVALID_PARAMETER = "Invalid parameter at '{field}' failed to satisfy constraint: '{rule}'"
# Wording for a request that combines a list of ids with paging (DescribeImages, GetLifecyclePolicyPreview).
NOT_WITH_PAGING = "{field} cannot be used together with maxResults or nextToken"


class EcrError(ServiceException):
    """Base of the generated classes: an error that reaches boto3 with ECR's error code."""

    code = "EcrError"


class UnknownError(LookupError):
    """A raise site named an error code that is not an error shape of ECR's model."""


def _generated() -> dict[str, type[EcrError]]:
    model = ecr_model()
    codes = {shape.name for name in model.operation_names for shape in model.operation_model(name).error_shapes}
    return {
        code: type(code, (EcrError,), {"code": code, "__doc__": f"ECR's {code} (botocore's ECR model)."})
        for code in sorted(codes)
    }


ERRORS: dict[str, type[EcrError]] = _generated()


def error_class(code: str) -> type[EcrError]:
    """The class for one of ECR's error codes."""
    try:
        return ERRORS[code]
    except KeyError:
        raise UnknownError(f"{code} is not an error of ECR's model (botocore): use one of {sorted(ERRORS)}") from None


def aws_error(code: str, message: str) -> EcrError:
    """An instance of ECR's error `code` with AWS's `message`."""
    return error_class(code)(message)


def invalid_parameter(field: str, rule: str, code: str = "InvalidParameterException") -> EcrError:
    """ECR's answer to a parameter that breaks a rule, in AWS's wording."""
    return aws_error(code, INVALID_PARAMETER.format(field=field, rule=rule))
