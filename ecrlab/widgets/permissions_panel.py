"""The registry-permissions panel: build a policy from intents, preview who can do what, see it linted, ask
what a principal may do."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from ecrlab.errors import ValidationError
from ecrlab.permissions import PolicyPreview, lint, policy_preview
from ecrlab.permissions import registry_policy as live
from ecrlab.widgets.form import SpecForm, labelled, lines, text, working

if TYPE_CHECKING:
    from ecrlab.registry import Registry

COMMON_ACTIONS = (
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecr:PutRegistryPolicy",
    "ecr:BatchGetImage",
    "ecr:PutImage",
    "ecr:ReplicateImage",
    "ecr:BatchImportUpstreamImage",
)
_COLOURS = {"error": "#c62828", "warning": "#a64d00", "info": "#1565c0"}
# The names the policy builders give their arguments, and the form input each one comes from.
_INTENT_FIELDS = {
    "allowed_principal_arns": "admin_principals",
    "source_account_ids": "replication_sources",
    "principal_arns": "pull_through_cache_principals",
    "prefix": "pull_through_cache_prefix",
}


def lint_html(policy_text: str, scope: str, account_id: str) -> str:
    """Lint findings as one line each, coloured by severity; a clean policy says so."""
    findings = lint(policy_text, scope=scope, account_id=account_id)
    if not findings:
        return "<span style='color:#2e7d32'>No lint findings.</span>"
    items = "".join(
        f"<li><b style='color:{_COLOURS[f.severity]}'>{f.severity}</b> <code>{html.escape(f.path)}</code> "
        f"{html.escape(f.message)}</li>"
        for f in findings
    )
    return f"<ul style='margin:0'>{items}</ul>"


class PermissionsPanel:
    """Intents form (plan/apply), a JSON view with inline lint, and a "what can this principal do?" box."""

    def __init__(self, registry: Registry, **apply_options: Any) -> None:
        self.registry = registry
        account, region = registry.account_id, registry.region
        self.scope = registry.client().get_account_setting(name="REGISTRY_POLICY_SCOPE")["value"]

        def build(**intents: Any) -> Any:
            try:
                policy = live.from_intents(account, region, **{k: v for k, v in intents.items() if v})
            except ValidationError as error:  # name the input the learner typed in, not from_intents' parameter
                field = _INTENT_FIELDS.get(error.field, error.field)
                raise ValidationError(field, error.value, error.rule) from None
            if policy is None:
                raise ValidationError(
                    "admin_principals",
                    "",
                    "give at least one intent: admins, replication source accounts or pull-through-cache principals",
                )
            return policy

        fields = [
            lines("admin_principals", "Repository admins", "only these may create/delete repositories"),
            lines("replication_sources", "Replicate from accounts"),
            lines("pull_through_cache_principals", "Pull-through-cache users"),
            text("pull_through_cache_prefix", "Cache prefix"),
        ]

        def runbook_parameters(values: dict[str, Any]) -> dict[str, Any]:
            return {
                "admin_roles": list(values["admin_principals"] or []),
                "replication_source_accounts": list(values["replication_sources"] or []),
                "pull_through_cache_roles": list(values["pull_through_cache_principals"] or []),
                "pull_through_cache_prefix": values["pull_through_cache_prefix"] or "ROOT",
            }

        self.form = SpecForm(
            registry,
            fields,
            build,
            live.plan,
            after_plan=self._show_policy,
            runbook=("permissions", runbook_parameters),
            guard=self._check_lockout,
            after_apply=self._after_apply,
            **apply_options,
        )
        self.preview: PolicyPreview | None = None
        self.preview_view = W.HTML()
        self.policy_json = labelled(W.Textarea(layout=W.Layout(width="100%", height="14em")), "Policy JSON")
        self.lint_view = W.HTML()
        self.policy_json.observe(lambda change: self._lint(change["new"]), names="value")
        self.principal = labelled(W.Text(value=f"arn:aws:iam::{account}:role/dev-role"), "Principal ARN")
        self.action = labelled(W.Dropdown(options=COMMON_ACTIONS, value="ecr:CreateRepository"), "Action")
        self.repository = labelled(W.Text(value="new-app"), "Repository")
        self.decide_button = W.Button(description="Decide", icon="question")
        self.decision = W.HTML()
        self.decide_button.on_click(lambda _: self.decide())
        self.live_button = W.Button(description="Refresh", icon="refresh", tooltip="Read the live registry policy")
        self.live_button.add_class("ecrlab-refresh")
        self.live_button.on_click(lambda _: self.show_live())
        self.live_note = W.HTML()
        self.widget = W.VBox(
            [
                W.HTML("<h4>Intents</h4>"),
                self.form.widget,
                W.HTML("<h4>Who can do what (after Plan: before → after, changes highlighted)</h4>"),
                self.preview_view,
                W.HTML("<h4>Policy JSON (editable; linted as you type)</h4>"),
                W.HBox([self.live_button, self.live_note]),
                self.policy_json,
                self.lint_view,
                W.HTML("<h4>What can this principal do?</h4>"),
                W.HBox([self.principal, self.action, self.repository, self.decide_button]),
                self.decision,
            ]
        )
        self.widget.add_class("ecrlab-panel")
        self.show_live()

    def show_live(self) -> None:
        """Show the registry policy that is live now (the panel opens with it, and shows it again after Apply)."""
        with working(self.live_button, self.live_note, "Reading the registry policy…"):
            policy = live.read(self.registry)
            if policy is None:
                self.live_note.value = "<i>No registry policy is live: build one from intents above.</i>"
                self.policy_json.value = ""
                return
            self.policy_json.value = policy.to_json(indent=2)
            self.live_note.value = "<i>The live registry policy, read just now.</i>"

    def _after_apply(self, registry: Registry) -> str:
        self.show_live()
        return ""

    def _show_policy(self, policy: Any, plan: Any) -> None:
        self.policy_json.value = policy.to_json(indent=2)
        self.preview = policy_preview(self.registry, policy)
        self.preview_view.value = self.preview._repr_html_()

    def _check_lockout(self) -> None:
        """Apply's guard: refuse a policy that locks out the caller or every admin (the runbook has --force)."""
        if self.preview is not None:
            self.preview.check()

    def _lint(self, text_value: str) -> None:
        self.lint_view.value = lint_html(text_value, self.scope, self.registry.account_id) if text_value else ""

    def decide(self) -> None:
        """The live decision for the chosen principal and action, with the reason in words."""
        with working(self.decide_button, self.decision, "Deciding: reading the policies…"):
            row = live.what_can(
                self.registry,
                [self.principal.value.strip()],
                [self.action.value],
                self.repository.value.strip() or "new-app",
            ).iloc[0]
            colour = "#2e7d32" if row["decision"] == "Allowed" else "#c62828"
            self.decision.value = f"<b style='color:{colour}'>{row['decision']}</b>: {html.escape(row['why'])}"
