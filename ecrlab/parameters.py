"""The parameters of every runbook notebook, described once and validated before anything runs.

papermill injects values as Python literals and turns `-p expected_account_id 012345678901` into an int, so
every value is coerced here (an account id keeps its leading zeros) and checked with errors naming the
parameter. The notebook's `parameters` cell must list exactly these names with these defaults (tested).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecrlab.errors import ValidationError

TARGETS = ("emulator", "aws")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # str | bool | region | account_id | choice | json
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False

    def coerce(self, value: Any) -> Any:
        """The value in its Python type, or `ValidationError` naming this parameter and the rule."""
        if value is None:
            if self.kind in ("bool", "region", "choice") and self.default is not None:
                raise ValidationError(self.name, value, "must be set")
            return None
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValidationError(self.name, value, "must be True or False")
        if self.kind == "account_id":
            text = f"{value:012d}" if isinstance(value, int) else str(value)
            if not re.fullmatch(r"\d{12}", text):
                raise ValidationError(self.name, value, "must be a 12-digit AWS account id")
            return text
        if self.kind == "region":
            if not isinstance(value, str) or not _REGION.match(value):
                raise ValidationError(self.name, value, "must be an AWS region such as us-east-1")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise ValidationError(self.name, value, f"must be one of {', '.join(self.choices)}")
            return value
        if self.kind == "json":
            if isinstance(value, str):
                try:
                    return json.loads(value)
                except json.JSONDecodeError as error:
                    raise ValidationError(self.name, value, f"must be JSON ({error.msg})") from None
            return value
        return str(value)


COMMON = (
    Parameter("target", "choice", "emulator", "where to run: the embedded emulator or AWS", TARGETS),
    Parameter("region", "region", "us-east-1", "the registry's region"),
    Parameter("profile", "str", None, "AWS profile (target aws only)"),
    Parameter("apply", "bool", False, "against AWS, write only when True (the emulator lesson always applies)"),
    Parameter("expected_account_id", "account_id", None, "the account the credentials must reach to write"),
    Parameter("assume_role_arn", "str", None, "act through this role (how `ecrlab fleet` reaches each account)"),
)


@dataclass(frozen=True)
class Runbook:
    """A notebook that runs as a runbook: its name on the command line, its file, its parameters."""

    feature: str
    notebook: str
    parameters: tuple[Parameter, ...]
    summary: str

    def parameter(self, name: str) -> Parameter:
        for item in self.parameters:
            if item.name == name:
                return item
        known = ", ".join(p.name for p in self.parameters)
        raise ValidationError(name, None, f"is not a parameter of the {self.feature} runbook (known: {known})")

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults filled in, every value coerced, cross-parameter rules checked."""
        for name in values:
            self.parameter(name)
        result = {p.name: p.coerce(values.get(p.name, p.default)) for p in self.parameters}
        if result["target"] == "aws" and result["apply"] and not result["expected_account_id"]:
            raise ValidationError("expected_account_id", None, "is required when target is aws and apply is True")
        if result["target"] == "emulator" and result["profile"]:
            raise ValidationError("profile", result["profile"], "only applies when target is aws")
        return result

    def redacted(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Values safe to write into an audit record."""
        secret = {p.name for p in self.parameters if p.secret}
        return {name: "***" if name in secret and value else value for name, value in values.items()}


RUNBOOKS = {
    runbook.feature: runbook
    for runbook in (
        Runbook("start-here", "00_start_here.ipynb", COMMON, "connect, read the registry, create one repository"),
        Runbook(
            "permissions",
            "01_registry_permissions.ipynb",
            (
                *COMMON,
                Parameter(
                    "admin_roles",
                    "json",
                    ["devops-role"],
                    "roles (names or ARNs) that alone may create and delete repositories; [] for no restriction",
                ),
                Parameter(
                    "replication_source_accounts", "json", [], "accounts allowed to replicate into this registry"
                ),
                Parameter("pull_through_cache_roles", "json", [], "roles allowed to fill the pull-through cache"),
                Parameter("pull_through_cache_prefix", "str", "ROOT", "cache repository prefix for those roles"),
            ),
            "the registry policy from intents: repository admins, replication sources, cache users",
        ),
    )
}


def runbook(feature: str) -> Runbook:
    if feature not in RUNBOOKS:
        raise ValidationError("feature", feature, f"must be one of {', '.join(RUNBOOKS)}")
    return RUNBOOKS[feature]
