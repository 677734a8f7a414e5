"""The registry policy of a live registry: plan/apply/backup, intents, what_can, the panel widget, the exercise."""

from __future__ import annotations

import pytest

from ecrlab import principals
from ecrlab.exercises import check_only_ci_deletes
from ecrlab.permissions import RegistryPolicy, restrict_repository_admin
from ecrlab.permissions import registry_policy as live
from ecrlab.plan import apply, restore
from ecrlab.widgets.permissions_panel import PermissionsPanel

ACCOUNT = "123456789012"
DEVOPS = f"arn:aws:iam::{ACCOUNT}:role/devops-role"


def test_plan_apply_backup_and_restore_of_the_registry_policy(registry):
    first = live.from_intents(ACCOUNT, "us-east-1", replication_sources=["444455556666"])
    apply(live.plan(registry, first), registry, dry_run=False)
    assert live.read(registry) == first
    text_before = registry.client().get_registry_policy()["policyText"]
    second = live.from_intents(ACCOUNT, "us-east-1", admin_principals=[DEVOPS])
    plan = live.plan(registry, second)
    # The policy is shared: the second intent adds its statement and keeps the first one.
    assert [(p.action, p.key) for p in plan.changes[0].parts] == [("create", f"Sid {second.statements[0].sid}")]
    assert plan.changes[0].kept == 1 and "1 statement(s) of others kept" in plan.to_text()
    result = apply(plan, registry, dry_run=False)
    assert result.backup["settings"][0]["value"] == text_before
    assert [s.sid for s in live.read(registry).statements] == [first.statements[0].sid, second.statements[0].sid]
    assert live.plan(registry, second).empty
    restore(registry, result.backup, dry_run=False)
    assert registry.client().get_registry_policy()["policyText"] == text_before  # byte for byte
    assert live.plan(registry, None).empty  # no policy asked for is no change, not "delete everything"
    apply(live.plan(registry, None, remove_unlisted=True), registry, dry_run=False)
    assert live.read(registry) is None


def test_from_intents_without_intents_is_no_policy():
    assert live.from_intents(ACCOUNT, "us-east-1") is None


def test_what_can_reads_live_identity_and_registry_policies(registry):
    principals.act_as_role(registry, "dev-role")
    principals.act_as_role(registry, "devops-role")
    registry.client().put_registry_policy(policyText=restrict_repository_admin(ACCOUNT, [DEVOPS]).to_json())
    table = live.what_can(
        registry, [principals.role_arn(registry, "dev-role"), DEVOPS], ["ecr:CreateRepository", "ecr:DescribeRegistry"]
    )
    roles = table["principal"].str.rsplit("/", n=1).str[-1]
    decisions = {
        (role, action): decision
        for role, action, decision in zip(roles, table["action"], table["decision"], strict=True)
    }
    assert decisions == {
        ("dev-role", "ecr:CreateRepository"): "ExplicitlyDenied",
        ("dev-role", "ecr:DescribeRegistry"): "Allowed",
        ("devops-role", "ecr:CreateRepository"): "Allowed",
        ("devops-role", "ecr:DescribeRegistry"): "Allowed",
    }
    assert table.loc[0, "resource"].endswith(":repository/new-app")
    assert table.loc[1, "resource"] == "*"


def test_panel_plans_lints_applies_and_decides(registry):
    principals.act_as_role(registry, "dev-role")
    panel = PermissionsPanel(registry)
    panel.form.plan_button.click()
    assert "at least one intent" in panel.form.errors["admin_principals"].value
    panel.form.inputs["admin_principals"].value = DEVOPS
    panel.form.plan_button.click()
    assert '"Effect": "Deny"' in panel.policy_json.value and "No lint findings" in panel.lint_view.value
    panel.form.apply_button.click()  # devops-role does not exist yet: nobody could administer repositories
    assert "admins-locked-out" in panel.form.result.value and "Nothing was written" in panel.form.result.value
    assert live.read(registry) is None
    principals.act_as_role(registry, "devops-role")
    panel.form.plan_button.click()
    assert "allow → DENY" in panel.preview_view.value and "background:#fff3cd" in panel.preview_view.value
    panel.form.apply_button.click()
    assert "Applied 1 change(s)" in panel.form.result.value
    panel.decide()
    assert "ExplicitlyDenied" in panel.decision.value
    panel.policy_json.value = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
        '"Action": "ecr:NoSuchThing", "Resource": "*"}]}'
    )
    assert "error" in panel.lint_view.value and "NoSuchThing" in panel.lint_view.value
    panel.principal.value = "not-an-arn"
    panel.decide()
    assert "is invalid" in panel.decision.value or "not" in panel.decision.value


def test_exercise_check_says_right_and_wrong():
    assert check_only_ci_deletes(None).startswith("Not yet")
    allow_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci-role"},
                "Action": "ecr:DeleteRepository",
                "Resource": "*",
            }
        ],
    }
    assert "dev-role must not perform ecr:DeleteRepository" in check_only_ci_deletes(allow_only)
    solution = restrict_repository_admin(
        ACCOUNT, [f"arn:aws:iam::{ACCOUNT}:role/ci-role"], actions=("ecr:DeleteRepository",)
    )
    assert check_only_ci_deletes(solution.to_dict()).startswith("Right")
    assert isinstance(solution, RegistryPolicy)


def test_panel_copies_its_configuration_as_runbook_commands(registry):
    panel = PermissionsPanel(registry)
    panel.form.inputs["admin_principals"].value = "arn:aws:iam::123456789012:role/platform-admin"
    panel.form.inputs["replication_sources"].value = "444455556666"
    run, paper = panel.form.show_commands()
    assert run == (
        "ecrlab run permissions --target aws --region us-east-1 "
        "-p 'admin_roles=[\"arn:aws:iam::123456789012:role/platform-admin\"]' "
        "-p 'replication_source_accounts=[\"444455556666\"]' -p 'pull_through_cache_roles=[]' "
        "-p pull_through_cache_prefix=ROOT"
    )
    assert paper.startswith("papermill notebooks/01_registry_permissions.ipynb out.ipynb -p target aws")
    assert "--expected-account-id" in panel.form.commands.value


@pytest.mark.slow  # two notebook runs
def test_the_runbook_refuses_a_lockout_with_exit_3_and_writes_it_with_force(aws_env, tmp_path):
    """Naming an admin role that does not exist would leave nobody able to create or delete repositories."""
    import subprocess

    import ecrlab
    from ecrlab.runs import records
    from tests.conftest import BIN

    args = ["run", "permissions", "--target", "aws", "-p", 'admin_roles=["platform-admin"]', "--apply"]
    args += ["--expected-account-id", ACCOUNT, "--output", str(tmp_path)]

    def ecrlab_run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "ecrlab"), *args, *extra], capture_output=True, text=True, timeout=300)

    refused = ecrlab_run()
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "admins-locked-out" in refused.stdout and "Nothing was written" in refused.stdout
    operator = ecrlab.connect(endpoint_url=aws_env)
    assert live.read(operator) is None
    (record,) = records(str(tmp_path))
    assert record["outcome"] == "refused" and record["previews"]["registry_policy_preview"]["changed_cells"] > 0
    forced = ecrlab_run("--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert live.read(operator) is not None
