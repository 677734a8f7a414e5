"""The templates panel: inline errors at the field, plan/apply, the resolver box, the drift table, the command."""

from __future__ import annotations

import dataclasses
import html
import json
import shlex

import pytest
from moto.ecr.models import ecr_backends

from ecrlab import templates
from ecrlab.emulator.templates_operations import create_repository_from_template
from ecrlab.parameters import runbook
from ecrlab.templates import TemplateSpec
from ecrlab.widgets.form import INVALID_BORDER
from ecrlab.widgets.templates_panel import TemplatesPanel, runbook_parameters
from tests.template_helpers import ACCOUNT, ROLE

KEEP_TWO = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 2},
            "action": {"type": "expire"},
        }
    ]
}
PROD = TemplateSpec("prod", "CREATE_ON_PUSH", image_tag_mutability="IMMUTABLE", lifecycle_policy=KEEP_TWO)


@pytest.fixture
def panel(registry) -> TemplatesPanel:
    return TemplatesPanel(registry, PROD)


def test_the_form_starts_from_the_spec(panel):
    inputs = panel.form.inputs
    assert inputs["prefix"].value == "prod"
    assert inputs["applied_for"].value == ("CREATE_ON_PUSH",)
    assert inputs["image_tag_mutability"].value == "IMMUTABLE"
    assert json.loads(inputs["lifecycle_policy"].value) == KEEP_TWO
    assert panel.form.spec() == PROD


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("prefix", "Prod", "ROOT, or lowercase letters"),
        ("applied_for", (), "at least one"),
        ("resource_tags", "team", "key=value"),
        ("lifecycle_policy", '{"rules": []}', "non-empty rules list"),
        ("lifecycle_policy", "{nope", "valid JSON"),
        ("kms_key", "arn:aws:kms:us-east-1:123456789012:key/k", "only allowed with KMS"),
        ("custom_role_arn", "arn:aws:iam::999999999999:role/other", "registry&#x27;s account 123456789012"),
    ],
)
def test_a_bad_value_is_reported_at_its_field(panel, field, value, fragment):
    panel.form.inputs[field].value = value
    panel.form.plan_button.click()
    assert fragment in panel.form.errors[field].value
    assert panel.form.inputs[field].layout.border == INVALID_BORDER
    others = [name for name in panel.form.errors if name != field]
    assert all(panel.form.errors[name].value == "" for name in others)
    assert panel.form.apply_button.disabled


def test_fix_plan_apply_then_the_registry_has_the_template(registry, panel):
    panel.form.inputs["resource_tags"].value = "team"
    panel.form.plan_button.click()
    panel.form.inputs["resource_tags"].value = "team = checkout\n\nenv=prod"
    panel.form.inputs["custom_role_arn"].value = ROLE
    panel.form.plan_button.click()
    assert panel.form.errors["resource_tags"].value == ""
    assert "create" in panel.form.result.value and not panel.form.apply_button.disabled
    panel.form.apply_button.click()
    assert "Applied 1 change(s)" in panel.form.result.value
    [stored] = templates.read(registry)
    assert dict(stored.resource_tags) == {"team": "checkout", "env": "prod"}
    assert stored.custom_role_arn == ROLE
    panel.form.plan_button.click()
    assert "No changes" in panel.form.result.value


def test_tags_without_a_role_plan_with_a_warning_at_the_role(panel):
    panel.form.inputs["resource_tags"].value = "team=checkout"
    panel.form.plan_button.click()
    assert "fails to create repositories" in panel.form.errors["custom_role_arn"].value
    assert panel.form.inputs["custom_role_arn"].layout.border is None
    assert not panel.form.apply_button.disabled


def test_dry_run_panel_writes_nothing(registry):
    panel = TemplatesPanel(registry, PROD, dry_run=True)
    panel.form.plan_button.click()
    panel.form.apply_button.click()
    assert "Dry run: nothing written" in panel.form.result.value
    assert templates.read(registry) == []


def test_resolver_box_explains_the_choice(registry, panel):
    panel.form.plan_button.click()
    panel.form.apply_button.click()
    panel.repository_name.value = "prod/team/api"
    panel.reason.value = "CREATE_ON_PUSH"
    panel.resolve_button.click()
    assert "uses template &#x27;prod&#x27;" in panel.resolution.value
    assert "✔ prod: most specific match" in panel.resolution.value
    panel.reason.value = "REPLICATION"
    panel.resolve_button.click()
    assert "No template applies" in panel.resolution.value
    panel.repository_name.value = " "
    panel.resolve_button.click()
    assert "give a repository name" in panel.resolution.value


def test_drift_table_shows_the_audit(registry):
    templates_panel = TemplatesPanel(registry, PROD)
    assert "No repository has a template" in templates_panel.drift.value
    templates_panel.form.plan_button.click()
    templates_panel.form.apply_button.click()
    create_repository_from_template(ecr_backends[ACCOUNT][registry.region], "prod/api", "CREATE_ON_PUSH")
    registry.client().create_repository(repositoryName="prod/by-hand")
    templates_panel.audit_button.click()
    frame = templates_panel.audit_frame
    assert frame.equals(templates.audit(registry))
    assert sorted(frame.loc[~frame["compliant"], "repository"].unique()) == ["prod/by-hand"]
    assert "<b>2</b> of 6 settings drift from their template, in 1 of 2 repositories" in templates_panel.drift.value
    assert "✘ drift" in templates_panel.drift.value and "(absent)" in templates_panel.drift.value
    # Why each repository is audited: ECR records no reason, so one made by hand is held to the template too.
    assert templates_panel.coverage_frame.equals(templates.coverage(registry))
    assert "2 of 2 repositories audited" in templates_panel.drift.value
    assert "ECR records no reason" in templates_panel.drift.value


def test_runbook_parameters_round_trip_through_the_runbook():
    spec = TemplateSpec(
        "prod",
        ("CREATE_ON_PUSH", "REPLICATION"),
        image_tag_mutability="MUTABLE_WITH_EXCLUSION",
        image_tag_mutability_exclusion_filters=("latest",),
        resource_tags={"team": "a b"},
        lifecycle_policy=KEEP_TWO,
        custom_role_arn=ROLE,
    )
    values = runbook_parameters(spec)
    assert "encryption_type" not in values  # defaults are left out
    params = runbook("templates").validate(values)
    assert TemplateSpec(**{name: params[name] for name in templates.SPEC_FIELDS.values()}) == spec
    assert runbook_parameters(TemplateSpec("apps", "CREATE_ON_PUSH", image_tag_mutability="IMMUTABLE")) == {}


def test_the_form_prints_the_runbook_command(panel):
    panel.form.inputs["resource_tags"].value = "team=a b"
    panel.form.runbook_button.click()
    run = html.unescape(panel.form.commands.value)
    assert "ecrlab run templates --target aws --region us-east-1 -p prefix=prod" in run
    words = shlex.split(run[run.index("ecrlab run") : run.index("\n")])
    values = dict(words[i + 1].split("=", 1) for i, word in enumerate(words) if word == "-p")
    params = runbook("templates").validate(values)
    assert TemplateSpec(**{name: params[name] for name in templates.SPEC_FIELDS.values()}) == dataclasses.replace(
        PROD, resource_tags={"team": "a b"}
    )


def test_an_audit_the_registry_refuses_is_one_line_in_the_panel(panel, registry):
    registry.emulator.inject_fault("DescribeRepositories", "ValidationException", 1)
    panel.audit_button.click()
    assert "ValidationException" in panel.drift.value and not panel.audit_button.disabled
    panel.audit_button.click()  # the next click reads again
    assert "ValidationException" not in panel.drift.value
