"""Account settings of a registry (policy scope, basic scan version, blob mounting) as a plannable spec."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from ecrlab import checks
from ecrlab.errors import ValidationError
from ecrlab.plan import Plan, Setting, make_plan, setting_kind

if TYPE_CHECKING:
    from ecrlab.registry import Registry

# Allowed values per setting: the model documents only some, AWS docs the rest (docs/fidelity.md S1, S5).
ALLOWED = {
    "REGISTRY_POLICY_SCOPE": ("V1", "V2"),
    "BASIC_SCAN_TYPE_VERSION": ("AWS_NATIVE",),
    "BLOB_MOUNTING": ("ENABLED", "DISABLED"),
}


@dataclass(frozen=True)
class AccountSettings:
    """Desired account settings; a field left as None is not managed."""

    registry_policy_scope: str | None = None
    basic_scan_type_version: str | None = None
    blob_mounting: str | None = None

    def __post_init__(self) -> None:
        for item in fields(self):
            value = checks.optional_text(item.name, getattr(self, item.name))
            allowed = ALLOWED[item.name.upper()]
            if value is not None and value not in allowed:
                raise ValidationError(item.name, value, f"must be one of {', '.join(allowed)}")

    def desired(self) -> list[tuple[Setting, Any]]:
        return [
            (account_setting(item.name.upper()), getattr(self, item.name))
            for item in fields(self)
            if getattr(self, item.name) is not None
        ]


@setting_kind("account-setting")
def account_setting(name: str) -> Setting:
    def read(registry: Registry) -> str:
        return registry.client().get_account_setting(name=name)["value"]

    def write(registry: Registry, value: str) -> None:
        registry.client().put_account_setting(name=name, value=value)

    return Setting("account-setting", name, read, write)


def read(registry: Registry) -> AccountSettings:
    """The registry's current account settings."""
    return AccountSettings(**{name.lower(): account_setting(name).read(registry) for name in ALLOWED})


def plan(registry: Registry, spec: AccountSettings) -> Plan:
    return make_plan(registry, spec.desired())
