"""The teaching half of the 2025–26 registry features: the archive policy spec, the runbooks' specs and the panels.

Expectations come from the user guide (lifecycle policies: `transition` to archive, `sinceImagePulled`, the 90-day
archive minimum; managed signing: profiles in the registry's region; pull-time update exclusions: IAM principal
ARNs) and from the emulator's own validation of what AWS accepts (PutLifecyclePolicy, the model's patterns).
"""

from __future__ import annotations

import json
import shlex

import pytest

from ecrlab import archive, principals, pull_time_exclusions, signing
from ecrlab.errors import ValidationError
from ecrlab.parameters import commands, runbook
from ecrlab.plan import apply, restore
from ecrlab.widgets.archive_panel import ArchivePanel
from ecrlab.widgets.form import INVALID_BORDER
from ecrlab.widgets.pull_time_exclusions_panel import exclusions_form
from ecrlab.widgets.signing_panel import signing_form

ACCOUNT = "123456789012"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
KEEP_TEN = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10},
            "action": {"type": "expire"},
        }
    ]
}


def push(registry, repository: str, tag: str) -> str:
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "annotations": {"t": tag}})
    answer = registry.client().put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)
    return answer["image"]["imageId"]["imageDigest"]


def pull(registry, repository: str, tag: str) -> None:
    registry.client().batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])


# --- archive policy -----------------------------------------------------------------------------------------


def test_archive_policy_is_a_lifecycle_policy_aws_accepts_and_rollback_restores_the_old_one(registry):
    ecr = registry.client()
    ecr.create_repository(repositoryName="shop/api")
    ecr.put_lifecycle_policy(repositoryName="shop/api", lifecyclePolicyText=json.dumps(KEEP_TEN))
    spec = archive.ArchivePolicy("shop/api", 90, "pulled", delete_after_days=365)
    planned = archive.plan(registry, spec)
    assert [(c.action, c.setting.address, c.before) for c in planned.changes] == [
        ("update", "lifecycle-policy/shop/api", KEEP_TEN)
    ]
    result = apply(planned, registry, dry_run=False)  # the emulator's PutLifecyclePolicy validates it as AWS does
    [transition, expire] = json.loads(ecr.get_lifecycle_policy(repositoryName="shop/api")["lifecyclePolicyText"])[
        "rules"
    ]
    assert transition["action"] == {"type": "transition", "targetStorageClass": "archive"}
    assert transition["selection"]["countType"] == "sinceImagePulled"
    assert expire["selection"]["storageClass"] == "archive" and expire["action"] == {"type": "expire"}
    assert archive.plan(registry, spec).empty
    restore(registry, result.backup, dry_run=False)
    assert json.loads(ecr.get_lifecycle_policy(repositoryName="shop/api")["lifecyclePolicyText"]) == KEEP_TEN


def test_removing_an_archive_policy_deletes_the_lifecycle_policy(registry):
    registry.client().create_repository(repositoryName="shop/api")
    apply(archive.plan(registry, archive.ArchivePolicy("shop/api")), registry, dry_run=False)
    apply(archive.remove_plan(registry, "shop/api"), registry, dry_run=False)
    assert archive.lifecycle_policy("shop/api").read(registry) is None


def test_preview_archives_what_was_not_pulled_and_keeps_what_was(registry):
    registry.client().create_repository(repositoryName="shop/api")
    push(registry, "shop/api", "old")
    push(registry, "shop/api", "used")
    registry.emulator.advance(days=100)
    pull(registry, "shop/api", "used")
    push(registry, "shop/api", "new")
    by_pull = archive.preview(registry, archive.ArchivePolicy("shop/api", 90, "pulled"))
    assert by_pull[["tags", "action", "storage_class"]].values.tolist() == [["old", "TRANSITION", "STANDARD"]]
    by_push = archive.preview(registry, archive.ArchivePolicy("shop/api", 90, "pushed"))
    assert by_push["tags"].tolist() == ["old", "used"]  # pulls do not count when aging from the push
    assert archive.lifecycle_policy("shop/api").read(registry) is None  # a preview writes nothing


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"delete_after_days": 89}, "delete_after_days"),  # the 90-day archive minimum
        ({"archive_after_days": 0}, "archive_after_days"),
        ({"since": "created"}, "since"),
        ({"repository": "Shop"}, "repository"),
    ],
)
def test_archive_policy_refuses_what_aws_refuses(values, field):
    with pytest.raises(ValidationError) as refused:
        archive.ArchivePolicy(**{"repository": "shop/api", **values})
    assert refused.value.field == field


# --- signing and exclusions as the runbooks describe them ---------------------------------------------------


def test_a_profile_name_is_a_signer_profile_in_the_registrys_region_and_empty_removes_only_if_asked(registry):
    spec = signing.single_rule(registry, "release", ["shop/*"])
    assert spec == signing.SigningConfiguration(
        (signing.SigningRule(f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/release", ("shop/*",)),)
    )
    apply(signing.plan(registry, spec), registry, dry_run=False)  # the emulator refuses profiles of other regions
    assert signing.plan(registry, signing.single_rule(registry, "", [])).empty  # no rule named: nothing removed
    removal = signing.plan(registry, signing.single_rule(registry, "", []), remove_unlisted=True)
    assert [c.action for c in removal.changes] == ["delete"]  # ECR takes no empty rule list: the configuration goes


def test_exclusions_plan_can_leave_other_teams_exclusions(registry):
    other = f"arn:aws:iam::{ACCOUNT}:role/inventory"
    registry.client().register_pull_time_update_exclusion(principalArn=other)
    spec = pull_time_exclusions.PullTimeExclusions((principals.role_arn(registry, "scanner"),))
    kept = pull_time_exclusions.plan(registry, spec, remove_unlisted=False)
    assert [c.action for c in kept.changes] == ["create"]
    apply(kept, registry, dry_run=False)
    assert set(pull_time_exclusions.read(registry).principal_arns) == {other, principals.role_arn(registry, "scanner")}


@pytest.mark.parametrize(
    ("feature", "values", "field"),
    [
        ("archive", {"archive_after_days": "ninety"}, "archive_after_days"),
        ("archive", {"since": "created"}, "since"),
        ("archive", {"repositories": "[oops"}, "repositories"),
        ("signing", {"repository_filters": "shop/*"}, "repository_filters"),
        ("pull-time-exclusions", {"deregister_others": "maybe"}, "deregister_others"),
    ],
)
def test_runbook_parameters_name_the_bad_one(feature, values, field):
    with pytest.raises(ValidationError) as refused:
        runbook(feature).validate(values)
    assert refused.value.field == field


# --- panels -------------------------------------------------------------------------------------------------


def test_signing_panel_plans_applies_and_copies_a_runbook_command(registry):
    form = signing_form(registry)
    form.inputs["signing_profile_arn"].value = "arn:aws:iam::123456789012:role/not-a-profile"
    form.plan_button.click()
    assert form.inputs["signing_profile_arn"].layout.border == INVALID_BORDER and form.apply_button.disabled
    form.inputs["signing_profile_arn"].value = "release"
    form.inputs["repository_filters"].value = "shop/*"
    form.plan_button.click()
    form.apply_button.click()
    assert "Applied 1 change(s)" in form.result.value
    assert signing.read(registry) == signing.single_rule(registry, "release", ["shop/*"])
    run, _ = form.show_commands()
    values = dict(arg.split("=", 1) for arg in shlex.split(run) if "=" in arg)
    assert runbook("signing").validate(values)["repository_filters"] == ["shop/*"]


def test_signing_panel_edits_only_the_rule_it_opened_with(registry):
    release, audit = (
        signing.SigningRule(signing.profile_arn(registry, "release"), ("shop/*",)),
        signing.SigningRule(signing.profile_arn(registry, "audit"), ("*api*",)),
    )
    apply(signing.plan(registry, signing.SigningConfiguration((release, audit))), registry, dry_run=False)
    form = signing_form(registry)
    assert form.inputs["repository_filters"].value == "shop/*"  # the registry's first rule
    form.inputs["repository_filters"].value = "shop/*\nweb/*"
    form.plan_button.click()
    form.apply_button.click()
    changed = signing.SigningRule(release.signing_profile_arn, ("shop/*", "web/*"))
    assert signing.read(registry) == signing.SigningConfiguration((audit, changed))  # replaced; audit's rule kept
    form.inputs["signing_profile_arn"].value = ""
    form.plan_button.click()
    form.apply_button.click()
    assert signing.read(registry) == signing.SigningConfiguration((audit,))


def test_exclusions_panel_starts_from_the_registry_and_plans_removals(registry):
    scanner = principals.role_arn(registry, "scanner")
    registry.client().register_pull_time_update_exclusion(principalArn=scanner)
    form = exclusions_form(registry)
    assert form.inputs["principal_arns"].value == scanner
    form.inputs["principal_arns"].value = "inventory"
    form.plan_button.click()
    form.apply_button.click()
    assert pull_time_exclusions.read(registry).principal_arns == (principals.role_arn(registry, "inventory"),)
    form.inputs["principal_arns"].value = f"arn:aws:sts::{ACCOUNT}:assumed-role/scanner/s1"
    form.plan_button.click()  # a session is not a principal the API accepts
    assert form.inputs["principal_arns"].layout.border == INVALID_BORDER


def test_archive_panel_previews_after_planning_and_refuses_a_short_archive_minimum(registry):
    registry.client().create_repository(repositoryName="shop/api")
    push(registry, "shop/api", "old")
    registry.emulator.advance(days=100)
    panel = ArchivePanel(registry, "shop/api")
    panel.form.inputs["delete_after_days"].value = "30"
    panel.form.plan_button.click()
    assert "at least 90" in panel.form.errors["delete_after_days"].value
    panel.form.inputs["delete_after_days"].value = ""
    panel.form.plan_button.click()
    assert "<td>old</td>" in panel.preview.value and "TRANSITION" in panel.preview.value
    panel.form.apply_button.click()
    assert archive.lifecycle_policy("shop/api").read(registry) == archive.ArchivePolicy("shop/api").policy()
    run, _ = panel.form.show_commands()
    assert "repositories" not in run  # the defaults: shop/api, 90 days since pulled, kept in archive


def test_commands_of_each_new_runbook_round_trip_through_its_validation():
    for feature, values in [
        ("signing", {"signing_profile": "", "repository_filters": ["shop/*"]}),
        ("archive", {"repositories": ["shop/api", "shop/web"], "archive_after_days": 180, "delete_after_days": 730}),
        ("pull-time-exclusions", {"excluded_roles": ["scanner"], "deregister_others": True}),
    ]:
        run, _ = commands(feature, values)
        args = shlex.split(run)
        passed = dict(args[i + 1].split("=", 1) for i, arg in enumerate(args) if arg == "-p")
        validated = runbook(feature).validate(passed)
        assert {name: validated[name] for name in values} == values, feature


def test_signs_predicts_what_the_emulator_signs_on_push(registry):
    """`signing.signs` (the what-if of panels and exercises) against what a push really gets signed with."""
    audit = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/audit"
    release = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/release"
    spec = signing.SigningConfiguration(
        (signing.SigningRule(release, ("prod/*", "*-release")), signing.SigningRule(audit, ("*api*",)))
    )
    apply(signing.plan(registry, spec), registry, dry_run=False)
    names = ["prod/api", "prod/web/frontend", "products/catalog", "payments-release", "tools/ci", "prod"]
    for name in names:
        registry.client().create_repository(repositoryName=name)
        push(registry, name, "v1")
    registry.emulator.settle()
    for name in names:
        actual = signing.signing_status(registry, name, tag="v1")["signing_profile"].tolist()
        assert sorted(actual) == sorted(signing.signs(spec, name)), name
    assert signing.what_if(spec, ["prod/api", "tools/ci"])["signed_with"].tolist() == ["release, audit", ""]


@pytest.mark.parametrize(
    ("feature", "values", "field", "rule"),
    [
        ("archive", {"delete_after_days": 30}, "delete_after_days", "at least 90"),
        ("archive", {"repositories": ["Shop API"]}, "repositories", "lowercase letters"),
        ("archive", {"repositories": {"name": "shop/api"}}, "repositories", "JSON list of strings"),
        ("archive", {"archive_after_days": 0}, "archive_after_days", "≥ 1"),
        ("signing", {"signing_profile": "release profile"}, "signing_profile", "signer"),
        ("signing", {"repository_filters": ["Shop/*"]}, "repository_filters", "regular expression"),
        (
            "pull-time-exclusions",
            {"excluded_roles": ["arn:aws:sts::123456789012:assumed-role/s/x"]},
            "excluded_roles",
            "regular expression",
        ),
        ("pull-time-exclusions", {"excluded_roles": ["scanner", "scanner"]}, "excluded_roles", "must not repeat"),
    ],
)
def test_each_runbook_checks_its_spec_naming_the_parameter(feature, values, field, rule):
    """`Runbook.validate` (what `ecrlab run` and the notebook's first cell call) builds the feature's spec."""
    with pytest.raises(ValidationError) as refused:
        runbook(feature).validate(values)
    assert refused.value.field == field and rule in refused.value.rule
    runbook(feature).validate({})  # the defaults pass
