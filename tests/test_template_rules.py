"""Which creation template applies: the most specific prefix, ROOT as fallback, appliedFor with the reason."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ecrlab.template_rules import creation_needs_role, matches, resolve, template_problem

ALL = ("PULL_THROUGH_CACHE", "REPLICATION", "CREATE_ON_PUSH")


@dataclass(frozen=True)
class T:
    prefix: str
    applied_for: tuple[str, ...] = ALL


@pytest.mark.parametrize(
    ("prefix", "name", "covered"),
    [
        ("prod", "prod/app", True),
        ("prod", "prod/team/app", True),
        ("prod/", "prod/app", True),
        ("prod", "prod", False),
        ("prod", "products/app", False),
        ("prod/team", "prod/app", False),
        ("ROOT", "anything", True),
        ("ROOT", "a/b/c", True),
    ],
)
def test_a_prefix_covers_names_under_it_with_an_assumed_slash(prefix, name, covered):
    assert matches(prefix, name) is covered


def test_most_specific_prefix_wins_and_root_is_the_fallback():
    templates = [T("ROOT"), T("prod"), T("prod/team")]
    assert resolve(templates, "prod/team/app", "REPLICATION").template == T("prod/team")
    assert resolve(templates, "prod/other", "REPLICATION").template == T("prod")
    assert resolve(templates, "dev/app", "REPLICATION").template == T("ROOT")
    assert resolve(templates, "app", "REPLICATION").template == T("ROOT")


def test_a_more_specific_template_for_another_reason_is_skipped():
    templates = [T("prod/team", ("PULL_THROUGH_CACHE",)), T("prod", ("CREATE_ON_PUSH",))]
    assert resolve(templates, "prod/team/app", "PULL_THROUGH_CACHE").template == templates[0]
    assert resolve(templates, "prod/team/app", "CREATE_ON_PUSH").template == templates[1]
    assert resolve(templates, "prod/team/app", "REPLICATION").template is None


def test_root_applies_only_for_its_reasons():
    templates = [T("ROOT", ("REPLICATION",))]
    assert resolve(templates, "x/y", "REPLICATION").template == templates[0]
    assert resolve(templates, "x/y", "CREATE_ON_PUSH").template is None


def test_explanation_lists_every_template_and_why():
    templates = [T("ROOT"), T("prod", ("CREATE_ON_PUSH",)), T("prod/team", ("PULL_THROUGH_CACHE",)), T("dev")]
    resolution = resolve(templates, "prod/team/app", "CREATE_ON_PUSH")
    assert resolution.explanation == "\n".join(
        [
            "'prod/team/app' created for CREATE_ON_PUSH uses template 'prod'.",
            "  ✘ prod/team: covers the name but applies only for PULL_THROUGH_CACHE, not CREATE_ON_PUSH",
            "  ✔ prod: most specific match, applies for CREATE_ON_PUSH: chosen",
            "  ✘ dev: does not cover the name (it covers names under 'dev/')",
            "  ✘ ROOT: covers the name, but the more specific 'prod' applies",
        ]
    )
    assert [c.prefix for c in resolution.considered if c.chosen] == ["prod"]


def test_explanation_without_template_says_what_happens_for_the_reason():
    push = resolve([], "app/x", "CREATE_ON_PUSH").explanation
    assert "push to it is refused" in push
    cache = resolve([T("dev")], "app/x", "PULL_THROUGH_CACHE").explanation
    assert "defaults (MUTABLE tags, AES256 encryption" in cache
    assert "✘ dev: does not cover the name" in cache


def test_unknown_reason_is_refused():
    with pytest.raises(ValueError, match="CREATE_ON_PUSH"):
        resolve([], "a/b", "MANUAL")


def test_tags_or_kms_without_custom_role_cannot_be_applied():
    base = {"prefix": "p", "appliedFor": ["REPLICATION"]}
    assert not creation_needs_role(base)
    assert creation_needs_role({**base, "resourceTags": [{"Key": "team", "Value": "a"}]})
    assert creation_needs_role({**base, "encryptionConfiguration": {"encryptionType": "KMS_DSSE"}})
    role = "arn:aws:iam::123456789012:role/ecr-templates"
    assert not creation_needs_role({**base, "resourceTags": [{"Key": "t", "Value": "v"}], "customRoleArn": role})


def test_custom_role_must_be_a_role_of_the_registry_account():
    base = {"prefix": "p", "appliedFor": ["REPLICATION"]}
    other = template_problem({**base, "customRoleArn": "arn:aws:iam::999999999999:role/r"}, "123456789012")
    assert other is not None and other.field == "customRoleArn"
    user = template_problem({**base, "customRoleArn": "arn:aws:iam::123456789012:user/u"})
    assert user is not None and "IAM role ARN" in user.rule
    assert template_problem({**base, "customRoleArn": "arn:aws:iam::123456789012:role/a/b"}, "123456789012") is None
