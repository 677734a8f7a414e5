"""The creation-template spec: validation naming the field, plan/apply, which_template and the drift audit."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from moto.ecr.models import ecr_backends

from ecrlab import templates
from ecrlab.errors import GuardError, ValidationError
from ecrlab.plan import apply, restore
from ecrlab.templates import AUDIT_COLUMNS, TemplateSpec
from tests.template_helpers import ACCOUNT, KMS_KEY, REPOSITORY_POLICY, ROLE

KEEP_TEN = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10},
            "action": {"type": "expire"},
        }
    ]
}


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"prefix": "Prod"}, "prefix", "ROOT, or lowercase letters"),
        ({"applied_for": ()}, "applied_for", "at least one"),
        ({"applied_for": ("ON_PULL",)}, "applied_for", "enum value set"),
        ({"image_tag_mutability": "FROZEN"}, "image_tag_mutability", "enum value set"),
        (
            {"image_tag_mutability": "IMMUTABLE", "image_tag_mutability_exclusion_filters": ("v*",)},
            "image_tag_mutability_exclusion_filters",
            "must be null",
        ),
        (
            {"image_tag_mutability": "MUTABLE_WITH_EXCLUSION"},
            "image_tag_mutability_exclusion_filters",
            "can't be null",
        ),
        (
            {
                "image_tag_mutability": "MUTABLE_WITH_EXCLUSION",
                "image_tag_mutability_exclusion_filters": ("v/1",),
            },
            "image_tag_mutability_exclusion_filters",
            "regular expression",
        ),
        (
            {
                "image_tag_mutability": "MUTABLE_WITH_EXCLUSION",
                "image_tag_mutability_exclusion_filters": tuple(f"v{i}" for i in range(6)),
            },
            "image_tag_mutability_exclusion_filters",
            "less than or equal to 5",
        ),
        ({"encryption_type": "SSE"}, "encryption_type", "enum value set"),
        ({"kms_key": KMS_KEY}, "kms_key", "only allowed with KMS"),
        ({"encryption_type": "KMS", "kms_key": "alias/ecr"}, "kms_key", "regular expression"),
        ({"resource_tags": {"k" * 129: "v"}}, "resource_tags", "1 to 128"),
        ({"lifecycle_policy": {"rules": []}}, "lifecycle_policy", "non-empty rules list"),
        ({"repository_policy": "nope"}, "repository_policy", "not valid JSON"),
        ({"custom_role_arn": "arn:aws:iam::123456789012:user/u"}, "custom_role_arn", "IAM role ARN"),
        ({"description": "d" * 257}, "description", "less than or equal to 256"),
    ],
)
def test_spec_errors_name_the_field(fields, field, fragment):
    with pytest.raises(ValidationError) as excinfo:
        TemplateSpec(**({"prefix": "prod", "applied_for": ("CREATE_ON_PUSH",)} | fields))
    assert excinfo.value.field == field
    assert fragment in excinfo.value.rule


def test_spec_normalises_what_it_is_given():
    written = TemplateSpec(
        "prod",
        ["REPLICATION", "CREATE_ON_PUSH", "REPLICATION"],
        resource_tags={"team": "a", "env": "prod"},
        lifecycle_policy=KEEP_TEN,
        custom_role_arn=ROLE,
    )
    assert written.applied_for == ("CREATE_ON_PUSH", "REPLICATION")
    assert written.resource_tags == (("env", "prod"), ("team", "a"))
    assert json.loads(written.lifecycle_policy) == KEEP_TEN
    assert TemplateSpec("p", "REPLICATION").applied_for == ("REPLICATION",)
    assert written == TemplateSpec.from_api(written.to_api())
    assert written == TemplateSpec.from_settings("prod", written.settings())


def test_to_api_sends_only_what_is_set():
    assert TemplateSpec("ROOT", "PULL_THROUGH_CACHE").to_api() == {
        "prefix": "ROOT",
        "appliedFor": ["PULL_THROUGH_CACHE"],
        "imageTagMutability": "MUTABLE",
        "encryptionConfiguration": {"encryptionType": "AES256"},
    }
    spec = TemplateSpec(
        "prod",
        "CREATE_ON_PUSH",
        image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
        image_tag_mutability_exclusion_filters=("latest",),
        encryption_type="KMS",
        kms_key=KMS_KEY,
    )
    assert spec.to_api()["imageTagMutabilityExclusionFilters"] == [{"filterType": "WILDCARD", "filter": "latest"}]
    assert spec.to_api()["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": KMS_KEY}


def test_plan_apply_and_replan_is_empty(registry):
    prod = TemplateSpec(
        "prod",
        "CREATE_ON_PUSH",
        description="pushed services",
        image_tag_mutability="IMMUTABLE",
        lifecycle_policy=KEEP_TEN,
        repository_policy=REPOSITORY_POLICY,
    )
    root = TemplateSpec(
        "ROOT",
        ("PULL_THROUGH_CACHE", "REPLICATION"),
        resource_tags={"owner": "platform"},
        custom_role_arn=ROLE,
    )
    plan = templates.plan(registry, prod, root)
    assert [(c.action, c.setting.address) for c in plan.changes] == [
        ("create", "creation-template/prod"),
        ("create", "creation-template/ROOT"),
    ]
    assert apply(plan, registry).dry_run and templates.read(registry) == []
    assert apply(plan, registry, dry_run=False).verified
    assert templates.read(registry) == [root, prod]
    assert templates.plan(registry, prod, root).empty

    changed = TemplateSpec("prod", "CREATE_ON_PUSH", image_tag_mutability="IMMUTABLE")
    update = templates.plan(registry, changed)
    [change] = update.changes
    assert change.action == "update"
    assert change.before["lifecycle_policy"] == KEEP_TEN and change.after["lifecycle_policy"] is None
    result = apply(update, registry, dry_run=False)
    assert templates.read(registry) == [root, changed]
    assert templates.plan(registry, changed).empty

    prune = templates.plan(registry, root, delete_others=True)
    assert [(c.action, c.setting.key) for c in prune.changes] == [("delete", "prod")]
    apply(prune, registry, dry_run=False)
    assert templates.read(registry) == [root]

    # prod was deleted after the update: undoing the update would overwrite that later change, so it is refused
    with pytest.raises(GuardError, match="creation-template/prod"):
        restore(registry, result.backup, dry_run=False)
    assert templates.read(registry) == [root]
    restore(registry, result.backup, dry_run=False, force=True)  # the backup holds prod as first applied
    assert templates.read(registry) == [root, prod]


def test_plan_checks_what_needs_the_registry(registry):
    other_role = TemplateSpec("prod", "REPLICATION", custom_role_arn="arn:aws:iam::999999999999:role/r")
    with pytest.raises(ValidationError) as excinfo:
        templates.plan(registry, other_role)
    assert excinfo.value.field == "custom_role_arn" and ACCOUNT in excinfo.value.rule
    with pytest.raises(ValidationError, match="more than one spec"):
        templates.plan(registry, TemplateSpec("prod", "REPLICATION"), TemplateSpec("prod/", "CREATE_ON_PUSH"))


def test_which_template_explains_its_choice(registry):
    apply(
        templates.plan(
            registry,
            TemplateSpec("ROOT", "CREATE_ON_PUSH"),
            TemplateSpec("prod", "CREATE_ON_PUSH", image_tag_mutability="IMMUTABLE"),
            TemplateSpec("prod/team", "PULL_THROUGH_CACHE"),
        ),
        registry,
        dry_run=False,
    )
    resolution = templates.which_template(registry, "prod/team/app", "CREATE_ON_PUSH")
    assert resolution.template == TemplateSpec("prod", "CREATE_ON_PUSH", image_tag_mutability="IMMUTABLE")
    assert "✘ prod/team: covers the name but applies only for PULL_THROUGH_CACHE" in resolution.explanation
    assert templates.which_template(registry, "prod/team/app", "REPLICATION").template is None


def test_audit_finds_drift_from_the_template_that_applies(registry):
    from ecrlab.emulator.templates_operations import create_repository_from_template

    prod = TemplateSpec("prod", "CREATE_ON_PUSH", image_tag_mutability="IMMUTABLE", lifecycle_policy=KEEP_TEN)
    cache = TemplateSpec("cache", "PULL_THROUGH_CACHE", resource_tags={"source": "cache"}, custom_role_arn=ROLE)
    apply(templates.plan(registry, prod, cache), registry, dry_run=False)
    # cache/alpine is a pull through cache repository: named under a cache rule's prefix.
    registry.client().create_pull_through_cache_rule(ecrRepositoryPrefix="cache", upstreamRegistryUrl="public.ecr.aws")
    backend = ecr_backends[ACCOUNT][registry.region]
    create_repository_from_template(backend, "prod/api", "CREATE_ON_PUSH")
    create_repository_from_template(backend, "cache/alpine", "PULL_THROUGH_CACHE")
    ecr = registry.client()
    ecr.create_repository(repositoryName="prod/by-hand")  # manual: templates never applied
    ecr.create_repository(repositoryName="unmanaged")  # no template covers it: no rows

    frame = templates.audit(registry)
    assert list(frame.columns) == AUDIT_COLUMNS
    rows = [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]
    lifecycle = json.dumps(KEEP_TEN, sort_keys=True)
    assert rows == [
        ("cache/alpine", "PULL_THROUGH_CACHE", "cache", "encryption_type", "AES256", "AES256", True),
        ("cache/alpine", "PULL_THROUGH_CACHE", "cache", "image_tag_mutability", "MUTABLE", "MUTABLE", True),
        (
            "cache/alpine",
            "PULL_THROUGH_CACHE",
            "cache",
            "resource_tags",
            '{"source": "cache"}',
            '{"source": "cache"}',
            True,
        ),
        ("prod/api", "CREATE_ON_PUSH", "prod", "encryption_type", "AES256", "AES256", True),
        ("prod/api", "CREATE_ON_PUSH", "prod", "image_tag_mutability", "IMMUTABLE", "IMMUTABLE", True),
        ("prod/api", "CREATE_ON_PUSH", "prod", "lifecycle_policy", lifecycle, lifecycle, True),
        ("prod/by-hand", "CREATE_ON_PUSH", "prod", "encryption_type", "AES256", "AES256", True),
        ("prod/by-hand", "CREATE_ON_PUSH", "prod", "image_tag_mutability", "IMMUTABLE", "MUTABLE", False),
        ("prod/by-hand", "CREATE_ON_PUSH", "prod", "lifecycle_policy", lifecycle, None, False),
    ]
    assert templates.audit(registry, reason="REPLICATION").empty
    assert list(templates.audit(registry, reason="REPLICATION").columns) == AUDIT_COLUMNS


def test_the_audit_covers_what_ecr_created_for_a_reason_a_template_applies_to(registry):
    """repository-creation-templates.html: templates apply when ECR creates a repository on your behalf (pull
    through cache, create on push, replication) and "don't have any effect on existing repositories"; the
    template for a reason is the most specific one that applies for that reason. Issue 23: a repository created
    on push was audited against the ROOT pull-through-cache template and showed drift."""
    from ecrlab import images, pull_through_cache
    from ecrlab.ecr_model import ecr_model
    from ecrlab.package_data import sample_images
    from ecrlab.templates import COVERAGE_COLUMNS

    # botocore's model: a repository says when it was created, not why — the audit infers the rest.
    assert "createdAt" in ecr_model().shape_for("Repository").members
    assert not {m for m in ecr_model().shape_for("Repository").members if "for" in m.lower() or "by" in m.lower()}

    ecr = registry.client()
    ecr.create_repository(repositoryName="sandbox/old")  # before any template
    registry.emulator.advance(hours=1)
    cache = TemplateSpec("ROOT", "PULL_THROUGH_CACHE", image_tag_mutability="IMMUTABLE")
    sandbox = TemplateSpec("sandbox", "CREATE_ON_PUSH", image_tag_mutability="MUTABLE")
    apply(templates.plan(registry, cache, sandbox), registry, dry_run=False)
    apply(
        pull_through_cache.plan(registry, pull_through_cache.PullThroughCacheRule("ecr-public", "public.ecr.aws")),
        registry,
        dry_run=False,
    )
    images.push(registry, sample_images() / "alpine-node", "sandbox/try-me", "v1")  # created on push
    pull_through_cache.try_pull(registry, "ecr-public/docker/library/node", "18-alpine")  # created on a cache pull
    ecr.create_repository(repositoryName="team/by-hand")  # no template covers it for any reason

    frame = templates.coverage(registry)
    assert list(frame.columns) == COVERAGE_COLUMNS
    rows = {
        r["repository"]: tuple(None if pd.isna(v) else v for v in (r["created_for"], r["template"], r["audited"]))
        for r in frame.to_dict("records")
    }
    assert rows == {
        "ecr-public/docker/library/node": ("PULL_THROUGH_CACHE", "ROOT", True),
        "sandbox/old": ("CREATE_ON_PUSH", None, False),
        "sandbox/try-me": ("CREATE_ON_PUSH", "sandbox", True),
        "team/by-hand": (None, None, False),
    }
    why = dict(zip(frame["repository"], frame["why"], strict=True))
    assert "under pull through cache rule 'ecr-public'" in why["ecr-public/docker/library/node"]
    assert "created before template 'sandbox'" in why["sandbox/old"]
    assert "ECR records no reason" in why["sandbox/try-me"] and "no template applies" in why["team/by-hand"]

    drift = templates.audit(registry)
    assert sorted(drift["repository"].unique()) == ["ecr-public/docker/library/node", "sandbox/try-me"]
    assert drift["compliant"].all()  # sandbox/try-me is not held to ROOT's IMMUTABLE: it was not created by a pull
    # A repository created by a cache pull is never audited for another reason.
    only_push = templates.coverage(registry, reason="CREATE_ON_PUSH").set_index("repository")
    assert not only_push.loc["ecr-public/docker/library/node", "audited"]
    assert "not created for CREATE_ON_PUSH" in only_push.loc["ecr-public/docker/library/node", "why"]
    only_cache = templates.coverage(registry, reason="PULL_THROUGH_CACHE").set_index("repository")
    assert pd.isna(only_cache.loc["sandbox/try-me", "created_for"])  # a push or a replication: ECR does not say
    assert "not created for PULL_THROUGH_CACHE" in only_cache.loc["sandbox/try-me", "why"]
