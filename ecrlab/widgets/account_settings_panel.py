"""The account-settings form: the smallest example of a feature form."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ecrlab import account_settings
from ecrlab.widgets.form import SpecForm, choice

if TYPE_CHECKING:
    from ecrlab.registry import Registry


def account_settings_form(registry: Registry, **apply_options: Any) -> SpecForm:
    """A form over `AccountSettings`, starting from the registry's current values."""
    fields = [choice(name.lower(), name, allowed, optional=True) for name, allowed in account_settings.ALLOWED.items()]

    def live(reg: Registry) -> dict[str, Any]:
        return asdict(account_settings.read(reg))

    return SpecForm(
        registry, fields, account_settings.AccountSettings, account_settings.plan, read=live, **apply_options
    )
