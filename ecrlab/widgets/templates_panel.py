"""The creation-templates panel: a template form, a "which template applies to…" box, and the drift table.

Like every ecrlab form it edits a spec (`TemplateSpec`) and its buttons call `templates.plan`,
`templates.which_template` and `templates.audit` — the functions the runbook calls — never boto3.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from ecrlab import templates
from ecrlab.ecr_model import ecr_model
from ecrlab.errors import ValidationError
from ecrlab.parameters import COMMON, runbook
from ecrlab.template_rules import REASONS, creation_needs_role, template_problem
from ecrlab.templates import SPEC_FIELDS, TemplateSpec
from ecrlab.widgets.form import ERROR_STYLE, Field, SpecForm, choice, json_text, labelled, lines, text, working

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.plan import Plan
    from ecrlab.registry import Registry

WARNING_STYLE = "color:#a64d00;font-size:90%"  # 5.7:1 on white (WCAG AA)


def reasons(name: str, label: str, help: str = "") -> Field:
    """A multi-select of the reasons ECR creates a repository on your behalf (`appliedFor`)."""
    return Field(name, label, lambda v: W.SelectMultiple(options=REASONS, value=tuple(v or ()), rows=3), tuple, help)


def tags(name: str, label: str, help: str = "") -> Field:
    """Resource tags, one `key=value` per line; a line without '=' is reported at this field."""

    def parse(value: str) -> dict[str, str]:
        pairs = {}
        for line in (line.strip() for line in value.splitlines()):
            if not line:
                continue
            key, sep, tag_value = line.partition("=")
            if not sep:
                raise ValidationError(name, line, "write one tag per line as key=value")
            pairs[key.strip()] = tag_value.strip()
        return pairs

    def make(value: Any) -> W.Textarea:
        return W.Textarea(value="\n".join(f"{k}={v}" for k, v in dict(value or {}).items()))

    return Field(name, label, make, parse, help)


def _initial(spec: TemplateSpec) -> dict[str, Any]:
    """Form values of a spec: policies pretty-printed, tags as a mapping."""
    pretty = {
        key: json.dumps(json.loads(getattr(spec, key)), indent=2) if getattr(spec, key) else ""
        for key in ("lifecycle_policy", "repository_policy")
    }
    return {
        **{name: getattr(spec, name) for name in SPEC_FIELDS.values()},
        "resource_tags": dict(spec.resource_tags),
        **pretty,
    }


def runbook_parameters(spec: TemplateSpec) -> dict[str, Any]:
    """The `templates` runbook parameters that plan `spec`: those whose value differs from the default."""
    values = spec.settings() | {
        "prefix": spec.prefix,
        "lifecycle_policy": spec.lifecycle_policy,
        "repository_policy": spec.repository_policy,
    }
    return {
        parameter.name: values[parameter.name]
        for parameter in runbook("templates").parameters
        if parameter not in COMMON and values[parameter.name] != parameter.default
    }


def drift_html(frame: pd.DataFrame) -> str:
    """The audit as an HTML table headed by how many settings drift; drifting rows are marked."""
    if frame.empty:
        return "<i>No repository has a template that applies to it.</i>"
    drift = frame[~frame["compliant"]]
    head = (
        f"<p><b>{len(drift)}</b> of {len(frame)} settings drift from their template, in "
        f"{drift['repository'].nunique()} of {frame['repository'].nunique()} repositories.</p>"
    )
    shown = frame.assign(compliant=frame["compliant"].map({True: "✔", False: "✘ drift"}))
    return head + shown.to_html(index=False, na_rep="(absent)", classes="ecrlab-drift")


def coverage_html(frame: pd.DataFrame) -> str:
    """Every repository and why the audit does or does not compare it with a template (`templates.coverage`)."""
    if frame.empty:
        return ""
    head = (
        f"<p>{int(frame['audited'].sum())} of {len(frame)} repositories audited: a template shapes only what ECR "
        "creates for a reason it applies to, after it exists.</p>"
    )
    shown = frame.assign(audited=frame["audited"].map({True: "✔ audited", False: "not audited"}))
    return head + shown.to_html(index=False, na_rep="—", classes="ecrlab-coverage")


class TemplatesPanel:
    """Template form (plan/apply, inline errors), a "which template applies to…" box, and the drift table."""

    def __init__(self, registry: Registry, spec: TemplateSpec | None = None, **apply_options: Any) -> None:
        self.registry = registry
        spec = spec or TemplateSpec("ROOT", ("PULL_THROUGH_CACHE",))
        model = ecr_model()
        fields = [
            text("prefix", "Prefix", "ROOT, or a name prefix; a '/' is assumed at its end"),
            reasons("applied_for", "Applied for"),
            text("description", "Description"),
            choice("image_tag_mutability", "Tag mutability", model.shape_for("ImageTagMutability").enum),
            lines("image_tag_mutability_exclusion_filters", "Mutability exclusions", "wildcard filters, one a line"),
            choice("encryption_type", "Encryption", model.shape_for("EncryptionType").enum),
            text("kms_key", "KMS key ARN", "a full key ARN, with KMS or KMS_DSSE only"),
            tags("resource_tags", "Resource tags", "key=value, one a line"),
            json_text("lifecycle_policy", "Lifecycle policy"),
            json_text("repository_policy", "Repository policy"),
            text("custom_role_arn", "Custom role ARN", "ECR assumes it to create repositories; needed for tags, KMS"),
        ]
        self.form = SpecForm(
            registry,
            fields,
            self._build,
            templates.plan,
            _initial(spec),
            read=self._live,
            after_plan=self._after_plan,
            after_apply=self._after_apply,
            runbook=("templates", lambda values: runbook_parameters(self._build(**values))),
            **apply_options,
        )
        self.repository_name = labelled(
            W.Text(value=f"{spec.prefix}/app" if spec.prefix != "ROOT" else "app"), "Repository name"
        )
        self.reason = labelled(W.Dropdown(options=REASONS, value=spec.applied_for[0]), "Created by")
        self.resolve_button = W.Button(description="Which template?", icon="question")
        self.resolution = W.HTML()
        self.audit_button = W.Button(description="Audit", icon="table")
        self.drift = W.HTML()
        self.audit_frame: pd.DataFrame | None = None
        self.coverage_frame: pd.DataFrame | None = None
        self.repository_name.add_class("ecrlab-resolve-name")
        self.reason.add_class("ecrlab-resolve-reason")
        self.resolve_button.add_class("ecrlab-resolve")
        self.resolution.add_class("ecrlab-resolution")
        self.audit_button.add_class("ecrlab-audit")
        self.drift.add_class("ecrlab-drift-table")
        self.resolve_button.on_click(lambda _: self.resolve())
        self.audit_button.on_click(lambda _: self.refresh_audit())
        self.widget = W.VBox(
            [
                W.HTML("<h4>Template</h4>"),
                self.form.widget,
                W.HTML("<h4>Which template applies to…</h4>"),
                W.HBox([self.repository_name, self.reason, self.resolve_button]),
                self.resolution,
                W.HTML("<h4>Drift: repositories against the template that applies to them today</h4>"),
                self.audit_button,
                self.drift,
            ]
        )
        self.widget.add_class("ecrlab-panel")
        self.refresh_audit()

    def _live(self, registry: Registry) -> dict[str, Any] | None:
        """The live template for the prefix in the form (None when the registry has none for it)."""
        prefix = self.form.inputs["prefix"].value.strip() or "ROOT"
        live = next((spec for spec in templates.read(registry) if spec.prefix == prefix), None)
        return _initial(live) if live is not None else None

    def _build(self, **values: Any) -> TemplateSpec:
        unset = {name: "" for name, value in values.items() if value is None}
        spec = TemplateSpec(**(values | unset))
        # The role must be in the registry's account: a rule only the registry can check, shown at its field.
        problem = template_problem(spec.to_api(), self.registry.account_id)
        if problem:
            raise ValidationError(SPEC_FIELDS[problem.field], problem.value, problem.rule)
        return spec

    def _after_plan(self, spec: TemplateSpec, plan: Plan) -> None:
        if creation_needs_role(spec.to_api()):
            # AWS stores the template but every repository creation from it fails, so warn, don't refuse.
            self.form.errors["custom_role_arn"].value = (
                f"<span style='{WARNING_STYLE}'>tags or KMS encryption need a custom role: without one, ECR "
                "accepts the template but fails to create repositories from it</span>"
            )

    def _after_apply(self, registry: Registry) -> str:
        self.refresh_audit()
        return ""

    def resolve(self) -> None:
        """Which template ECR would use for the name and reason, with every template's reason in words."""
        name = self.repository_name.value.strip()
        if not name:
            self.resolution.value = f"<span style='{ERROR_STYLE}'>give a repository name</span>"
            return
        with working(self.resolve_button, self.resolution, "Reading the templates…"):
            resolution = templates.which_template(self.registry, name, self.reason.value)
            self.resolution.value = f"<pre>{html.escape(resolution.explanation)}</pre>"

    def refresh_audit(self) -> None:
        """Re-read every repository and show its drift from the template ECR created it with, and why each
        repository is or is not audited."""
        with working(self.audit_button, self.drift, "Reading every repository…"):
            listed = templates.listed_repositories(self.registry)  # once for both
            self.audit_frame = templates.audit(self.registry, repositories=listed)
            self.coverage_frame = templates.coverage(self.registry, repositories=listed)
            self.drift.value = drift_html(self.audit_frame) + coverage_html(self.coverage_frame)
