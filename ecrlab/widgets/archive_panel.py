"""The archive panel: a repository's archive policy (plan/apply), and what it would archive today (a preview).

Like every ecrlab form it edits a spec (`ArchivePolicy`) and its buttons call `archive.plan` and the plan engine;
after each plan, the preview table comes from `archive.preview`, a lifecycle policy preview that writes nothing.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as W
from botocore.exceptions import ClientError

from ecrlab import archive
from ecrlab.errors import ValidationError
from ecrlab.parameters import runbook
from ecrlab.widgets.form import Field, SpecForm, choice, error_html, text

if TYPE_CHECKING:
    from ecrlab.plan import Plan
    from ecrlab.registry import Registry


def days(name: str, label: str, help: str = "", optional: bool = False) -> Field:
    """A whole number of days; empty means "not set" when `optional`."""

    def parse(value: str) -> int | None:
        value = value.strip()
        if not value and optional:
            return None
        if not value.isdigit():
            raise ValidationError(name, value, "must be a whole number of days" + (" or empty" if optional else ""))
        return int(value)

    return Field(name, label, lambda v: W.Text(value="" if v is None else str(v)), parse, help)


def runbook_parameters(values: dict[str, Any]) -> dict[str, Any]:
    """The `archive` runbook parameters for the form's values (only those that differ from the defaults)."""
    wanted = {
        "repositories": [values["repository"]],
        "archive_after_days": values["archive_after_days"],
        "since": values["since"],
        "delete_after_days": values["delete_after_days"],
    }
    defaults = {p.name: p.default for p in runbook("archive").parameters}
    return {name: value for name, value in wanted.items() if value != defaults[name]}


class ArchivePanel:
    """The archive policy of one repository, and the images it would archive (or delete from archive) today."""

    def __init__(self, registry: Registry, repository: str = "", **apply_options: Any) -> None:
        self.registry = registry
        fields = [
            text("repository", "Repository"),
            days("archive_after_days", "Archive after (days)", "images not pulled or pushed for this long"),
            choice("since", "Counted since", tuple(archive.SINCE), "the last pull (lastRecordedPullTime) or the push"),
            days("delete_after_days", "Delete from archive after", "days in archive, at least 90; empty: keep", True),
        ]
        initial = {"repository": repository, "archive_after_days": 90, "since": "pulled", "delete_after_days": None}
        self.preview = W.HTML()
        self.preview.add_class("ecrlab-preview")
        self.form = SpecForm(
            registry,
            fields,
            archive.ArchivePolicy,
            archive.plan,
            initial,
            after_plan=self.show_preview,
            runbook=("archive", runbook_parameters),
            **apply_options,
        )
        self.widget = W.VBox([self.form.widget, W.HTML("<h4>What would it do today?</h4>"), self.preview])

    def show_preview(self, spec: archive.ArchivePolicy, _plan: Plan | None = None) -> None:
        """The lifecycle preview of `spec` against the repository's images (nothing is written)."""
        try:
            frame = archive.preview(self.registry, spec)
        except ClientError as error:  # e.g. the repository does not exist yet
            self.preview.value = error_html(error)
            return
        if frame.empty:
            self.preview.value = f"<p>Nothing in <code>{html.escape(spec.repository)}</code> would change today.</p>"
            return
        self.preview.value = frame.drop(columns="digest").to_html(index=False, border=0)
