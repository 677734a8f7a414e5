"""`ecrlab.replication`: the spec and its checks, plan/apply, what-if, the status matrix, the topology, the form."""

from __future__ import annotations

import html

import pytest

from ecrlab import replication
from ecrlab.errors import ValidationError
from ecrlab.exercises import check_prod_replication
from ecrlab.plan import apply, restore
from ecrlab.replication import Destination, ReplicationRule, ReplicationSpec
from ecrlab.widgets.form import INVALID_BORDER
from ecrlab.widgets.replication_panel import ReplicationPanel
from tests.replication_helpers import ACCOUNT, OTHER, put


def rule(*destinations: str, prefixes: tuple[str, ...] = (), deletes: bool = False) -> ReplicationRule:
    return ReplicationRule.parse(ACCOUNT, destinations, prefixes, deletes)


@pytest.mark.parametrize(
    ("build", "field", "words"),
    [
        (lambda: rule(), "destinations", "at least one destination"),
        (lambda: rule("nowhere"), "destinations", "AWS region"),
        (lambda: rule("12/eu-west-1"), "destinations", "12 digits"),
        (lambda: rule("eu-west-1", "eu-west-1"), "destinations", "more than once"),
        (lambda: rule("eu-west-1", prefixes=("Prod",)), "prefixes", "lowercase"),
        (lambda: rule("eu-west-1", prefixes=tuple(f"p{i:03}" for i in range(101))), "prefixes", "at most 100"),
        (lambda: ReplicationSpec(tuple(rule("eu-west-1") for _ in range(26))), "rules", "at most 25 rules"),
        (
            lambda: ReplicationSpec((rule(*(f"{100000000000 + i}/eu-west-1" for i in range(101))),)),
            "destinations",
            "more than 100 destinations",
        ),
    ],
)
def test_specs_breaking_a_rule_or_quota_name_the_field(build, field, words):
    with pytest.raises(ValidationError) as broken:
        build()
    assert broken.value.field == field and words in broken.value.rule


def test_destinations_parse_from_text_and_api_form():
    assert Destination.parse("eu-west-1", ACCOUNT) == Destination(ACCOUNT, "eu-west-1")
    assert Destination.parse(f"{OTHER}/us-west-2", ACCOUNT).label() == f"{OTHER}/us-west-2"
    assert Destination.parse({"region": "ap-south-1", "registryId": OTHER}, ACCOUNT) == Destination(OTHER, "ap-south-1")
    spec = ReplicationSpec((rule("eu-west-1", f"{OTHER}/us-west-2", prefixes=("prod/",), deletes=True),))
    assert ReplicationSpec.from_api(spec.to_api()) == spec
    assert ReplicationSpec.single_rule(ACCOUNT, []) == ReplicationSpec()


def test_plan_apply_is_idempotent_refuses_the_source_and_restores(registry):
    with pytest.raises(ValidationError, match="same as the source"):
        replication.plan(registry, ReplicationSpec((rule("us-east-1"),)))
    spec = ReplicationSpec((rule("eu-west-1", prefixes=("prod/",), deletes=True), rule(f"{OTHER}/us-west-2")))
    plan = replication.plan(registry, spec)
    assert [c.action for c in plan.changes] == ["create"]
    result = apply(plan, registry, dry_run=False)
    assert replication.read(registry) == spec
    assert replication.plan(registry, spec).empty
    assert replication.plan(registry, ReplicationSpec()).empty  # no rules asked for removes nothing
    removal = replication.plan(registry, ReplicationSpec(), remove_unlisted=True)
    assert [c.action for c in removal.changes] == ["delete"]
    assert [p.action for p in removal.changes[0].parts] == ["delete", "delete"]
    apply(removal, registry, dry_run=False)
    assert replication.read(registry) == ReplicationSpec()
    restore(registry, apply(replication.plan(registry, spec), registry, dry_run=False).backup, dry_run=False)
    assert replication.read(registry) == ReplicationSpec() and result.verified


def test_what_if_says_which_repositories_go_where():
    spec = ReplicationSpec(
        (rule("eu-west-1", prefixes=("prod",), deletes=True), rule("eu-west-1", f"{OTHER}/us-west-2"))
    )
    frame = replication.what_if(spec, ["prod/api", "products"])
    assert list(frame.columns) == replication.WHAT_IF_COLUMNS
    assert frame.to_dict("records")[:2] == [
        {
            "repository": "prod/api",
            "replicated": True,
            "destination": f"{ACCOUNT}/eu-west-1",
            "rules": "1, 2",
            "delete_replication": True,
        },
        {
            "repository": "prod/api",
            "replicated": True,
            "destination": f"{OTHER}/us-west-2",
            "rules": "2",
            "delete_replication": False,
        },
    ]
    only = replication.what_if(ReplicationSpec((rule("eu-west-1", prefixes=("prod/",)),)), ["dev/api"])
    assert only.to_dict("records") == [
        {"repository": "dev/api", "replicated": False, "destination": "", "rules": "", "delete_replication": False}
    ]


def test_status_matrix_and_topology_read_the_live_registry(registry):
    registry.client().create_repository(repositoryName="app")
    old = put(registry, "app", "old", 1)
    apply(
        replication.plan(registry, ReplicationSpec((rule("eu-west-1"), rule(f"{OTHER}/us-west-2")))),
        registry,
        dry_run=False,
    )
    new = put(registry, "app", "new", 2)
    registry.emulator.settle()
    frame = replication.status_matrix(registry)
    assert list(frame.columns) == [*replication.STATUS_COLUMNS, f"{ACCOUNT}/eu-west-1", f"{OTHER}/us-west-2"]
    rows = {row["digest"]: row for row in frame.to_dict("records")}
    assert rows[old][f"{ACCOUNT}/eu-west-1"] == ""
    assert rows[new][f"{ACCOUNT}/eu-west-1"] == "COMPLETE"
    assert rows[new][f"{OTHER}/us-west-2"] == "FAILED (ReplicateImageAccessDenied)"
    diagram = replication.topology_mermaid(registry)
    assert diagram.splitlines()[0] == "flowchart LR"
    assert 'src["us-east-1 (source)"]' in diagram and f'subgraph a{OTHER}["account {OTHER}"]' in diagram
    assert f'src -->|"rule 2: all repositories"| r_{OTHER}_us_west_2' in diagram
    shown = replication.show_topology(ReplicationSpec((rule("eu-west-1", prefixes=("prod/",), deletes=True),)))
    assert shown.data.startswith("```mermaid\n") and "rule 1: prod/* + deletes" in shown.data


@pytest.mark.parametrize(
    ("spec", "verdict"),
    [
        (None, "Not yet: set my_spec"),
        (
            ReplicationSpec((rule("eu-west-1", f"{OTHER}/us-west-2", prefixes=("prod",), deletes=True),)),
            "'prod' matches",
        ),
        (ReplicationSpec((rule("eu-west-1", f"{OTHER}/us-west-2", prefixes=("prod/",), deletes=True),)), "DR"),
        (
            ReplicationSpec(
                (rule("eu-west-1", prefixes=("prod/",), deletes=True), rule(f"{OTHER}/us-west-2", prefixes=("prod/",)))
            ),
            "Right",
        ),
    ],
)
def test_exercise_check(spec, verdict):
    assert verdict in check_prod_replication(spec)


def test_panel_builds_rules_checks_quotas_inline_and_applies(registry):
    panel = ReplicationPanel(registry)
    panel.form.inputs["destinations"].value = "eu-west-1\nNowhere"
    assert "AWS region" in panel.form.errors["destinations"].value
    assert panel.form.inputs["destinations"].layout.border == INVALID_BORDER
    panel.form.inputs["destinations"].value = "eu-west-1"
    panel.form.inputs["prefixes"].value = "prod/"
    panel.form.inputs["delete_replication"].value = True
    panel.add_rule()
    panel.form.inputs["destinations"].value = f"{OTHER}/us-west-2"
    assert "2/25 rules" in panel.quota.value and "1/100 destinations in this rule" in panel.quota.value
    panel.form.runbook_button.click()  # two rules: rule 1 in destinations, rule 2 in rules
    assert (
        "rules=[{" in html.unescape(panel.form.commands.value) and "remove_unlisted=true" in panel.form.commands.value
    )
    panel.form.plan_button.click()
    panel.form.apply_button.click()
    assert "Applied 1 change(s)" in panel.form.result.value
    assert replication.read(registry) == ReplicationSpec(
        (rule("eu-west-1", prefixes=("prod/",), deletes=True), rule(f"{OTHER}/us-west-2"))
    )
    panel.rule.value = "Rule 1"
    assert panel.form.inputs["prefixes"].value == "prod/"
    panel.remove_rule()
    panel.form.runbook_button.click()
    assert "ecrlab run replication --target aws" in panel.form.commands.value
    assert f"destinations=[&quot;{OTHER}/us-west-2&quot;]" in panel.form.commands.value


def test_panel_status_view_shows_every_destination(registry):
    registry.client().create_repository(repositoryName="app")
    apply(replication.plan(registry, ReplicationSpec((rule("eu-west-1"),))), registry, dry_run=False)
    put(registry, "app", "v1")
    panel = ReplicationPanel(registry)
    panel.status_button.click()
    assert "IN_PROGRESS" in panel.status.value
    registry.emulator.settle()
    panel.status_button.click()
    assert "COMPLETE" in panel.status.value and f"{ACCOUNT}/eu-west-1" in panel.status.value
