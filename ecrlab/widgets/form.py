"""`SpecForm`: one form per feature, built from a spec's fields, with errors shown inline at the field.

Widgets never call boto3: the form builds a spec (whose validation raises `ValidationError` naming the
field), and its buttons call the feature's `plan` and `ecrlab.plan.apply`, exactly as a runbook does.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as W
from botocore.exceptions import BotoCoreError, ClientError

from ecrlab.errors import EcrlabError, ValidationError
from ecrlab.parameters import commands
from ecrlab.plan import Plan, apply
from ecrlab.widgets.plan_view import plan_html
from ecrlab.widgets.style import busy, stylesheet

if TYPE_CHECKING:
    from ecrlab.registry import Registry

INVALID_BORDER = "2px solid #c62828"
ERROR_STYLE = "color:#c62828;font-size:90%"


def error_html(error: Exception) -> str:
    return f"<span style='{ERROR_STYLE}'>{html.escape(str(error))}</span>"


@contextmanager
def working(button: W.Button, shown_in: W.HTML, message: str) -> Iterator[None]:
    """While a panel button's call runs: say what it is doing, take no second click, and show a failure (a
    refusal from AWS, a throttled or unreachable endpoint) as one line in place of a traceback."""
    button.disabled = True
    shown_in.value = busy(message)
    try:
        yield
    except (EcrlabError, ClientError, BotoCoreError) as error:
        shown_in.value = error_html(error)
    finally:
        button.disabled = False


@dataclass(frozen=True)
class Field:
    """One input of a form: `name` is the spec field that `ValidationError.field` names."""

    name: str
    label: str
    make: Callable[[Any], W.ValueWidget]
    parse: Callable[[Any], Any] = lambda value: value
    help: str = ""


def text(name: str, label: str, help: str = "") -> Field:
    """A one-line text field; empty means "not set"."""
    return Field(name, label, lambda v: W.Text(value=v or ""), lambda v: v.strip() or None, help)


def choice(name: str, label: str, options: Sequence[str], help: str = "", optional: bool = False) -> Field:
    """A drop-down of allowed values (optionally with "(not set)")."""
    values: list[Any] = [("(not set)", None)] if optional else []
    values += [(option, option) for option in options]
    return Field(name, label, lambda v: W.Dropdown(options=values, value=v), help=help)


def lines(name: str, label: str, help: str = "") -> Field:
    """A text area with one value per line, for lists such as prefixes or principals."""
    return Field(
        name,
        label,
        lambda v: W.Textarea(value="\n".join(v or ())),
        lambda v: tuple(line.strip() for line in v.splitlines() if line.strip()),
        help,
    )


def json_text(name: str, label: str, help: str = "") -> Field:
    """A JSON editor; text that is not JSON is reported at this field, like any other rule."""

    def parse(value: str) -> Any:
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            rule = f"must be valid JSON ({error.msg} at line {error.lineno})"
            raise ValidationError(name, value[:40], rule) from None

    def make(value: Any) -> W.Textarea:
        shown = value if isinstance(value, str) or value is None else json.dumps(value, indent=2)
        return W.Textarea(value=shown or "", layout=W.Layout(width="100%", height="12em"))

    return Field(name, label, make, parse, help)


def labelled(widget: W.ValueWidget, label: str, help: str = "") -> W.ValueWidget:
    """Give a control its visible label as its `description`: ipywidgets renders it as a `<label for>` tied to the
    input, so screen readers and voice control know the field by the words on screen. The label's width follows
    its text (the workshop stylesheet puts it above the field), so no label is ever cut to "accessTok…"."""
    widget.description = label
    widget.style.description_width = "initial"
    if help:
        widget.tooltip = help
    return widget


class SpecForm:
    """A form over a spec with Plan and Apply buttons; `widget` is what a notebook displays."""

    def __init__(
        self,
        registry: Registry,
        fields: Sequence[Field],
        build: Callable[..., Any],
        plan: Callable[[Registry, Any], Plan],
        initial: dict[str, Any] | None = None,
        *,
        dry_run: bool = False,
        expected_account_id: str | None = None,
        after_apply: Callable[[Registry], str] | None = None,
        after_plan: Callable[[Any, Plan], None] | None = None,
        runbook: tuple[str, Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
        guard: Callable[[], object] | None = None,
        read: Callable[[Registry], dict[str, Any] | None] | None = None,
    ) -> None:
        self.registry = registry
        self.fields = list(fields)
        self._build = build
        self._plan = plan
        self._dry_run = dry_run
        self._expected_account_id = expected_account_id
        self._after_apply = after_apply
        self._after_plan = after_plan
        self._runbook = runbook
        self._guard = guard  # a feature's own check before a write; its GuardError is shown like any error
        # The live state in form values (None: nothing live to show); the form opens with it and Refresh re-reads it.
        self._read = read
        if initial is None and read is not None:
            initial = read(registry)
        initial = initial or {}
        self.inputs = {f.name: labelled(f.make(initial.get(f.name)), f.label, f.help) for f in self.fields}
        self.errors = {f.name: W.HTML() for f in self.fields}
        self.plan_button = W.Button(description="Plan", icon="list", button_style="info")
        self.apply_button = W.Button(description="Apply", icon="check", button_style="warning", disabled=True)
        self.result = W.HTML()
        # Stable CSS classes: browser tests and workshop styling find parts by these, not by layout.
        for name in self.inputs:
            self.inputs[name].add_class("ecrlab-field").add_class(f"ecrlab-field-{name}")
            self.errors[name].add_class("ecrlab-error").add_class(f"ecrlab-error-{name}")
        self.plan_button.add_class("ecrlab-plan")
        self.apply_button.add_class("ecrlab-apply")
        self.result.add_class("ecrlab-result")
        self.commands = W.HTML()
        self.runbook_button = W.Button(description="Copy as runbook", icon="terminal", disabled=runbook is None)
        self.runbook_button.add_class("ecrlab-runbook")
        self.refresh_button = W.Button(description="Refresh", icon="refresh", tooltip="Read the live state again")
        self.refresh_button.add_class("ecrlab-refresh")
        self.refresh_button.on_click(lambda _: self.refresh(announce=True))
        self.runbook_button.on_click(lambda _: self.show_commands())
        self.plan_button.on_click(lambda _: self.show_plan())
        self.apply_button.on_click(lambda _: self.apply())
        for widget in self.inputs.values():
            widget.observe(lambda _: self._stale(), names="value")
        self.current_plan: Plan | None = None
        rows = [
            W.VBox([self.inputs[f.name], self.errors[f.name]], layout=W.Layout(margin="0 0 4px 0")) for f in self.fields
        ]
        buttons = [self.plan_button, self.apply_button] + ([self.runbook_button] if runbook else [])
        buttons += [self.refresh_button] if read else []
        self.widget = W.VBox([stylesheet(), *rows, W.HBox(buttons), self.result, self.commands])
        self.widget.add_class("ecrlab-form").add_class("ecrlab-panel")

    def refresh(self, announce: bool = False) -> bool:
        """Put the live state back into the fields (what later cells or other people changed); False if the form
        has no reader or nothing is live for it."""
        if self._read is None:
            return False
        try:
            values = self._read(self.registry)
        except (EcrlabError, ClientError, BotoCoreError) as error:
            self.result.value = error_html(error)
            return False
        if values is None:
            if announce:
                self.result.value = "<p>Nothing live for these values yet: Plan shows what Apply would create.</p>"
            return False
        for f in self.fields:
            if f.name in values:
                self.inputs[f.name].value = f.make(values[f.name]).value
        self._stale()
        if announce:
            self.result.value = "<p>Showing the live state, read just now.</p>"
        return True

    def _stale(self) -> None:
        self.apply_button.disabled = True
        self.current_plan = None

    def _show_error(self, error: ValidationError) -> None:
        target = error.field if error.field in self.inputs else None
        for name, label in self.errors.items():
            if name != target:  # the target's error is replaced, not cleared first: a screen reader loses nothing
                label.value = ""
                self.inputs[name].layout.border = None
        if target:
            self.errors[target].value = f"<span style='{ERROR_STYLE}'>{html.escape(error.rule)}</span>"
            self.inputs[target].layout.border = INVALID_BORDER
        self.result.value = error_html(error)

    def spec(self) -> Any | None:
        """The spec the form describes, or None after showing the first rule it breaks at its field."""
        try:
            values = {f.name: f.parse(self.inputs[f.name].value) for f in self.fields}
            spec = self._build(**values)
        except ValidationError as error:
            self._show_error(error)
            return None
        for name, label in self.errors.items():
            label.value = ""
            self.inputs[name].layout.border = None
        return spec

    def show_commands(self) -> tuple[str, str] | None:
        """The `ecrlab run` and `papermill` commands that apply this form's values to a real account."""
        if self._runbook is None or self.spec() is None:
            return None
        feature, to_parameters = self._runbook
        values = {f.name: f.parse(self.inputs[f.name].value) for f in self.fields}
        try:
            run, paper = commands(feature, to_parameters(values), self.registry.region)
        except ValidationError as error:  # a spec the runbook's parameters cannot express
            self._show_error(error)
            return None
        self.commands.value = (
            "<p>Dry-run first; add <code>--apply --expected-account-id ACCOUNT</code> to write.</p>"
            f"<pre>{html.escape(run)}\n\n{html.escape(paper)}</pre>"
        )
        return run, paper

    def show_plan(self) -> Plan | None:
        spec = self.spec()
        if spec is None:
            return None
        # Reading the registry can take seconds against AWS: say so, and keep Apply off until the plan is shown.
        self.apply_button.disabled = True
        self.result.value = busy("Planning: reading the registry…")
        try:
            self.current_plan = self._plan(self.registry, spec)
        except EcrlabError as error:
            self.result.value = error_html(error)
            return None
        self.result.value = plan_html(self.current_plan)
        self.apply_button.disabled = self.current_plan.empty
        if self._after_plan:
            self._after_plan(spec, self.current_plan)
        return self.current_plan

    def apply(self) -> None:
        if self.current_plan is None:
            return
        self.apply_button.disabled = True  # no second apply while this one writes and verifies
        self.result.value = busy("Applying: guard, backup, write, verify…")
        try:
            if self._guard is not None and not self._dry_run:
                self._guard()
            result = apply(
                self.current_plan, self.registry, dry_run=self._dry_run, expected_account_id=self._expected_account_id
            )
        except EcrlabError as error:
            self.result.value = error_html(error)
            self.plan_button.focus()
            return
        if not result.dry_run:
            self.refresh()  # the fields now show what the registry holds after this apply, as re-read
        after = self._after_apply(self.registry) if self._after_apply and not result.dry_run else ""
        self.result.value = f"<p>{html.escape(str(result))}</p>{after}"
        self._stale()
        # Apply turns itself off, which would drop keyboard focus to the page; Plan is the next step (it now says
        # "no changes"), so focus goes there rather than to the top of the document.
        self.plan_button.focus()
