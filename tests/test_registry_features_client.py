"""The client side of managed signing, pull-time update exclusions and archive: spec → plan → apply → restore."""

from __future__ import annotations

import json

import pytest

from ecrlab import archive, principals, pull_time_exclusions, signing
from ecrlab.errors import ValidationError
from ecrlab.plan import apply, restore

ACCOUNT = "123456789012"
PROFILE = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/release"
SCANNER = f"arn:aws:iam::{ACCOUNT}:role/scanner"
CI = f"arn:aws:iam::{ACCOUNT}:role/ci"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def test_signing_plan_apply_and_restore(registry):
    spec = signing.SigningConfiguration((signing.SigningRule(PROFILE, ("team/*",)),))
    first = signing.plan(registry, spec)
    assert [(c.action, c.setting.address) for c in first.changes] == [("create", "signing-configuration/registry")]
    result = apply(first, registry, dry_run=False)
    assert signing.read(registry) == spec and signing.plan(registry, spec).empty
    assert result.backup["settings"][0]["value"] is None
    restore(registry, result.backup, dry_run=False)  # back to no configuration
    assert signing.read(registry) is None


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: signing.SigningRule("arn:aws:iam::123456789012:role/x"), "signing_profile_arn"),
        (lambda: signing.SigningRule(PROFILE, ("Team/*",)), "repository_filters"),
        (lambda: signing.SigningConfiguration(tuple(signing.SigningRule(f"{PROFILE}{i}") for i in range(11))), "rules"),
        (lambda: pull_time_exclusions.PullTimeExclusions(("scanner",)), "principal_arns"),
        (lambda: pull_time_exclusions.PullTimeExclusions((SCANNER, SCANNER)), "principal_arns"),
    ],
    ids=["profile-arn", "filter", "11-rules", "not-an-arn", "repeated"],
)
def test_specs_refuse_what_the_model_refuses(make, field):
    with pytest.raises(ValidationError) as refused:
        make()
    assert refused.value.field == field


def test_signing_status_and_referrers_frames(registry):
    apply(
        signing.plan(registry, signing.SigningConfiguration((signing.SigningRule(PROFILE),))), registry, dry_run=False
    )
    registry.client().create_repository(repositoryName="team/app")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []})
    pushed = registry.client().put_image(repositoryName="team/app", imageManifest=manifest, imageTag="v1")
    digest = pushed["image"]["imageId"]["imageDigest"]
    registry.emulator.settle()
    status = signing.signing_status(registry, "team/app", tag="v1")
    assert status[["signing_profile", "status"]].values.tolist() == [[PROFILE, "COMPLETE"]]
    found = signing.referrers(registry, "team/app", digest)
    assert found["artifact_type"].tolist() == [signing.SIGNATURE_TYPE]
    assert signing.referrers(registry, "team/app", digest, artifact_type="application/spdx+json").empty


def test_exclusions_plan_adds_and_removes_to_match_the_spec(registry):
    principals.act_as_role(registry, "scanner")
    registry.client().register_pull_time_update_exclusion(principalArn=CI)
    spec = pull_time_exclusions.PullTimeExclusions((SCANNER,))
    planned = pull_time_exclusions.plan(registry, spec)
    assert [(c.action, c.setting.key) for c in planned.changes] == [("delete", CI), ("create", SCANNER)]
    result = apply(planned, registry, dry_run=False)
    assert pull_time_exclusions.read(registry) == spec
    restore(registry, result.backup, dry_run=False)
    assert pull_time_exclusions.read(registry).principal_arns == (CI,)


def test_archive_and_restore_by_hand(registry):
    registry.client().create_repository(repositoryName="team/app")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []})
    registry.client().put_image(repositoryName="team/app", imageManifest=manifest, imageTag="v1")
    assert archive.archive(registry, "team/app", tag="v1") == "ARCHIVED"
    frame = archive.images(registry, "team/app")
    assert list(frame.columns) == archive.COLUMNS and frame["status"].tolist() == ["ARCHIVED"]
    assert archive.restore(registry, "team/app", tag="v1") == "ACTIVATING"
    registry.emulator.settle()
    assert archive.images(registry, "team/app")["status"].tolist() == ["ACTIVE"]
    with pytest.raises(ValidationError):
        archive.archive(registry, "team/app")
