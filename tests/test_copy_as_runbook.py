"""Copy as runbook works for every state a panel can build, and the copied command plans what the panel plans.

Issue 23: the replication panel refused the notebook's own two-rule configuration. Each panel here is given a
state of several parts (rules, filters, statements, tags); its copied `ecrlab run` command must be accepted by the
runbook's parameter validation (`Runbook.validate`, what `ecrlab run` calls before the notebook starts). For the
panels that plan the registry's whole configuration (replication, scanning) and for the signing panel replacing the
rule it opened with, the copied command is also run — the real runbook notebook, against the emulator server as an
AWS endpoint, dry-run — and its plan must equal the panel's plan of the same registry.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

import pytest

import ecrlab
from ecrlab import replication, scanning, signing
from ecrlab.errors import ValidationError
from ecrlab.package_data import notebooks
from ecrlab.parameters import runbook
from ecrlab.plan import Plan, apply
from ecrlab.registry import Registry
from ecrlab.replication import ReplicationRule, ReplicationSpec
from ecrlab.runbook import canonical
from ecrlab.runs import run
from ecrlab.widgets.form import SpecForm

OTHER = "444455556666"
ACCOUNT = "123456789012"


def copied(form: SpecForm) -> tuple[str, dict[str, str]]:
    """Press Copy as runbook; the `ecrlab run` feature and its `-p NAME=VALUE` pairs, as a shell would pass them."""
    form.runbook_button.click()
    commands = form.show_commands()
    assert commands is not None, form.result.value
    words = shlex.split(commands[0])
    assert words[:2] == ["ecrlab", "run"]
    pairs = [words[i + 1] for i, word in enumerate(words) if word == "-p"]
    return words[2], dict(pair.split("=", 1) for pair in pairs)


def replication_two_rules(registry: Registry) -> SpecForm:
    """Notebook 04's state: every repository to eu-west-1 with deletions, shop/ to the DR account without."""
    from ecrlab.widgets.replication_panel import ReplicationPanel

    panel = ReplicationPanel(registry)
    panel.form.inputs["destinations"].value = "eu-west-1"
    panel.form.inputs["delete_replication"].value = True
    panel.add_rule()
    panel.form.inputs["destinations"].value = f"{OTHER}/us-west-2"
    panel.form.inputs["prefixes"].value = "shop/\nbilling/"
    return panel.form


def replication_no_rule(registry: Registry) -> SpecForm:
    """A panel emptied of rules: replication off."""
    from ecrlab.widgets.replication_panel import ReplicationPanel

    panel = ReplicationPanel(registry)
    panel.remove_rule()
    return panel.form


def scanning_filters(registry: Registry) -> SpecForm:
    from ecrlab.widgets.scanning_panel import ScanningPanel

    panel = ScanningPanel(registry, [])
    panel.form.inputs["scan_type"].value = "ENHANCED"
    panel.form.inputs["on_push"].value = "prod*\n*-release"
    panel.form.inputs["continuous"].value = "prod*\nbilling"
    return panel.form


def permissions_intents(registry: Registry) -> SpecForm:
    from ecrlab.widgets.permissions_panel import PermissionsPanel

    panel = PermissionsPanel(registry)
    panel.form.inputs[
        "admin_principals"
    ].value = f"arn:aws:iam::{ACCOUNT}:role/platform-admin\narn:aws:iam::{ACCOUNT}:role/break-glass"
    panel.form.inputs["replication_sources"].value = OTHER
    panel.form.inputs["pull_through_cache_principals"].value = f"arn:aws:iam::{ACCOUNT}:role/ci-role"
    panel.form.inputs["pull_through_cache_prefix"].value = "docker-hub"
    return panel.form


def templates_full(registry: Registry) -> SpecForm:
    from ecrlab.templates import TemplateSpec
    from ecrlab.widgets.templates_panel import TemplatesPanel

    spec = TemplateSpec(
        "prod",
        ["CREATE_ON_PUSH", "PULL_THROUGH_CACHE"],
        image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
        image_tag_mutability_exclusion_filters=["latest", "dev-*"],
        resource_tags={"team": "platform", "cost-center": "42"},
        lifecycle_policy={
            "rules": [
                {
                    "rulePriority": 1,
                    "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5},
                    "action": {"type": "expire"},
                }
            ]
        },
        custom_role_arn=f"arn:aws:iam::{ACCOUNT}:role/ecr-template-role",
    )
    return TemplatesPanel(registry, spec).form


def pull_through_cache_credential(registry: Registry) -> SpecForm:
    from ecrlab.pull_through_cache import PullThroughCacheRule
    from ecrlab.widgets.pull_through_cache_panel import PullThroughCachePanel

    rule = PullThroughCacheRule("k8s", "registry.k8s.io", upstream_repository_prefix="pause")
    return PullThroughCachePanel(registry, rule).form


def signing_filters(registry: Registry) -> SpecForm:
    from ecrlab.widgets.signing_panel import signing_form

    form = signing_form(registry)
    form.inputs["signing_profile_arn"].value = "release"
    form.inputs["repository_filters"].value = "prod/*\n*-release"
    return form


def signing_replacing(registry: Registry) -> SpecForm:
    """A registry with the team's rule (release signs shop/*) first and another team's after it; the panel opens
    with the first and widens its filters, so its plan replaces that rule and keeps the other."""
    from ecrlab.widgets.signing_panel import signing_form

    mine, theirs = (signing.profile_arn(registry, name) for name in ("release", "team_a_release"))
    rules = [
        {"signingProfileArn": mine, "repositoryFilters": [{"filter": "shop/*", "filterType": "WILDCARD_MATCH"}]},
        {"signingProfileArn": theirs, "repositoryFilters": [{"filter": "team-a/*", "filterType": "WILDCARD_MATCH"}]},
    ]
    registry.client().put_signing_configuration(signingConfiguration={"rules": rules})
    form = signing_form(registry)
    form.inputs["repository_filters"].value = "shop/*\nweb/*"
    return form


def exclusions_several(registry: Registry) -> SpecForm:
    from ecrlab.widgets.pull_time_exclusions_panel import exclusions_form

    form = exclusions_form(registry)
    form.inputs["principal_arns"].value = f"scanner\narn:aws:iam::{ACCOUNT}:role/inventory"
    return form


def archive_policy(registry: Registry) -> SpecForm:
    from ecrlab.widgets.archive_panel import ArchivePanel

    registry.client().create_repository(repositoryName="shop/api")
    panel = ArchivePanel(registry, "shop/api")
    panel.form.inputs["archive_after_days"].value = "180"
    panel.form.inputs["since"].value = "pushed"
    panel.form.inputs["delete_after_days"].value = "730"
    return panel.form


PANELS: dict[str, Callable[[Registry], SpecForm]] = {
    "replication, two rules": replication_two_rules,
    "replication, no rule": replication_no_rule,
    "scanning, several filters": scanning_filters,
    "permissions, every intent": permissions_intents,
    "templates, tags and a policy": templates_full,
    "pull through cache": pull_through_cache_credential,
    "signing, several filters": signing_filters,
    "signing, the rule it opened with replaced": signing_replacing,
    "pull-time exclusions, several": exclusions_several,
    "archive": archive_policy,
}


@pytest.mark.parametrize("build", PANELS.values(), ids=PANELS.keys())
def test_copy_as_runbook_gives_a_command_the_runbook_accepts(registry, build):
    form = build(registry)
    assert form.spec() is not None, form.result.value  # a state the panel can build
    feature, values = copied(form)
    runbook(feature).validate(values)  # what `ecrlab run` does before the notebook starts; raises if refused


def _panel_plan(form: SpecForm) -> dict[str, Any]:
    plan = form.show_plan()
    assert isinstance(plan, Plan), form.result.value
    return canonical([{k: v for k, v in c.to_dict().items() if k != "label"} for c in plan.changes])


def _run_plan(feature: str, values: dict[str, str], output: str) -> dict[str, Any]:
    record = run(feature, {"target": "aws", "region": "us-east-1", **values}, output)
    assert record["outcome"] == "dry-run", record.get("error")
    [applied] = [a for a in record["applies"] if a["plan"]["changes"]]
    return canonical([{k: v for k, v in c.items() if k != "label"} for c in applied["plan"]["changes"]])


@pytest.mark.parametrize(
    ("build", "live"),
    [
        (
            replication_two_rules,
            # Someone else's rule, which the panel (the whole configuration) plans to remove.
            lambda reg: replication.plan(reg, ReplicationSpec((ReplicationRule.parse(ACCOUNT, ["ap-south-1"]),))),
        ),
        (scanning_filters, lambda reg: scanning.plan(reg, scanning.ScanningSpec("BASIC", on_push=["legacy"]))),
        (signing_replacing, None),  # the panel's own set-up holds the rule it replaces and another team's
    ],
    ids=["replication", "scanning", "signing, a rule replaced"],
)
def test_the_copied_command_plans_what_the_panel_plans(aws_env, tmp_path, build, live):
    registry = ecrlab.connect("aws", region="us-east-1")
    if live is not None:
        apply(live(registry), registry, dry_run=False, expected_account_id=ACCOUNT)
    form = build(registry)
    feature, values = copied(form)
    assert _run_plan(feature, values, str(tmp_path)) == _panel_plan(form)


def test_the_two_rule_command_names_every_rule_and_removes_the_rest(registry):
    _, values = copied(replication_two_rules(registry))
    assert json.loads(values["destinations"]) == ["eu-west-1"] and values["delete_replication"] == "true"
    assert json.loads(values["rules"]) == [
        {
            "destinations": [f"{OTHER}/us-west-2"],
            "repository_prefixes": ["shop/", "billing/"],
            "delete_replication": False,
        }
    ]
    assert values["remove_unlisted"] == "true"
    _, off = copied(replication_no_rule(registry))
    assert json.loads(off["destinations"]) == [] and "rules" not in off


def test_the_signing_command_takes_out_the_rule_the_panel_replaced(registry):
    """The panel opened with "release signs shop/*": the copied command names that rule, and only it, to remove."""
    _, added = copied(signing_filters(registry))  # a form that opened with no rule replaces none
    assert "remove_rules" not in added
    _, values = copied(signing_replacing(registry))
    assert json.loads(values["repository_filters"]) == ["shop/*", "web/*"]
    assert json.loads(values["remove_rules"]) == [{"signing_profile": "release", "repository_filters": ["shop/*"]}]


def _printed_commands() -> list[tuple[str, list[str]]]:
    """Every `ecrlab run` command the lessons' Markdown prints, as a shell splits it: continued with a backslash,
    or by a quote left open at the end of a line."""
    found = []
    for path in sorted(notebooks().glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            lines = "".join(cell["source"]).replace("\\\n", " ").splitlines() if cell["cell_type"] == "markdown" else []
            for start, line in enumerate(lines):
                if not line.startswith("ecrlab run "):
                    continue
                for end in range(start, len(lines)):
                    try:
                        found.append((path.name, shlex.split("\n".join(lines[start : end + 1]), comments=True)))
                        break
                    except ValueError:  # a quoted value goes on on the next line
                        continue
    return found


def test_every_runbook_command_a_lesson_prints_is_accepted():
    """What a reader copies from a lesson passes the checks `ecrlab run` makes before the notebook starts."""
    commands = _printed_commands()
    assert any("rules=" in " ".join(words) for _, words in commands)  # notebook 04's several rules
    flags = {"--target": "target", "--region": "region", "--profile": "profile", "--expected-account-id": None}
    for name, words in commands:
        values: dict[str, Any] = {"apply": "--apply" in words}
        for i, word in enumerate(words):
            if word == "-p":
                key, value = words[i + 1].split("=", 1)
                values[key] = value
            elif word in flags:
                values[flags[word] or "expected_account_id"] = words[i + 1]
        try:
            runbook(words[2]).validate(values)
        except ValidationError as error:
            pytest.fail(f"{name}: {shlex.join(words)}: {error}")
