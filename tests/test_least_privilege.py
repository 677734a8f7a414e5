"""The published least-privilege policy works: a role holding exactly docs/iam-policy.json dry-runs, applies and
rolls back every runbook against a registry several teams share, and without it (or with only the dry-run policy
for an apply) the runbooks are refused by the emulator's IAM evaluation.

The role is created in `ecrlab emulator serve` with the policy attached as a customer-managed policy; the runbooks
run as a platform engineer runs them (`--target aws`, the role's temporary credentials in the environment).
"""

from __future__ import annotations

import json

import pytest

from ecrlab.iam_policy import CACHED_REPOSITORY, CHANGES
from ecrlab.parameters import RUNBOOKS
from ecrlab.runs import rollback, run
from tests.conftest import ROOT
from tests.shared_registry import ACCOUNT, others_intact, snapshot

PUBLISHED = ROOT / "docs" / "iam-policy.json"
DRY_RUN = ROOT / "docs" / "iam-policy-dry-run.json"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}
    ],
}


def act_as_role(admin, monkeypatch, name: str, policy: dict | None) -> None:
    """Create role `name` holding exactly `policy` (none: no permissions) and put its credentials in the env."""
    iam = admin.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    if policy is not None:
        arn = iam.create_policy(PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    creds = admin.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}", RoleSessionName=name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["Credentials"]["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["Credentials"]["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["Credentials"]["SessionToken"])


def values(feature: str, apply: bool) -> dict:
    found = {"target": "aws", "apply": apply, **CHANGES.get(feature, {})}
    return {**found, "expected_account_id": ACCOUNT} if apply else found


def test_the_published_policies_are_scoped_and_the_dry_run_one_only_reads():
    published = json.loads(PUBLISHED.read_text())
    everywhere = {a for s in published["Statement"] if s["Resource"] == "*" for a in s["Action"]}
    scoped = {a: s["Resource"] for s in published["Statement"] if s["Resource"] != "*" for a in s["Action"]}
    # Repository and named-resource writes are scoped (Service Authorization Reference: resource type repository,
    # queue, rule); registry-level ECR actions have no resource type and need "*".
    assert scoped["ecr:DeleteRepository"] == ["arn:aws:ecr:*:*:repository/hello-ecrlab"]
    assert scoped["sqs:DeleteQueue"] == ["arn:aws:sqs:*:*:ecr-critical-findings*"]
    assert scoped["events:DeleteRule"] == ["arn:aws:events:*:*:rule/ecr-critical-findings*"]
    assert {"ecr:PutRegistryPolicy", "ecr:DeleteRegistryPolicy", "ecr:PutReplicationConfiguration"} <= everywhere
    # The actions issue 22 found missing from the old policy, which was derived against an empty registry.
    assert {"ecr:UpdateRepositoryCreationTemplate", "ecr:DeleteRepositoryCreationTemplate"} <= everywhere
    assert {"ecr:DeletePullThroughCacheRule", "events:RemoveTargets"} <= everywhere | set(scoped)
    readme = (ROOT / "README.md").read_text()
    assert [a for a in everywhere if f"`{a}`" not in readme] == []  # the README says which actions need "*"
    assert "Rollback uses the same write actions" not in readme
    dry = {a for s in json.loads(DRY_RUN.read_text())["Statement"] for a in s["Action"]}
    writes = ("Create", "Put", "Delete", "Update", "Set", "Remove", "Attach", "Tag", "Untag")
    assert dry and not [a for a in dry if a.split(":")[1].startswith(writes)]
    assert dry <= everywhere | set(scoped)


@pytest.mark.slow
def test_every_runbook_dry_runs_applies_and_rolls_back_as_a_role_holding_exactly_the_published_policy(
    shared_registry, monkeypatch, tmp_path
):
    shared_registry.client().create_repository(repositoryName=CACHED_REPOSITORY)  # as iam-policy's registry has
    act_as_role(shared_registry, monkeypatch, "runbook-operator", json.loads(PUBLISHED.read_text()))
    for feature in RUNBOOKS:
        dry = run(feature, values(feature, apply=False), str(tmp_path))
        assert dry.get("error") is None, (feature, dry.get("error"))
        applied = run(feature, values(feature, apply=True), str(tmp_path))
        assert applied["outcome"] in ("applied", "no-changes"), (feature, applied.get("error"))
        assert applied["caller"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/runbook-operator/")
        results = rollback(applied, apply=True, expected_account_id=ACCOUNT)
        assert all(result.verified for result in results), feature
    others_intact(snapshot(shared_registry))


@pytest.mark.slow
def test_without_the_policy_a_dry_run_is_refused_and_the_dry_run_policy_cannot_apply(
    shared_registry, monkeypatch, tmp_path
):
    act_as_role(shared_registry, monkeypatch, "no-permissions", None)
    dry = run("templates", values("templates", apply=False), str(tmp_path))
    assert dry["outcome"] == "failed" and "AccessDenied" in dry["error"], dry.get("error")
    act_as_role(shared_registry, monkeypatch, "planner", json.loads(DRY_RUN.read_text()))
    dry = run("templates", values("templates", apply=False), str(tmp_path))
    assert dry.get("error") is None, dry.get("error")
    before = snapshot(shared_registry)
    applied = run("templates", values("templates", apply=True), str(tmp_path))
    assert applied["outcome"] == "failed", applied.get("error")
    assert "update creation-template/prod failed" in applied["error"]  # ecr:UpdateRepositoryCreationTemplate
    assert "AccessDeniedException" in applied["error"]
    assert snapshot(shared_registry) == before  # nothing written
