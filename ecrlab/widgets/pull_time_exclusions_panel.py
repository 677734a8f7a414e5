"""The pull-time update exclusions panel: the roles whose pulls do not move an image's lastRecordedPullTime.

The form edits the whole list (it starts from the registry's current exclusions), so planning it registers the
roles added and deregisters the roles removed, through `pull_time_exclusions.plan` and the plan engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecrlab import principals, pull_time_exclusions
from ecrlab.widgets.form import SpecForm, lines

if TYPE_CHECKING:
    from ecrlab.registry import Registry


def runbook_parameters(values: dict[str, Any]) -> dict[str, Any]:
    """The runbook parameters for the form's list: the whole list, so the runbook also deregisters the rest."""
    return {"excluded_roles": list(values["principal_arns"]), "deregister_others": True}


def exclusions_form(registry: Registry, **apply_options: Any) -> SpecForm:
    """A form over the registry's exclusions; a role name means that role in this account."""
    fields = [
        lines("principal_arns", "Excluded principals", "one role name, role ARN or user ARN per line (at most 100)"),
    ]

    def build(principal_arns: tuple[str, ...]) -> pull_time_exclusions.PullTimeExclusions:
        return pull_time_exclusions.PullTimeExclusions(tuple(principals.role_arns(registry, principal_arns)))

    initial = {"principal_arns": pull_time_exclusions.read(registry).principal_arns}
    return SpecForm(
        registry,
        fields,
        build,
        pull_time_exclusions.plan,
        initial,
        runbook=("pull-time-exclusions", runbook_parameters),
        **apply_options,
    )
