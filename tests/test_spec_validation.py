"""Every public spec and builder refuses bad input at construction with a ValidationError naming the field.

For each field of each spec (and each argument of each builder) hypothesis generates values of the wrong type
— None, numbers, booleans, bytes, lists and dicts of the wrong things — which must be refused with a
ValidationError whose `field` is that field (or the name the spec reports it under), and values of the right
type but arbitrary content — unicode, control characters, huge strings — which must either be refused the same
way or be kept exactly as given. Never another exception, never a silent coercion.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrlab.account_settings import AccountSettings
from ecrlab.baseline import Baseline
from ecrlab.errors import ValidationError
from ecrlab.permissions.policy import (
    RegistryPolicy,
    allow_pull_through_cache,
    allow_replication_from,
    restrict_repository_admin,
)
from ecrlab.permissions.registry_policy import from_intents
from ecrlab.pull_through_cache import PullThroughCacheRule
from ecrlab.pull_time_exclusions import PullTimeExclusions
from ecrlab.replication import Destination, ReplicationRule, ReplicationSpec
from ecrlab.repositories import RepositorySpec
from ecrlab.scanning import ScanningSpec
from ecrlab.signing import SigningConfiguration, SigningRule
from ecrlab.templates import TemplateSpec

EXAMPLES = 25
COUNTS: Counter[str] = Counter()

ACCOUNT = "123456789012"
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]}
LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5},
            "action": {"type": "expire"},
        }
    ]
}

# --- bad values by the kind of field -------------------------------------------------------------------------

SCALARS = st.one_of(
    st.integers(), st.floats(), st.booleans(), st.binary(max_size=8), st.just(object()), st.just(1 + 2j)
)
CONTAINERS = st.one_of(
    st.lists(st.integers(), min_size=1, max_size=3),
    st.dictionaries(st.integers(), st.integers(), min_size=1, max_size=2),
    st.sets(st.integers(), min_size=1, max_size=2),
)
NOT_TEXT = st.one_of(st.none(), SCALARS, CONTAINERS)
ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Zs"]), min_size=1, max_size=10),  # surrogates
    st.sampled_from(["", " ", "a" * 100_000, "\x00", "ROOT", "*", "../..", "eu-west-1", ACCOUNT]),
)
WRONG = {
    "text": NOT_TEXT,
    "optional text": st.one_of(SCALARS, CONTAINERS),
    # a string or a list of strings: anything else, or a list holding something else
    "strings": st.one_of(
        st.none(), SCALARS, st.lists(SCALARS, min_size=1, max_size=3), st.dictionaries(st.text(), st.text(), min_size=1)
    ),
    "flag": st.one_of(
        st.none(), st.integers(), st.floats(), st.sampled_from(["no", "yes", "true", "false", ""]), CONTAINERS
    ),
    "pairs": st.one_of(
        st.none(),
        SCALARS,
        st.lists(st.integers(), min_size=1, max_size=3),
        st.dictionaries(st.integers(), st.text(), min_size=1, max_size=2),
    ),
    "policy": st.one_of(st.none(), SCALARS, st.lists(st.integers(), min_size=1, max_size=3)),
    "document": st.one_of(
        st.none(),
        SCALARS,
        st.text(max_size=10),
        st.lists(st.integers(), max_size=3),
        st.just({**POLICY, 1: "number key"}),
        st.just({**POLICY, "Extra": float("nan")}),
        st.just({**POLICY, "Extra": {1, 2}}),
    ),
    "destinations": st.one_of(
        st.none(), SCALARS, st.lists(st.one_of(st.text(max_size=5), st.integers()), min_size=1, max_size=3)
    ),
    "destination list": st.one_of(st.none(), SCALARS, st.lists(SCALARS, min_size=1, max_size=3)),
    "rules": st.one_of(
        st.none(),
        SCALARS,
        st.text(max_size=5),
        st.lists(st.one_of(st.text(max_size=5), st.integers()), min_size=1, max_size=3),
    ),
    "specs": st.one_of(
        st.none(), SCALARS, st.text(min_size=1, max_size=5), st.lists(st.integers(), min_size=1, max_size=3)
    ),
    "spec": st.one_of(SCALARS, st.text(max_size=5), CONTAINERS),
}
# Right type, arbitrary content: refused with a ValidationError, or kept as given.
ODD = {
    "text": ODD_TEXT,
    "optional text": ODD_TEXT,
    "strings": st.one_of(ODD_TEXT, st.lists(ODD_TEXT, max_size=4)),
    "destination list": st.lists(ODD_TEXT, max_size=3),
}


@dataclass
class Subject:
    """One spec or builder: how to call it, valid arguments, each argument's kind and the names errors may use."""

    name: str
    build: Callable[..., Any]
    valid: dict[str, Any]
    kinds: dict[str, str]
    aliases: dict[str, set[str]] = field(default_factory=dict)
    empty_means_default: set[str] = field(default_factory=set)  # documented: "" is filled in (inferred, ROOT)

    def names_for(self, argument: str) -> set[str]:
        return {argument} | self.aliases.get(argument, set())


POLICY_FIELDS = {"policyText", "Statement"}
SUBJECTS = [
    Subject(
        "RepositorySpec",
        RepositorySpec,
        {"name": "team/app", "image_tag_mutability": "IMMUTABLE", "encryption_type": "AES256"},
        {"name": "text", "image_tag_mutability": "text", "encryption_type": "text"},
    ),
    Subject(
        "ScanningSpec",
        ScanningSpec,
        {"scan_type": "ENHANCED", "on_push": ("prod",), "continuous": ("release*",)},
        {"scan_type": "text", "on_push": "strings", "continuous": "strings"},
    ),
    Subject(
        "TemplateSpec",
        TemplateSpec,
        {
            "prefix": "prod",
            "applied_for": ("CREATE_ON_PUSH", "REPLICATION"),
            "description": "production",
            "image_tag_mutability": "IMMUTABLE_WITH_EXCLUSION",
            "image_tag_mutability_exclusion_filters": ("dev*",),
            "encryption_type": "KMS",
            "kms_key": "arn:aws:kms:us-east-1:123456789012:key/abcd",
            "resource_tags": {"team": "platform"},
            "lifecycle_policy": json.dumps(LIFECYCLE),
            "repository_policy": POLICY,
            "custom_role_arn": "arn:aws:iam::123456789012:role/ecr-templates",
        },
        {
            "prefix": "text",
            "applied_for": "strings",
            "description": "text",
            "image_tag_mutability": "text",
            "image_tag_mutability_exclusion_filters": "strings",
            "encryption_type": "text",
            "kms_key": "text",
            "resource_tags": "pairs",
            "lifecycle_policy": "policy",
            "repository_policy": "policy",
            "custom_role_arn": "text",
        },
    ),
    Subject(
        "PullThroughCacheRule",
        PullThroughCacheRule,
        {
            "ecr_repository_prefix": "docker-hub",
            "upstream_registry_url": "registry-1.docker.io",
            "upstream_registry": "docker-hub",
            "upstream_repository_prefix": "library",
            "credential_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub-abc",
            "custom_role_arn": "",
        },
        {
            "ecr_repository_prefix": "text",
            "upstream_registry_url": "text",
            "upstream_registry": "text",
            "upstream_repository_prefix": "text",
            "credential_arn": "text",
            "custom_role_arn": "text",
        },
        empty_means_default={"upstream_registry", "upstream_repository_prefix"},
    ),
    Subject(
        "Destination",
        Destination,
        {"registry_id": "444455556666", "region": "eu-west-1"},
        {"registry_id": "text", "region": "text"},
        {"registry_id": {"destinations"}, "region": {"destinations"}},
    ),
    Subject(
        "Destination.parse",
        Destination.parse,
        {"value": "444455556666/eu-west-1", "account_id": ACCOUNT},
        {"value": "text", "account_id": "text"},
        {"value": {"destinations"}, "account_id": {"destinations"}},
    ),
    Subject(
        "ReplicationRule",
        ReplicationRule,
        {"destinations": (Destination(ACCOUNT, "eu-west-1"),), "prefixes": ("prod",), "delete_replication": True},
        {"destinations": "destinations", "prefixes": "strings", "delete_replication": "flag"},
    ),
    Subject(
        "ReplicationRule.parse",
        ReplicationRule.parse,
        {"account_id": ACCOUNT, "destinations": ["eu-west-1"], "prefixes": ["prod"], "delete_replication": False},
        {"account_id": "text", "destinations": "destination list", "prefixes": "strings", "delete_replication": "flag"},
        {"account_id": {"destinations"}},
    ),
    Subject(
        "ReplicationSpec",
        ReplicationSpec,
        {"rules": (ReplicationRule((Destination(ACCOUNT, "eu-west-1"),)),)},
        {"rules": "rules"},
    ),
    Subject(
        "ReplicationSpec.single_rule",
        ReplicationSpec.single_rule,
        {"account_id": ACCOUNT, "destinations": ["eu-west-1"], "prefixes": ["prod"], "delete_replication": True},
        {"account_id": "text", "destinations": "destination list", "prefixes": "strings", "delete_replication": "flag"},
        {"account_id": {"destinations"}},
    ),
    Subject(
        "AccountSettings",
        AccountSettings,
        {"registry_policy_scope": "V2", "basic_scan_type_version": "AWS_NATIVE", "blob_mounting": "ENABLED"},
        {
            "registry_policy_scope": "optional text",
            "basic_scan_type_version": "optional text",
            "blob_mounting": "optional text",
        },
    ),
    Subject(
        "RegistryPolicy", RegistryPolicy, {"document": POLICY}, {"document": "document"}, {"document": POLICY_FIELDS}
    ),
    Subject(
        "RegistryPolicy.from_json",
        RegistryPolicy.from_json,
        {"text": json.dumps(POLICY)},
        {"text": "text"},
        {"text": POLICY_FIELDS},
    ),
    Subject(
        "restrict_repository_admin",
        restrict_repository_admin,
        {
            "account_id": ACCOUNT,
            "allowed_principal_arns": ["arn:aws:iam::123456789012:role/admin"],
            "region": "us-east-1",
        },
        {"account_id": "text", "allowed_principal_arns": "strings", "region": "text"},
    ),
    Subject(
        "allow_replication_from",
        allow_replication_from,
        {
            "source_account_ids": ["444455556666"],
            "account_id": ACCOUNT,
            "region": "us-east-1",
            "create_repository": True,
        },
        {"source_account_ids": "strings", "account_id": "text", "region": "text", "create_repository": "flag"},
    ),
    Subject(
        "allow_pull_through_cache",
        allow_pull_through_cache,
        {
            "principal_arns": ["arn:aws:iam::123456789012:role/ci"],
            "account_id": ACCOUNT,
            "region": "us-east-1",
            "prefix": "hub",
        },
        {"principal_arns": "strings", "account_id": "text", "region": "text", "prefix": "text"},
    ),
    Subject(
        "registry_policy.from_intents",
        from_intents,
        {
            "account_id": ACCOUNT,
            "region": "us-east-1",
            "admin_principals": ["arn:aws:iam::123456789012:role/admin"],
            "replication_sources": ["444455556666"],
            "pull_through_cache_principals": ["arn:aws:iam::123456789012:role/ci"],
            "pull_through_cache_prefix": "hub",
        },
        {
            "account_id": "text",
            "region": "text",
            "admin_principals": "strings",
            "replication_sources": "strings",
            "pull_through_cache_principals": "strings",
            "pull_through_cache_prefix": "strings",
        },
        {
            "replication_sources": {"source_account_ids"},
            "pull_through_cache_principals": {"principal_arns"},
            "pull_through_cache_prefix": {"prefix"},
            "admin_principals": {"allowed_principal_arns"},
        },
    ),
    Subject(
        "Baseline",
        Baseline,
        {
            "templates": (TemplateSpec("prod", "CREATE_ON_PUSH"),),
            "pull_through_cache": (PullThroughCacheRule("ecr-public", "public.ecr.aws"),),
            "scanning": ScanningSpec(on_push=("prod",)),
            "alert_target": "sqs",
            "registry_policy": RegistryPolicy(POLICY),
            "replication": ReplicationSpec.single_rule(ACCOUNT, ["eu-west-1"]),
            "signing": SigningConfiguration(
                (SigningRule(f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/release"),)
            ),
            "pull_time_exclusions": PullTimeExclusions((f"arn:aws:iam::{ACCOUNT}:role/scanner",)),
            "remove_unlisted": True,
            "keep_scan_type": True,
        },
        {
            "templates": "specs",
            "pull_through_cache": "specs",
            "scanning": "spec",
            "alert_target": "optional text",
            "registry_policy": "spec",
            "replication": "spec",
            "signing": "spec",
            "pull_time_exclusions": "spec",
            "remove_unlisted": "flag",
            "keep_scan_type": "flag",
        },
    ),
]
CASES = [(subject, argument) for subject in SUBJECTS for argument in subject.kinds]


def test_every_public_spec_is_covered_field_by_field():
    """A new field on a spec must come with its bad-value case here."""
    for subject in SUBJECTS:
        if is_dataclass(subject.build):
            assert set(subject.kinds) == {f.name for f in fields(subject.build)}, subject.name
        assert set(subject.kinds) == set(subject.valid), subject.name
        subject.build(**subject.valid)  # the baseline arguments are valid


def _stored(result: Any, argument: str) -> Any:
    return getattr(result, argument, None) if is_dataclass(result) else None


@pytest.mark.parametrize(("subject", "argument"), CASES, ids=[f"{s.name}.{a}" for s, a in CASES])
def test_a_wrong_typed_value_is_refused_naming_the_field(subject, argument):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(WRONG[subject.kinds[argument]])
    def run(value: Any) -> None:
        COUNTS["wrong type"] += 1
        with pytest.raises(ValidationError) as refused:
            subject.build(**{**subject.valid, argument: value})
        named = refused.value.field
        assert named in subject.names_for(argument) or named.split("[")[0] in subject.names_for(argument), (
            subject.name,
            argument,
            value,
            named,
        )

    run()


ODD_CASES = [(s, a) for s, a in CASES if s.kinds[a] in ODD]


@pytest.mark.parametrize(("subject", "argument"), ODD_CASES, ids=[f"{s.name}.{a}" for s, a in ODD_CASES])
def test_an_odd_value_of_the_right_type_is_refused_or_kept_as_given(subject, argument):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(ODD[subject.kinds[argument]])
    def run(value: Any) -> None:
        COUNTS["odd value"] += 1
        try:
            result = subject.build(**{**subject.valid, argument: value})
        except ValidationError:
            return
        stored = _stored(result, argument)
        if value == "" and argument in subject.empty_means_default:
            return
        if isinstance(stored, str):
            assert stored == value, (subject.name, argument, value, stored)  # no silent rewrite
        elif isinstance(stored, tuple) and isinstance(value, list | str):
            given = [value] if isinstance(value, str) else value
            if stored and all(hasattr(item, "region") for item in stored):
                # Destinations: REGION or ACCOUNT/REGION, surrounding spaces trimmed; the region is kept as given.
                kept = {item.region for item in stored}
                assert kept == {v.strip().rpartition("/")[2] for v in given}, (subject.name, value, stored)
            else:
                assert set(stored) == set(given)

    run()


def test_the_examples_ran(capsys):
    with capsys.disabled():
        print(f"\nspec validation: {dict(COUNTS)} examples over {len(CASES)} fields of {len(SUBJECTS)} specs")
    assert COUNTS["wrong type"] >= len(CASES) * 5


def test_replication_refuses_no_as_delete_replication():
    """The issue's example: "no" used to switch deleteReplication on."""
    with pytest.raises(ValidationError) as refused:
        ReplicationSpec.single_rule(ACCOUNT, ["eu-west-1"], [], "no")
    assert refused.value.field == "delete_replication"


def test_a_single_prefix_string_is_one_prefix_not_its_characters():
    rule = ReplicationRule.parse(ACCOUNT, "eu-west-1", "prod")
    assert (rule.prefixes, [d.label() for d in rule.destinations]) == (("prod",), [f"{ACCOUNT}/eu-west-1"])
