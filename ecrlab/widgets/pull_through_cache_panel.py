"""The pull-through-cache panel: a rule form, a credential picker that can create the secret, and "try a pull".

The upstream kind fills in its registry host, every edit is validated at its field, and a pull is traced: miss or
hit, what ECR fetched upstream, and a Mermaid sequence diagram drawn from the requests the emulator really made
(read through its API, never from its internals). Like every form, it only calls ecrlab functions.
"""

from __future__ import annotations

import html
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import ipywidgets as W
from botocore.exceptions import ClientError
from IPython.display import Markdown, display

from ecrlab import pull_through_cache as ptc
from ecrlab.pull_through_cache_rules import UPSTREAMS
from ecrlab.widgets.form import Field, SpecForm, choice, labelled, text, working

if TYPE_CHECKING:
    from ecrlab.registry import Registry

NO_CREDENTIAL = ("(none)", "")


def example_url(registry: Registry, kind: str) -> str:
    """The registry host a kind uses, with the user's part filled in for Azure and ECR."""
    if kind == "azure-container-registry":
        return "myregistry.azurecr.io"
    if kind == "ecr":
        return f"{registry.account_id}.dkr.ecr.{registry.region}.amazonaws.com"
    return UPSTREAMS[kind].url


def _build(**values: Any) -> ptc.PullThroughCacheRule:
    return ptc.PullThroughCacheRule(**{name: value or "" for name, value in values.items()})


def runbook_parameters(rule: ptc.PullThroughCacheRule) -> dict[str, Any]:
    """The `pull-through-cache` runbook parameters that plan `rule`: one entry of `rules`, defaults left out."""
    defaults = {"upstream_registry": rule.upstream_registry, "upstream_repository_prefix": "ROOT"}
    return {"rules": [{name: value for name, value in asdict(rule).items() if value and defaults.get(name) != value}]}


class PullThroughCachePanel:
    """Rule form with plan/apply, a credential picker and creator, and a traced "try a pull" box."""

    def __init__(self, registry: Registry, rule: ptc.PullThroughCacheRule | None = None, **apply_options: Any) -> None:
        self.registry = registry
        initial = {"ecr_repository_prefix": "docker-hub", "upstream_registry": "docker-hub"}
        initial |= {"upstream_registry_url": example_url(registry, "docker-hub"), "upstream_repository_prefix": "ROOT"}
        if rule is not None:
            initial = {name: value for name, value in asdict(rule).items() if value}
        credential = Field(
            "credential_arn",
            "Credential (secret)",
            lambda value: W.Dropdown(options=self._credential_options(), value=value or ""),
        )
        fields = [
            choice("upstream_registry", "Upstream registry", list(UPSTREAMS)),
            text("upstream_registry_url", "Registry host"),
            text("ecr_repository_prefix", "ECR repository prefix"),
            text("upstream_repository_prefix", "Upstream repository prefix"),
            credential,
            text("custom_role_arn", "Role (ecr upstream)"),
        ]
        self.form = SpecForm(
            registry,
            fields,
            _build,
            ptc.plan,
            initial,
            read=self._live,
            runbook=("pull-through-cache", lambda values: runbook_parameters(_build(**values))),
            **apply_options,
        )
        self.inputs = self.form.inputs
        self.inputs["upstream_registry"].observe(lambda change: self._kind_changed(change["new"]), names="value")
        for widget in self.inputs.values():
            widget.observe(lambda _: self.form.spec(), names="value")

        self.secret_name = labelled(W.Text(value="docker-hub"), "Secret name (after ecr-pullthroughcache/)")
        self.username = labelled(W.Text(), "username")
        self.token = labelled(W.Password(), "accessToken")
        self.create_button = W.Button(description="Create secret", icon="key")
        self.created = W.HTML()
        self.create_button.on_click(lambda _: self.create_secret())

        self.repository = labelled(W.Text(value="docker-hub/library/node"), "Repository")
        self.reference = labelled(W.Text(value="18-alpine"), "Tag or digest")
        self.pull_button = W.Button(description="Pull", icon="download", button_style="primary")
        self.outcome = W.HTML()
        self.diagram = W.Output()
        self.pull_button.on_click(lambda _: self.try_pull())
        self.last_report: ptc.PullReport | None = None
        for part, name in (
            (self.create_button, "create-secret"),
            (self.pull_button, "pull"),
            (self.outcome, "outcome"),
        ):
            part.add_class(f"ecrlab-ptc-{name}")

        self.widget = W.VBox(
            [
                W.HTML("<h4>Rule</h4>"),
                self.form.widget,
                W.HTML("<h4>Credential: a Secrets Manager secret with username and accessToken</h4>"),
                W.HBox([self.secret_name, self.username, self.token, self.create_button]),
                self.created,
                W.HTML("<h4>Try a pull</h4>"),
                W.HBox([self.repository, self.reference, self.pull_button]),
                self.outcome,
                self.diagram,
            ]
        )
        self.widget.add_class("ecrlab-panel")

    def _live(self, registry: Registry) -> dict[str, Any] | None:
        """The live rule for the ECR prefix in the form (None when the registry has none for it)."""
        prefix = self.form.inputs["ecr_repository_prefix"].value.strip()
        live = next((rule for rule in ptc.read(registry) if rule.ecr_repository_prefix == prefix), None)
        return {name: value for name, value in asdict(live).items()} if live is not None else None

    def _credential_options(self) -> list[tuple[str, str]]:
        try:
            arns = ptc.credentials(self.registry)
        except ClientError:  # no Secrets Manager access: rules without a credential still work
            arns = []
        return [NO_CREDENTIAL, *((arn.split(":secret:", 1)[1], arn) for arn in arns)]

    def _kind_changed(self, kind: str) -> None:
        """A new kind brings its registry host, and its name as the prefix when the prefix was the old default."""
        self.inputs["upstream_registry_url"].value = example_url(self.registry, kind)
        prefix = self.inputs["ecr_repository_prefix"]
        if not prefix.value or prefix.value in UPSTREAMS:
            prefix.value = kind

    def create_secret(self) -> str | None:
        """Store the login as a secret, add it to the picker and select it; its ARN (None on an error)."""
        arn = None
        with working(self.create_button, self.created, "Storing the secret…"):
            arn = ptc.create_credential(self.registry, self.secret_name.value, self.username.value, self.token.value)
            picker = self.inputs["credential_arn"]
            picker.options = self._credential_options()
            picker.value = arn
            self.token.value = ""
            self.created.value = f"Stored <code>{html.escape(arn)}</code>"
        return arn

    def try_pull(self) -> ptc.PullReport | None:
        """Pull the image through ECR and show the outcome and the diagram of what happened."""
        with working(self.pull_button, self.outcome, "Pulling through ECR…"):
            report = ptc.try_pull(self.registry, self.repository.value.strip(), self.reference.value.strip())
            self.last_report = report
            colour = {"hit": "#2e7d32", "failed": "#c62828"}.get(report.outcome, "#1565c0")
            self.outcome.value = f"<b style='color:{colour}'>{report.outcome}</b>: {html.escape(report.summary())}"
            self.diagram.clear_output()
            with self.diagram:
                display(Markdown(f"```mermaid\n{report.mermaid()}\n```"))
            return report
        return None
