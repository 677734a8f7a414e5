"""Account settings and the registry-policy scope, through boto3 against the emulator."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ecrlab import account_settings
from ecrlab.errors import ValidationError


def policy(*actions: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Admins",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:role/devops-role"},
                    "Action": list(actions),
                    "Resource": "*",
                }
            ],
        }
    )


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_new_registry_has_documented_defaults(registry):
    ecr = registry.client()
    values = {
        name: ecr.get_account_setting(name=name)["value"]
        for name in ("REGISTRY_POLICY_SCOPE", "BASIC_SCAN_TYPE_VERSION", "BLOB_MOUNTING")
    }
    assert values == {
        "REGISTRY_POLICY_SCOPE": "V2",
        "BASIC_SCAN_TYPE_VERSION": "AWS_NATIVE",
        "BLOB_MOUNTING": "DISABLED",
    }


def test_put_then_get_round_trips_and_is_per_region(registry):
    ecr = registry.client()
    assert ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")["value"] == "ENABLED"
    assert ecr.get_account_setting(name="BLOB_MOUNTING")["value"] == "ENABLED"
    other = registry.client(region="eu-west-1")
    assert other.get_account_setting(name="BLOB_MOUNTING")["value"] == "DISABLED"


@pytest.mark.parametrize(
    ("name", "value"),
    [("REGISTRY_POLICY_SCOPE", "V3"), ("BLOB_MOUNTING", "on"), ("BASIC_SCAN_TYPE_VERSION", "CLAIR")],
)
def test_bad_values_get_invalid_parameter(registry, name, value):
    with pytest.raises(ClientError) as excinfo:
        registry.client().put_account_setting(name=name, value=value)
    assert error_code(excinfo) == "InvalidParameterException"
    assert name in str(excinfo.value)


def test_unknown_setting_name_is_invalid_parameter(registry):
    with pytest.raises(ClientError) as excinfo:
        registry.client().get_account_setting(name="SCAN_ON_PUSH")
    assert error_code(excinfo) == "InvalidParameterException"


def test_model_limits_are_enforced_server_side(registry):
    # botocore checks minimum lengths on the client; the maximum of 64 is the server's job.
    with pytest.raises(ClientError) as excinfo:
        registry.client().get_account_setting(name="X" * 65)
    assert error_code(excinfo) == "ValidationException"
    assert "Member must have length less than or equal to 64" in str(excinfo.value)


def test_v2_accepts_any_ecr_action(registry):
    ecr = registry.client()
    ecr.put_registry_policy(
        policyText=policy(
            "ecr:CreateRepository",
            "ecr:DeleteRepository",
            "ecr:PutRegistryPolicy",
            "ecr:BatchImportUpstreamImage",
        )
    )
    assert "ecr:PutRegistryPolicy" in ecr.get_registry_policy()["policyText"]


def test_v1_rejects_other_actions_with_aws_message(registry):
    ecr = registry.client()
    ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    with pytest.raises(ClientError) as excinfo:
        ecr.put_registry_policy(policyText=policy("ecr:CreateRepository", "ecr:DeleteRepository"))
    assert error_code(excinfo) == "InvalidParameterException"
    assert "'Invalid registry policy provided'" in str(excinfo.value)
    ecr.put_registry_policy(
        policyText=policy("ecr:ReplicateImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
    )


def test_v1_accepts_ecr_star_as_the_v1_era_guide_says(registry):
    """registry-permissions.html (V1 era, quoted at repost.aws QUotxPDrRVT2ikDhEV92zQwA): "While it is possible to
    add the ecr:* action to a private registry permissions policy, it is considered best practice to only add the
    specific actions required". Under V1 ecr:* is still enforced only for the three V1 actions."""
    ecr = registry.client()
    ecr.put_account_setting(name="REGISTRY_POLICY_SCOPE", value="V1")
    ecr.put_registry_policy(policyText=policy("ecr:*"))
    assert '"ecr:*"' in ecr.get_registry_policy()["policyText"]


def test_non_ecr_actions_are_rejected_under_both_scopes(registry):
    with pytest.raises(ClientError):
        registry.client().put_registry_policy(policyText=policy("s3:GetObject"))


def test_spec_read_and_plan(registry):
    assert account_settings.read(registry).registry_policy_scope == "V2"
    plan = account_settings.plan(registry, account_settings.AccountSettings(registry_policy_scope="V1"))
    assert [(c.action, c.setting.address, c.before, c.after) for c in plan.changes] == [
        ("update", "account-setting/REGISTRY_POLICY_SCOPE", "V2", "V1")
    ]
    assert account_settings.plan(registry, account_settings.AccountSettings(blob_mounting="DISABLED")).empty


def test_spec_rejects_bad_value_naming_the_field():
    with pytest.raises(ValidationError) as excinfo:
        account_settings.AccountSettings(registry_policy_scope="v2")
    assert excinfo.value.field == "registry_policy_scope"
    assert "V1, V2" in excinfo.value.rule
