"""The replication panel: a rule builder with inline quota checks, and the status of every image at every destination.

The form edits one rule at a time of a `ReplicationSpec` (the registry's whole configuration); its buttons call
`replication.plan` and `ecrlab.plan.apply`, and the status view calls `replication.status_matrix` — the functions
the runbook calls, never boto3.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from ecrlab import replication
from ecrlab.errors import ValidationError
from ecrlab.replication import ReplicationRule, ReplicationSpec
from ecrlab.replication_rules import MAX_DESTINATIONS_PER_RULE, MAX_FILTERS_PER_RULE, MAX_RULES
from ecrlab.widgets.form import ERROR_STYLE, Field, SpecForm, labelled, lines, working

if TYPE_CHECKING:
    from ecrlab.registry import Registry

EMPTY_RULE: dict[str, Any] = {"destinations": (), "prefixes": (), "delete_replication": False}


def checkbox(name: str, label: str, help: str = "") -> Field:
    return Field(name, label, lambda v: W.Checkbox(value=bool(v), indent=False), bool, help)


class ReplicationPanel:
    """Rule builder (one rule at a time; plan/apply; quotas checked as you type) and a status view."""

    def __init__(self, registry: Registry, spec: ReplicationSpec | None = None, **apply_options: Any) -> None:
        self.registry = registry
        self.account_id = registry.account_id
        current = spec if spec is not None else replication.read(registry)
        self.drafts = [self._draft(rule) for rule in current.rules] or [dict(EMPTY_RULE)]
        self.index = 0
        self._loading = False  # while Refresh replaces every draft, switching rules must not keep what was typed
        fields = [
            lines("destinations", "Destinations", "one a line: eu-west-1 (this account) or 444455556666/eu-west-1"),
            lines("prefixes", "Repository prefixes", "one a line; none means every repository"),
            checkbox("delete_replication", "Replicate deletions"),
        ]
        self.form = SpecForm(
            registry,
            fields,
            self._build,
            # The panel holds every rule of the configuration, so a rule the learner deletes here is removed.
            partial(replication.plan, remove_unlisted=True),
            self.drafts[0],
            after_apply=self._after_apply,
            runbook=("replication", self._parameters),
            read=self._live if spec is None else None,
            **apply_options,
        )
        self.rule = labelled(W.ToggleButtons(options=self._labels(), value=self._labels()[0]), "Rule to edit")
        self.add_button = W.Button(description="Add rule", icon="plus")
        self.remove_button = W.Button(description="Remove rule", icon="trash")
        self.quota = W.HTML()
        self.status_button = W.Button(description="Refresh status", icon="refresh")
        # Filled on demand: reading every image's status takes one call per image, too many for a big registry.
        self.status = W.HTML("<i>Press Refresh status to read every image's replication status.</i>")
        for part, name in (
            (self.rule, "ecrlab-rule"),
            (self.add_button, "ecrlab-add-rule"),
            (self.remove_button, "ecrlab-remove-rule"),
            (self.quota, "ecrlab-quota"),
            (self.status_button, "ecrlab-refresh-status"),
            (self.status, "ecrlab-status"),
        ):
            part.add_class(name)
        self.rule.observe(lambda change: self.select(self._labels().index(change["new"])), names="value")
        self.add_button.on_click(lambda _: self.add_rule())
        self.remove_button.on_click(lambda _: self.remove_rule())
        self.status_button.on_click(lambda _: self.refresh_status())
        for widget in self.form.inputs.values():
            widget.observe(lambda _: self.check(), names="value")
        self.widget = W.VBox(
            [
                W.HTML("<h4>Rules</h4>"),
                W.HBox([self.rule, self.add_button, self.remove_button]),
                self.form.widget,
                self.quota,
                W.HTML("<h4>Status: every image at every destination</h4>"),
                self.status_button,
                self.status,
            ]
        )
        self.widget.add_class("ecrlab-panel")
        self.check()

    def _draft(self, rule: ReplicationRule) -> dict[str, Any]:
        destinations = tuple(d.region if d.registry_id == self.account_id else d.label() for d in rule.destinations)
        return {"destinations": destinations, "prefixes": rule.prefixes, "delete_replication": rule.delete_replication}

    def _labels(self) -> list[str]:
        return [f"Rule {number}" for number in range(1, len(self.drafts) + 1)]

    def _build(self, **values: Any) -> ReplicationSpec:
        """The whole configuration: the rule being edited plus the others; an empty rule stands for no rule."""
        self.drafts[self.index] = values
        rules = []
        for number, draft in enumerate(self.drafts, start=1):
            if not draft["destinations"] and not draft["prefixes"]:
                continue
            try:
                rules.append(ReplicationRule.parse(self.account_id, **draft))
            except ValidationError as error:
                if number - 1 == self.index:
                    raise
                raise ValidationError("rules", error.value, f"rule {number}, {error.field}: {error.rule}") from None
        return ReplicationSpec(tuple(rules))

    def _show(self, draft: dict[str, Any]) -> None:
        inputs = self.form.inputs
        inputs["destinations"].value = "\n".join(draft["destinations"])
        inputs["prefixes"].value = "\n".join(draft["prefixes"])
        inputs["delete_replication"].value = bool(draft["delete_replication"])

    def _live(self, registry: Registry) -> dict[str, Any]:
        """Every live rule as a draft (Refresh, and after Apply); the form shows rule 1."""
        self.drafts = [self._draft(rule) for rule in replication.read(registry).rules] or [dict(EMPTY_RULE)]
        self.index = 0
        if hasattr(self, "rule"):
            self._loading = True
            try:
                self.rule.options = self._labels()
                self.rule.value = self._labels()[0]
            finally:
                self._loading = False
        return self.drafts[0]

    def select(self, index: int) -> None:
        """Edit rule `index` (0-based); what was typed into the previous one is kept."""
        if self._loading:
            return
        self.drafts[self.index] = {f.name: f.parse(self.form.inputs[f.name].value) for f in self.form.fields}
        self.index = index
        self._show(self.drafts[index])

    def _relabel(self, index: int) -> None:
        self.rule.options = self._labels()
        self.rule.value = self._labels()[index]
        self.select(index)

    def add_rule(self) -> None:
        self.select(self.index)
        self.drafts.append(dict(EMPTY_RULE))
        self._relabel(len(self.drafts) - 1)

    def remove_rule(self) -> None:
        """Drop the rule being edited (the last one left is emptied instead: no rule, no replication)."""
        if len(self.drafts) == 1:
            self._show(EMPTY_RULE)
            return
        del self.drafts[self.index]
        self.index = min(self.index, len(self.drafts) - 1)
        self._show(self.drafts[self.index])
        self.rule.options = self._labels()
        self.rule.value = self._labels()[self.index]

    def check(self) -> None:
        """Quotas as you type — rules, this rule's destinations and filters — and the first broken rule inline."""
        spec = self.form.spec()
        counts = (
            ("rules", len(self.drafts), MAX_RULES),
            ("destinations in this rule", len(self.drafts[self.index]["destinations"]), MAX_DESTINATIONS_PER_RULE),
            ("filters in this rule", len(self.drafts[self.index]["prefixes"]), MAX_FILTERS_PER_RULE),
        )
        parts = [
            f"<span style='{ERROR_STYLE if count > limit else ''}'>{count}/{limit} {what}</span>"
            for what, count, limit in counts
        ]
        self.quota.value = " · ".join(parts)
        if spec is not None:
            self.form.result.value = ""

    def _parameters(self, values: dict[str, Any]) -> dict[str, Any]:
        """The runbook's parameters for the configuration on screen, whatever it holds: rule 1 as `destinations`,
        `repository_prefixes` and `delete_replication` (`destinations=[]` when there is no rule), every other rule
        in `rules`, and `remove_unlisted`, because the panel holds the registry's whole configuration and plans the
        removal of any rule it does not list."""
        rules = [
            {
                "destinations": list(draft["destinations"]),
                "repository_prefixes": list(draft["prefixes"]),
                "delete_replication": draft["delete_replication"],
            }
            for draft in [self._draft(rule) for rule in self._build(**values).rules] or [EMPTY_RULE]
        ]
        more = {"rules": rules[1:]} if rules[1:] else {}
        return rules[0] | more | {"remove_unlisted": True}

    def _after_apply(self, registry: Registry) -> str:
        self.refresh_status()
        return ""

    def refresh_status(self) -> None:
        """Re-read every image's replication status (COMPLETE, IN_PROGRESS, FAILED with its code)."""
        with working(self.status_button, self.status, "Reading every image's replication status…"):
            frame = replication.status_matrix(self.registry)
            if frame.empty:
                self.status.value = "<i>No images yet.</i>"
                return
            shown = frame.assign(digest=frame["digest"].str[:19] + "…")
            self.status.value = shown.to_html(index=False, classes="ecrlab-status-matrix")
