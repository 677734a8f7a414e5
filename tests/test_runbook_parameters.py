"""Every runbook refuses a bad parameter of each kind before any cell runs: exit 2, one line naming the parameter.

The rules come from AWS, not from ecrlab: region names from botocore's endpoint data, names and prefixes from the
patterns of botocore's ECR model, ARNs from IAM's ARN format, account ids are 12 digits.
"""

from __future__ import annotations

import subprocess

import botocore.session
import pytest

from ecrlab import cli, runs
from ecrlab.parameters import RUNBOOKS
from tests.conftest import BIN

PTC_RULE = '{"ecr_repository_prefix": "docker", "upstream_registry_url": "public.ecr.aws"}'

# feature -> (parameter value given with -p, parameter the error must name, words of the rule it must state)
BAD = {
    "start-here": [
        ("region=moon-1", "region", "AWS region"),
        ("expected_account_id=1234", "expected_account_id", "12-digit"),
        ("assume_role_arn=arn:aws:iam::123456789012:user/alice", "assume_role_arn", "role ARN"),
        ("apply=maybe", "apply", "True or False"),
    ],
    "permissions": [
        ('admin_roles=["has space"]', "admin_roles", "role name or ARN"),
        ('admin_roles="devops-role"', "admin_roles", "JSON list of strings"),
        ('replication_source_accounts=["1234"]', "replication_source_accounts", "12-digit"),
        ('pull_through_cache_roles=["bad role"]', "pull_through_cache_roles", "role name or ARN"),
        ("pull_through_cache_prefix=Docker!", "pull_through_cache_prefix", "lowercase letters"),
    ],
    "pull-through-cache": [
        ('rules=[{"bogus": 1}]', "rules", "unknown field bogus"),
        ('rules=["docker"]', "rules", "JSON list of objects"),
        ('rules=[{"ecr_repository_prefix": "docker"}]', "rules", "lacks upstream_registry_url"),
        (
            'rules=[{"ecr_repository_prefix": "D", "upstream_registry_url": "public.ecr.aws"}]',
            "rules",
            "ROOT, or 2 to 30",
        ),
        (
            'rules=[{"ecr_repository_prefix": "hub", "upstream_registry_url": "registry-1.docker.io", '
            '"credential_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:other"}]',
            "rules",
            "credential_arn",
        ),
        ("delete_other_rules=sometimes", "delete_other_rules", "True or False"),
    ],
    "templates": [
        ("prefix=Apps!", "prefix", "lowercase letters"),
        ('applied_for=["ON_MONDAYS"]', "applied_for", "enum value set"),
        ('resource_tags=["team"]', "resource_tags", "JSON object of strings"),
        ("kms_key=my-key", "kms_key", "regular expression"),
        ("custom_role_arn=no spaces allowed", "custom_role_arn", "role name or ARN"),
        ("image_tag_mutability=SOMETIMES", "image_tag_mutability", "must be one of"),
        ("repository_policy={not json", "repository_policy", "JSON"),
    ],
    "replication": [
        ('destinations=["moon-1"]', "destinations", "AWS region"),
        ('destinations=["1234/eu-west-1"]', "destinations", "12 digits"),
        ("destinations=eu-west-1", "destinations", "must be JSON"),
        ('repository_prefixes=["Shop Api"]', "repository_prefixes", "2 to 256 characters"),
        ("delete_replication=yes", "delete_replication", "True or False"),
    ],
    "scanning": [
        ('scan_on_push_filters=["Prod Api"]', "scan_on_push_filters", "lowercase letters"),
        ('continuous_filters=["Prod Api"]', "continuous_filters", "lowercase letters"),
        ("scan_type=DEEP", "scan_type", "must be one of"),
        ("alert_target=email", "alert_target", "must be one of"),
        ("alert_name=critical.findings", "alert_name", "letters, digits, hyphens or underscores"),  # no dot in SQS
        (f"alert_name={'a' * 65}", "alert_name", "1 to 64"),
    ],
    "baseline": [
        ("template_prefix=Apps!", "template_prefix", "lowercase letters"),
        ('template_applied_for=["ON_MONDAYS"]', "template_applied_for", "enum value set"),
        ('pull_through_cache_rules=[{"bogus": 1}]', "pull_through_cache_rules", "unknown field bogus"),
        ('scan_on_push_filters=["Prod Api"]', "scan_on_push_filters", "lowercase letters"),
        ('admin_roles=["bad role"]', "admin_roles", "role name or ARN"),
        ('replication_destinations=["moon-1"]', "replication_destinations", "AWS region"),
        ('replication_source_accounts=["1234"]', "replication_source_accounts", "12-digit"),
        ('pull_through_cache_roles=["bad role"]', "pull_through_cache_roles", "role name or ARN"),
        ("signing_profile=bad/profile", "signing_profile", "regular expression"),
        ('pull_time_update_exclusions=["bad role"]', "pull_time_update_exclusions", "role name or ARN"),
    ],
    # AWS Signer profile names: 2+ letters, digits or underscores (botocore's SigningProfileArn pattern).
    "signing": [
        ("signing_profile=bad/profile", "signing_profile", "regular expression"),
        ('repository_filters="prod"', "repository_filters", "JSON list of strings"),
        # A rule to take out is refused naming the rule and its field.
        (
            'remove_rules=[{"signing_profile": "bad/profile"}]',
            "remove_rules",
            "{'signing_profile': 'bad/profile'} is invalid: signing_profile",
        ),
        (
            'remove_rules=[{"signing_profile": "release", "repository_filters": ["Shop Api"]}]',
            "remove_rules",
            "is invalid: repository_filters",
        ),
        ('remove_rules=[{"profile": "release"}]', "remove_rules", "unknown field profile"),
        ('remove_rules=[{"repository_filters": []}]', "remove_rules", "signing_profile must be"),
        ('remove_rules=["release"]', "remove_rules", "JSON list of objects"),
    ],
    # The archive class keeps an image at least 90 days (ECR user guide, "Archiving images").
    "archive": [
        ("delete_after_days=30", "delete_after_days", "at least 90"),
        ("archive_after_days=soon", "archive_after_days", "whole number"),
        ('repositories=["Shop Api"]', "repositories", "lowercase letters"),
        ("since=never", "since", "must be one of"),
    ],
    "pull-time-exclusions": [
        ('excluded_roles=["bad role"]', "excluded_roles", "role"),
        ("deregister_others=maybe", "deregister_others", "True or False"),
    ],
}


def test_every_runbook_has_bad_values_listed():
    assert set(BAD) == set(RUNBOOKS)


@pytest.fixture
def no_execution(monkeypatch):
    """Fail the test if a notebook would be executed."""

    def refuse(*args, **kwargs):
        raise AssertionError("a notebook was executed despite a bad parameter")

    monkeypatch.setattr(runs, "execute", refuse)


@pytest.mark.parametrize(
    ("feature", "param", "name", "rule"),
    [(feature, *case) for feature, cases in BAD.items() for case in cases],
    ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None,
)
def test_bad_parameter_exits_2_naming_it_before_anything_runs(
    feature, param, name, rule, no_execution, tmp_path, capsys
):
    code = cli.main(["run", feature, "-p", param, "--output", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith(f"ecrlab: {name}: "), err
    assert rule in err, err
    assert not list((tmp_path / "runs").glob("*")) if (tmp_path / "runs").exists() else True


@pytest.mark.parametrize("feature", list(RUNBOOKS))
def test_defaults_pass_every_check(feature):
    RUNBOOKS[feature].validate({})


def test_good_values_of_each_shape_pass():
    RUNBOOKS["pull-through-cache"].validate({"rules": f"[{PTC_RULE}]"})
    RUNBOOKS["replication"].validate(
        {"destinations": '["eu-west-1", "444455556666/us-west-2"]', "repository_prefixes": '["shop/"]'}
    )
    RUNBOOKS["templates"].validate({"resource_tags": '{"team": "platform"}', "custom_role_arn": "ecr-template-role"})
    RUNBOOKS["permissions"].validate(
        {
            "admin_roles": '["arn:aws:iam::111122223333:role/platform-admin"]',
            "replication_source_accounts": '["444455556666"]',
        }
    )


def test_the_installed_command_refuses_a_region_that_is_not_one(tmp_path):
    proc = subprocess.run(
        [str(BIN / "ecrlab"), "run", "replication", "-p", 'destinations=["moon-1"]', "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr == "ecrlab: destinations: 'moon-1' is invalid: must be an AWS region such as eu-west-1\n"
    assert list(tmp_path.iterdir()) == []


def test_an_alert_name_is_as_long_as_eventbridge_allows_and_spelled_as_sqs_and_sns_allow():
    rule_name = botocore.session.get_session().get_service_model("events").shape_for("RuleName").metadata
    longest = "a" * rule_name["max"]
    assert RUNBOOKS["scanning"].validate({"alert_name": longest})["alert_name"] == longest
    assert RUNBOOKS["scanning"].validate({"alert_name": "team_c-critical"})["alert_name"] == "team_c-critical"
