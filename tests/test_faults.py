"""Applies survive throttling and 5xx (botocore standard retries) and report change by change when they cannot."""

from __future__ import annotations

import pytest

from ecrlab.account_settings import AccountSettings
from ecrlab.account_settings import plan as settings_plan
from ecrlab.errors import ApplyError
from ecrlab.plan import apply


def test_throttling_during_apply_is_retried(registry):
    assert registry.emulator.inject_fault("PutAccountSetting", "ThrottlingException", 2) == {"PutAccountSetting": 2}
    result = apply(settings_plan(registry, AccountSettings(blob_mounting="ENABLED")), registry, dry_run=False)
    assert result.verified and registry.emulator.pending_faults() == {}


def test_server_errors_during_apply_are_retried(registry):
    registry.emulator.inject_fault("PutAccountSetting", "ServiceUnavailable", 1)
    registry.emulator.inject_fault("GetAccountSetting", "InternalFailure", 1)
    result = apply(settings_plan(registry, AccountSettings(registry_policy_scope="V1")), registry, dry_run=False)
    assert result.verified and registry.emulator.pending_faults() == {}


def test_persistent_failure_mid_apply_names_what_was_and_was_not_applied(registry):
    spec = AccountSettings(registry_policy_scope="V1", blob_mounting="ENABLED")
    plan = settings_plan(registry, spec)
    assert [c.setting.key for c in plan.changes] == ["REGISTRY_POLICY_SCOPE", "BLOB_MOUNTING"]
    # Fail only the second write, more times than the client retries.
    registry.emulator.inject_fault("PutAccountSetting", "ValidationException", 1)
    with pytest.raises(ApplyError) as excinfo:
        apply(plan, registry, dry_run=False)
    assert excinfo.value.applied == [] and excinfo.value.failed.setting.key == "REGISTRY_POLICY_SCOPE"
    assert [c.setting.key for c in excinfo.value.pending] == ["BLOB_MOUNTING"]
    assert "not applied: ['account-setting/BLOB_MOUNTING']" in str(excinfo.value)


def test_reset_clears_faults(registry):
    registry.emulator.inject_fault("DescribeRepositories", count=3)
    registry.emulator.reset()
    assert registry.emulator.pending_faults() == {}


def test_quota_errors_are_answered_at_once_not_retried_as_throttling(registry):
    from botocore.exceptions import ClientError

    registry.emulator.inject_fault("DescribeRegistry", "LimitExceededException", 5)
    with pytest.raises(ClientError) as excinfo:
        registry.client().describe_registry()
    assert excinfo.value.response["Error"]["Code"] == "LimitExceededException"
    assert excinfo.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert registry.emulator.pending_faults() == {"DescribeRegistry": 4}
