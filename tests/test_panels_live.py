"""Panels open with the live state, Refresh re-reads it after other cells change the registry, and Apply
leaves the fields showing what the registry holds afterwards."""

from __future__ import annotations

from ecrlab import replication, scanning
from ecrlab.permissions import registry_policy
from ecrlab.plan import apply
from ecrlab.replication import ReplicationSpec
from ecrlab.widgets.permissions_panel import PermissionsPanel
from ecrlab.widgets.replication_panel import ReplicationPanel
from ecrlab.widgets.scanning_panel import ScanningPanel


def test_scanning_panel_opens_live_and_refreshes_after_a_later_cell(registry) -> None:
    apply(scanning.plan(registry, scanning.ScanningSpec("BASIC", on_push=["prod*"])), registry, dry_run=False)
    panel = ScanningPanel(registry, repository_names=["prod-api", "dev"])
    assert panel.form.inputs["on_push"].value == "prod*"
    # a later cell changes the registry behind the panel's back
    later = scanning.ScanningSpec("BASIC", on_push=["*-release"])
    apply(scanning.plan(registry, later, remove_unlisted=True), registry, dry_run=False)
    assert panel.form.inputs["on_push"].value == "prod*"
    panel.form.refresh_button.click()
    assert panel.form.inputs["on_push"].value == "*-release"
    assert "live state" in panel.form.result.value


def test_replication_panel_refreshes_every_rule_and_shows_them_after_apply(registry) -> None:
    panel = ReplicationPanel(registry)
    assert panel.form.inputs["destinations"].value == ""
    two = ReplicationSpec(
        (
            replication.ReplicationRule.parse(registry.account_id, ["eu-west-1"], ["prod/"], True),
            replication.ReplicationRule.parse(registry.account_id, ["444455556666/us-west-2"], ["prod/"], False),
        )
    )
    apply(replication.plan(registry, two), registry, dry_run=False)
    panel.form.refresh_button.click()
    assert panel.rule.options == ("Rule 1", "Rule 2")
    assert panel.form.inputs["destinations"].value == "eu-west-1"
    panel.rule.value = "Rule 2"
    assert panel.form.inputs["destinations"].value == "444455556666/us-west-2"
    assert panel.form.inputs["delete_replication"].value is False
    # edit rule 2 in the panel and apply: the fields show the re-read registry, and the other rule is intact
    panel.form.inputs["prefixes"].value = "prod/\nrelease/"
    panel.form.plan_button.click()
    panel.form.apply_button.click()
    assert "Applied 1 change(s)" in panel.form.result.value
    live = replication.read(registry)
    assert [rule.prefixes for rule in live.rules] == [("prod/",), ("prod/", "release/")]
    assert panel.rule.value == "Rule 1" and panel.form.inputs["destinations"].value == "eu-west-1"


def test_permissions_panel_opens_with_the_live_policy(registry) -> None:
    assert PermissionsPanel(registry).policy_json.value == ""
    policy = registry_policy.from_intents(
        registry.account_id, registry.region, admin_principals=[f"arn:aws:iam::{registry.account_id}:role/ci"]
    )
    apply(registry_policy.plan(registry, policy), registry, dry_run=False)
    panel = PermissionsPanel(registry)
    assert "DenyRepositoryAdminExceptListed" in panel.policy_json.value
    assert "live registry policy" in panel.live_note.value
