"""The registry baseline: five features as one plan, one apply, and a compliance report."""

from __future__ import annotations

from ecrlab.baseline import COMPLIANCE_COLUMNS, Baseline, compliance
from ecrlab.parameters import runbook
from ecrlab.plan import apply, restore


def defaults(registry) -> Baseline:
    return Baseline.from_parameters(runbook("baseline").validate({}), registry)


def test_one_plan_covers_every_feature_and_templates_come_first(registry):
    plan = defaults(registry).plan(registry)
    kinds = [change.setting.kind for change in plan.changes]
    assert kinds == [
        "creation-template",
        "registry-policy",
        "pull-through-cache-rule",
        "scanning-configuration",
        "sqs-queue",
        "eventbridge-rule",
        "replication-configuration",
    ]


def test_apply_makes_everything_compliant_and_restore_undoes_it(registry):
    baseline = defaults(registry)
    before = compliance(registry, baseline)
    assert list(before.columns) == COMPLIANCE_COLUMNS and not before["compliant"].any()
    result = apply(baseline.plan(registry), registry, dry_run=False)
    assert result.verified and compliance(registry, baseline)["compliant"].all()
    assert baseline.plan(registry).empty
    restore(registry, result.backup, dry_run=False)
    assert registry.client().describe_repository_creation_templates()["repositoryCreationTemplates"] == []
    assert not compliance(registry, baseline)["compliant"].any()


def test_a_part_left_empty_is_not_managed(registry):
    plan = Baseline().plan(registry)
    assert plan.empty and plan.checked == ()


def test_baseline_sets_signing_and_pull_time_exclusions_only_when_asked(registry):
    """The 2025-26 settings (issue 20): a baseline signs pushes with a named profile and excludes scanner roles,
    keeping another team's exclusion; by default it leaves both alone."""
    ecr = registry.client()
    other = f"arn:aws:iam::{registry.account_id}:role/other-teams-scanner"
    ecr.register_pull_time_update_exclusion(principalArn=other)
    plain = defaults(registry).plan(registry)
    assert {"signing-configuration", "pull-time-update-exclusion"}.isdisjoint(c.setting.kind for c in plain.changes)
    params = runbook("baseline").validate({"signing_profile": "release", "pull_time_update_exclusions": ["scanner"]})
    baseline = Baseline.from_parameters(params, registry)
    apply(baseline.plan(registry), registry, dry_run=False)
    rules = ecr.get_signing_configuration()["signingConfiguration"]["rules"]
    profile = f"arn:aws:signer:{registry.region}:{registry.account_id}:/signing-profiles/release"
    assert [rule["signingProfileArn"] for rule in rules] == [profile]
    listed = ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"]
    assert sorted(listed) == sorted([other, f"arn:aws:iam::{registry.account_id}:role/scanner"])
