"""The plan/apply engine: dry run, guard, backup, verification, partial failure, restore."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecrlab import repositories
from ecrlab.errors import ApplyError, GuardError, VerificationError
from ecrlab.plan import Plan, Setting, apply, make_plan, restore
from ecrlab.repositories import RepositorySpec


def names(registry) -> list[str]:
    return sorted(r["repositoryName"] for r in registry.client().describe_repositories()["repositories"])


def test_plan_lists_changes_and_renders(registry):
    registry.client().create_repository(repositoryName="app", imageTagMutability="MUTABLE")
    plan = repositories.plan(registry, RepositorySpec("app", "IMMUTABLE"), RepositorySpec("new"))
    assert [(c.action, c.setting.address) for c in plan.changes] == [
        ("update", "repository/app"),
        ("create", "repository/new"),
    ]
    text = plan.to_text()
    assert "~ update repository/app" in text and "+ create repository/new" in text
    assert '"MUTABLE"' in text and "<table>" in plan._repr_html_()


def test_dry_run_is_default_and_writes_nothing(registry):
    plan = repositories.plan(registry, RepositorySpec("app"))
    result = apply(plan, registry)
    assert result.dry_run and result.applied == []
    assert names(registry) == []


def test_apply_writes_verifies_and_is_idempotent(registry, tmp_path):
    spec = RepositorySpec("app", "IMMUTABLE")
    result = apply(repositories.plan(registry, spec), registry, dry_run=False, backup_dir=tmp_path)
    assert result.verified and names(registry) == ["app"]
    assert json.loads(result.backup_path.read_text())["settings"] == [
        {
            "kind": "repository",
            "key": "app",
            "value": None,
            "after": {"imageTagMutability": "IMMUTABLE", "encryptionType": "AES256"},
        }
    ]
    assert repositories.plan(registry, spec).empty


def test_wrong_expected_account_refuses_before_any_write(registry):
    plan = repositories.plan(registry, RepositorySpec("app"))
    with pytest.raises(GuardError, match="expected_account_id is 999999999999"):
        apply(plan, registry, dry_run=False, expected_account_id="999999999999")
    assert names(registry) == []


def test_aws_writes_need_expected_account(aws_env):
    import ecrlab

    reg = ecrlab.connect("aws", region="us-east-1")
    plan = repositories.plan(reg, RepositorySpec("app"))
    with pytest.raises(GuardError, match="needs expected_account_id"):
        apply(plan, reg, dry_run=False)
    assert apply(plan, reg, dry_run=False, expected_account_id=reg.account_id).verified


def test_plan_for_another_region_is_refused(registry):
    plan = repositories.plan(registry, RepositorySpec("app"))
    with pytest.raises(GuardError, match="made for 123456789012/us-east-1"):
        apply(plan, registry.in_region("eu-west-1"), dry_run=False)


def test_stale_plan_is_refused(registry):
    plan = repositories.plan(registry, RepositorySpec("app"))
    registry.client().create_repository(repositoryName="app")
    with pytest.raises(GuardError, match="changed since the plan was made"):
        apply(plan, registry, dry_run=False)


def test_failure_mid_apply_reports_change_by_change(registry):
    registry.client().create_repository(repositoryName="kms", encryptionConfiguration={"encryptionType": "KMS"})
    plan = repositories.plan(registry, RepositorySpec("first"), RepositorySpec("kms"), RepositorySpec("last"))
    with pytest.raises(ApplyError) as excinfo:
        apply(plan, registry, dry_run=False)
    error = excinfo.value
    assert [c.setting.key for c in error.applied] == ["first"]
    assert error.failed.setting.key == "kms"
    assert [c.setting.key for c in error.pending] == ["last"]
    assert "encryption cannot change" in str(error)
    assert names(registry) == ["first", "kms"]


def test_verification_catches_a_write_that_did_not_stick(registry):
    store: dict[str, Any] = {"value": "a"}
    sticky = Setting("demo", "x", lambda reg: store["value"], lambda reg, value: None)
    with pytest.raises(VerificationError, match='demo/x reads "a" after apply'):
        apply(make_plan(registry, [(sticky, "b")]), registry, dry_run=False)


def test_restore_puts_back_exactly_what_was_overwritten(registry):
    ecr = registry.client()
    ecr.create_repository(repositoryName="app", imageTagMutability="MUTABLE")
    result = apply(
        repositories.plan(registry, RepositorySpec("app", "IMMUTABLE"), RepositorySpec("extra")),
        registry,
        dry_run=False,
    )
    rollback = restore(registry, result.backup, dry_run=False)
    assert {c.setting.key: c.action for c in rollback.applied} == {"app": "update", "extra": "delete"}
    assert names(registry) == ["app"]
    assert ecr.describe_repositories()["repositories"][0]["imageTagMutability"] == "MUTABLE"


def test_restore_refuses_a_backup_of_another_registry(registry):
    backup = {"account_id": "111122223333", "region": "us-east-1", "settings": []}
    with pytest.raises(GuardError, match="backup is of 111122223333"):
        restore(registry, backup)


def test_empty_plan_says_so():
    assert "no changes" in Plan("123456789012", "us-east-1", ()).to_text()


def test_combined_plans_apply_in_order_and_keep_every_checked_setting(registry):
    from ecrlab import account_settings
    from ecrlab.plan import combine

    registry.client().create_repository(repositoryName="kept")
    settings = account_settings.plan(registry, account_settings.AccountSettings(blob_mounting="ENABLED"))
    repos = repositories.plan(registry, RepositorySpec("kept"), RepositorySpec("new"))
    both = combine(settings, repos)
    assert [c.setting.address for c in both.changes] == ["account-setting/BLOB_MOUNTING", "repository/new"]
    assert both.checked == ("account-setting/BLOB_MOUNTING", "repository/kept", "repository/new")
    apply(both, registry, dry_run=False)
    assert combine(
        account_settings.plan(registry, account_settings.AccountSettings(blob_mounting="ENABLED")),
        repositories.plan(registry, RepositorySpec("new")),
    ).empty


def test_plans_of_different_registries_do_not_combine(registry):
    from ecrlab.plan import combine

    here = repositories.plan(registry, RepositorySpec("app"))
    there = repositories.plan(registry.in_region("eu-west-1"), RepositorySpec("app"))
    with pytest.raises(GuardError, match="different registries"):
        combine(here, there)
