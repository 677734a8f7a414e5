"""Account settings (GetAccountSetting/PutAccountSetting) and the registry-policy scope they control.

Defaults follow AWS for a new registry: REGISTRY_POLICY_SCOPE V2, BASIC_SCAN_TYPE_VERSION AWS_NATIVE.
The BLOB_MOUNTING default is not documented; DISABLED is assumed (UNCONFIRMED [U7]) because mounting is opt-in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecrlab.emulator.aws_errors import INVALID_PARAMETER, aws_error, invalid_parameter
from ecrlab.emulator.extension import Call, backend_hook, operation
from ecrlab.emulator.moto_compat import ECRBackend
from ecrlab.emulator.state import feature_state, state_of
from ecrlab.permissions.actions import allowed_in_v1_policy


@feature_state()
@dataclass
class AccountSettingsState:
    """PutAccountSetting's values; an unset name reads as its default."""

    settings: dict[str, str] = field(default_factory=dict)


SETTINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "REGISTRY_POLICY_SCOPE": ("V2", ("V1", "V2")),
    # CLAIR reached end of support on 2026-02-02 (docs/fidelity.md S5); the model documents only AWS_NATIVE.
    "BASIC_SCAN_TYPE_VERSION": ("AWS_NATIVE", ("AWS_NATIVE",)),
    "BLOB_MOUNTING": ("DISABLED", ("ENABLED", "DISABLED")),
}


INVALID_REGISTRY_POLICY = INVALID_PARAMETER.format(field="PolicyText", rule="Invalid registry policy provided")


def _setting_name(call: Call) -> str:
    name = call.params["name"]
    if name not in SETTINGS:
        # Exact AWS wording for an unknown name is UNCONFIRMED [U6]; the error code follows the model.
        raise invalid_parameter("name", f"Member must be one of [{', '.join(SETTINGS)}]")
    return name


def setting_value(backend: ECRBackend, name: str) -> str:
    """The effective value of an account setting, falling back to AWS's default for a new registry."""
    return state_of(backend, AccountSettingsState).settings.get(name, SETTINGS[name][0])


@operation("GetAccountSetting", "REGISTRY_POLICY_SCOPE, BASIC_SCAN_TYPE_VERSION, BLOB_MOUNTING with defaults")
def get_account_setting(call: Call) -> dict[str, Any]:
    name = _setting_name(call)
    return {"name": name, "value": setting_value(call.ecr, name)}


@operation("PutAccountSetting", "validates each setting's allowed values")
def put_account_setting(call: Call) -> dict[str, Any]:
    name = _setting_name(call)
    value = call.params.get("value", "")
    allowed = SETTINGS[name][1]
    if value not in allowed:
        raise invalid_parameter("value", f"Member must be one of [{', '.join(allowed)}] for {name}")
    state_of(call.ecr, AccountSettingsState).settings[name] = value
    return {"name": name, "value": value}


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


@backend_hook(
    "_validate_registry_policy_action",
    ("PutRegistryPolicy",),
    "follows REGISTRY_POLICY_SCOPE: any ecr: action under V2, only the three V1 actions or ecr:* under V1",
)
def validate_registry_policy_actions(_moto_check: Callable[[str], None], backend: ECRBackend, policy_text: str) -> None:
    """moto accepts only two actions; AWS accepts every ecr: action under V2, and three (or ecr:*) under V1."""
    scope = setting_value(backend, "REGISTRY_POLICY_SCOPE")
    statements = json.loads(policy_text)["Statement"]
    for statement in [statements] if isinstance(statements, dict) else statements:
        for action in _actions(statement):
            if not action.lower().startswith("ecr:") or (scope == "V1" and not allowed_in_v1_policy(action)):
                raise aws_error("InvalidParameterException", INVALID_REGISTRY_POLICY)
