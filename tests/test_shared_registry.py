"""Runbooks on a registry other teams share: each team's change touches only its own parts, a reviewed plan is
applied only to the registry it read, concurrent changes are never lost silently, rollback keeps later changes.

Every runbook runs as a platform engineer runs it (`--target aws --apply`) against `ecrlab emulator serve`
populated by tests/shared_registry.py; expectations come from that fixture, read back through the plain AWS API.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from ecrlab import replication
from ecrlab.errors import GuardError
from ecrlab.plan import apply
from ecrlab.replication import ReplicationRule, ReplicationSpec
from ecrlab.runs import records, run, show
from tests.conftest import BIN
from tests.shared_registry import ACCOUNT, OTHER_RULES, OTHER_SIGNING_RULES, REGION, others_intact, snapshot

APPLY = {"target": "aws", "apply": True, "expected_account_id": ACCOUNT}
CACHE_RULE = [
    {
        "ecr_repository_prefix": "team-c-docker",
        "upstream_registry_url": "public.ecr.aws",
        "upstream_repository_prefix": "docker/library",
    }
]

# One team's change per runbook, and the parts of the snapshot it may change.
CHANGES = {
    "start-here": ({}, set()),
    "permissions": ({"admin_roles": ["platform-admin"]}, {"registry-policy"}),
    "pull-through-cache": ({"rules": CACHE_RULE}, {"pull-through-cache"}),
    "templates": ({"prefix": "team-c"}, {"templates"}),
    "replication": ({"destinations": ["us-west-2"], "repository_prefixes": ["team-c/"]}, {"replication"}),
    "scanning": ({"scan_on_push_filters": ["team-c/*"]}, {"scanning"}),
    "signing": ({"signing_profile": "team_c_release", "repository_filters": ["team-c/*"]}, {"signing"}),
    "pull-time-exclusions": ({"excluded_roles": ["platform-admin"]}, {"pull-time-exclusions"}),
    "baseline": ({}, {"registry-policy", "replication", "scanning", "templates"}),
}


def changed(before: dict, after: dict) -> set[str]:
    return {key for key in before if before[key] != after[key]}


@pytest.mark.slow
@pytest.mark.parametrize("feature", CHANGES)
def test_one_teams_change_leaves_every_other_part_unchanged(feature, shared_registry, tmp_path):
    values, allowed = CHANGES[feature]
    before = snapshot(shared_registry)
    record = run(feature, {**APPLY, **values}, str(tmp_path))
    assert record["outcome"] in ("applied", "no-changes"), record.get("error")
    after = snapshot(shared_registry)
    assert changed(before, after) <= allowed, changed(before, after)
    others_intact(after)
    for applied in record["applies"]:
        for change in applied["plan"]["changes"]:
            if "parts" in change:  # a shared setting: the plan names what it keeps, and removes nothing
                assert all(part["action"] != "delete" for part in change["parts"])
                assert change["kept"] >= 1
    if feature == "start-here":
        assert record["parameters"]["demo_repository"] is False  # no lesson repository in a real account
    if feature == "replication":
        rules = after["replication"]["rules"]
        assert rules[:2] == OTHER_RULES and len(rules) == 3  # appended, the others untouched and in order
    if feature == "signing":
        assert after["signing"][:1] == OTHER_SIGNING_RULES and len(after["signing"]) == 2  # appended, the other kept
    if feature == "scanning":
        assert "ecr-critical-findings" in after["eventbridge-rules"] and after["queues"] == before["queues"]


def ecrlab_cli(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "ecrlab"), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.slow
def test_a_reviewed_plan_is_applied_only_to_the_registry_it_read(shared_registry, tmp_path):
    args = ["run", "replication", "--target", "aws", "-p", 'destinations=["us-west-2"]', "-p"]
    args += ['repository_prefixes=["team-c/"]', "--output", str(tmp_path)]
    reviewed = ecrlab_cli(*args, "--plan-out", str(tmp_path / "plan.json"), cwd=tmp_path)
    assert reviewed.returncode == 0, reviewed.stderr
    assert (
        "1 rule(s) added, 0 changed, 0 removed; 2 rule(s) of others kept"
        in "".join(json.dumps(p) for p in [reviewed.stdout])
        or "kept    2 part(s) of others" in reviewed.stdout
    )
    # Another team changes the registry after the review.
    ecr = shared_registry.client()
    other = {"destinations": [{"region": "ap-south-1", "registryId": ACCOUNT}]}
    ecr.put_replication_configuration(replicationConfiguration={"rules": [*OTHER_RULES, other]})
    before = snapshot(shared_registry)
    refused = ecrlab_cli(
        "run", "replication", "--target", "aws", "--apply", "--expected-account-id", ACCOUNT,
        "--plan", str(tmp_path / "plan.json"), "--output", str(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "replication-configuration/registry is not as the reviewed plan read it" in refused.stdout
    assert snapshot(shared_registry) == before  # nothing written
    # Reviewed again on the registry as it is now, the plan applies.
    ecrlab_cli(*args, "--plan-out", str(tmp_path / "plan2.json"), cwd=tmp_path)
    applied = ecrlab_cli(
        "run", "replication", "--target", "aws", "--apply", "--expected-account-id", ACCOUNT,
        "--plan", str(tmp_path / "plan2.json"), "--output", str(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert applied.returncode == 0 and "applied" in applied.stdout, applied.stdout + applied.stderr
    assert snapshot(shared_registry)["replication"]["rules"][:3] == [*OTHER_RULES, other]


@pytest.mark.slow
def test_rollback_undoes_the_run_and_keeps_a_later_change_of_another_team(shared_registry, tmp_path):
    original = snapshot(shared_registry)
    values = {**APPLY, "destinations": ["us-west-2"], "repository_prefixes": ["team-c/"]}
    record = run("replication", values, str(tmp_path))
    assert record["outcome"] == "applied"
    assert (tmp_path / record["run_id"] / "backup.json").exists()  # the backups next to the record
    later = {"destinations": [{"region": "ap-south-1", "registryId": ACCOUNT}]}
    ecr = shared_registry.client()
    now = ecr.describe_registry()["replicationConfiguration"]["rules"]
    ecr.put_replication_configuration(replicationConfiguration={"rules": [*now, later]})
    proc = ecrlab_cli(
        "rollback", record["run_id"], "--runs", str(tmp_path), "--apply", "--expected-account-id", ACCOUNT,
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rules = ecr.describe_registry()["replicationConfiguration"]["rules"]
    assert rules == [*OTHER_RULES, later]  # the run's rule gone, the later rule of another team kept
    listed = ecrlab_cli("runs", "--runs", str(tmp_path), "list", cwd=tmp_path).stdout
    assert "rolled-back by " in listed and "rollback" in listed
    rollback_record = next(r for r in records(str(tmp_path)) if r.get("rollback_of") == record["run_id"])
    assert rollback_record["outcome"] == "rolled-back" and rollback_record["caller"]
    # Now the policy: the run's statement collides with a later edit of the same statement; refused unless --force.
    record = run("permissions", {**APPLY, "admin_roles": ["platform-admin"]}, str(tmp_path))
    text = ecr.get_registry_policy()["policyText"]
    edited = json.loads(text)
    edited["Statement"][-1]["Sid"] = edited["Statement"][-1]["Sid"]  # same Sid...
    edited["Statement"][-1]["Action"] = ["ecr:DeleteRepository"]  # ...edited by hand since
    ecr.put_registry_policy(policyText=json.dumps(edited))
    refused = ecrlab_cli(
        "rollback", record["run_id"], "--runs", str(tmp_path), "--apply", "--expected-account-id", ACCOUNT,
        cwd=tmp_path,
    )  # fmt: skip
    assert refused.returncode == 3 and "changed since the run" in refused.stdout, refused.stdout + refused.stderr
    forced = ecrlab_cli(
        "rollback", record["run_id"], "--runs", str(tmp_path), "--apply", "--force", "--expected-account-id",
        ACCOUNT, cwd=tmp_path,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert ecr.get_registry_policy()["policyText"] == original["registry-policy"]  # byte for byte


@pytest.mark.slow
@pytest.mark.parametrize(
    ("feature", "values", "operation"),
    [
        ("permissions", {"admin_roles": ["platform-admin"]}, "PutRegistryPolicy"),
        ("replication", {"destinations": ["us-west-2"]}, "PutReplicationConfiguration"),
        ("scanning", {"scan_on_push_filters": ["team-c/*"]}, "PutRegistryScanningConfiguration"),
        ("templates", {"prefix": "team-c"}, "CreateRepositoryCreationTemplate"),
        ("pull-through-cache", {"rules": CACHE_RULE}, "CreatePullThroughCacheRule"),
        ("baseline", {}, "PutReplicationConfiguration"),  # the last write: four settings written before it
    ],
)
def test_a_run_that_fails_on_a_write_is_rolled_back_to_the_registry_before_it(
    feature, values, operation, shared_registry, tmp_path
):
    before = snapshot(shared_registry)
    shared_registry.emulator.inject_fault(operation, "ServerException", 100)  # persistent: outlasts every retry
    record = run(feature, {**APPLY, **values}, str(tmp_path))
    shared_registry.emulator.inject_fault(operation, count=0)  # the fault ends
    assert record["outcome"] == "failed" and record["account_id"] == ACCOUNT and record["region"] == "us-east-1"
    assert record["backups"], "the backup of the failed write is recorded before the write"
    assert show(record["run_id"], str(tmp_path))["backups"] == record["backups"]
    proc = ecrlab_cli(
        "rollback", record["run_id"], "--runs", str(tmp_path), "--apply", "--expected-account-id", ACCOUNT,
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert snapshot(shared_registry) == before  # byte for byte


def test_two_plans_made_from_the_same_state_both_land(shared_registry):
    """The lost update: team C and team D plan from the same configuration, C writes, then D writes. D's write
    re-reads and merges its rule into what is there now, so C's rule stays."""
    team_c = ReplicationSpec((ReplicationRule.parse(ACCOUNT, ["us-west-2"], ["team-c/"]),))
    team_d = ReplicationSpec((ReplicationRule.parse(ACCOUNT, ["ap-south-1"], ["team-d/"]),))
    plan_c, plan_d = replication.plan(shared_registry, team_c), replication.plan(shared_registry, team_d)
    apply(plan_c, shared_registry, dry_run=False)
    result = apply(plan_d, shared_registry, dry_run=False)
    assert result.verified
    rules = shared_registry.client().describe_registry()["replicationConfiguration"]["rules"]
    assert rules[:2] == OTHER_RULES and team_c.to_api()["rules"][0] in rules and team_d.to_api()["rules"][0] in rules


def test_a_planned_part_changed_since_the_plan_refuses_and_writes_nothing(shared_registry):
    from ecrlab.permissions import RegistryPolicy
    from ecrlab.permissions import registry_policy as live
    from tests.shared_registry import OTHER_STATEMENTS

    mine = {**OTHER_STATEMENTS[2], "Resource": OTHER_STATEMENTS[2]["Resource"].replace("prod/", "prod-*")}
    plan = live.plan(shared_registry, RegistryPolicy({"Version": "2012-10-17", "Statement": [mine]}))
    assert [p.action for p in plan.changes[0].parts] == ["update"] and plan.changes[0].kept == 2
    theirs = json.loads(shared_registry.client().get_registry_policy()["policyText"])
    theirs["Statement"][2]["Action"] = ["ecr:DeleteRepository", "ecr:DeleteRegistryPolicy"]
    theirs["Statement"][0]["Action"] = ["ecr:ReplicateImage"]
    shared_registry.client().put_registry_policy(policyText=json.dumps(theirs))
    before = snapshot(shared_registry)
    with pytest.raises(GuardError, match="statements changed by someone else: team-sec-BreakGlassDeny\\)"):
        apply(plan, shared_registry, dry_run=False)
    assert snapshot(shared_registry) == before
    # A change to a part the plan does not touch (statement 0) does not stop a plan made after it.
    fresh = live.plan(shared_registry, RegistryPolicy({"Version": "2012-10-17", "Statement": [mine]}))
    apply(fresh, shared_registry, dry_run=False)
    after = json.loads(shared_registry.client().get_registry_policy()["policyText"])["Statement"]
    assert after == [theirs["Statement"][0], OTHER_STATEMENTS[1], mine]


def test_an_empty_list_plans_no_removal_unless_remove_unlisted(shared_registry):
    assert replication.plan(shared_registry, ReplicationSpec()).empty
    removal = replication.plan(shared_registry, ReplicationSpec(), remove_unlisted=True)
    labels = [part.to_dict(removal.changes[0].setting.parts)["label"] for part in removal.changes[0].parts]
    assert labels == ["team-a/* -> 123456789012/eu-west-1", "prod/* -> 444455556666/us-west-2"]
    text = removal.to_text()
    assert "0 rule(s) added, 0 changed, 2 removed; 0 rule(s) of others kept" in text
    assert "- rule prod/* -> 444455556666/us-west-2" in text


@pytest.mark.slow
def test_signing_remove_rules_takes_out_only_the_named_rule(shared_registry, tmp_path):
    """Team C replaces its signing rule: the run adds the new rule and `remove_rules` names the old one, spelled as
    the runbook spells a rule. Team A's rule (the fixture's) stays; a named rule that is not there plans nothing."""
    arn = f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/team_c_release"
    old = {"signingProfileArn": arn, "repositoryFilters": [{"filter": "team-c/*", "filterType": "WILDCARD_MATCH"}]}
    shared_registry.client().put_signing_configuration(signingConfiguration={"rules": [*OTHER_SIGNING_RULES, old]})
    removed = [
        {"signing_profile": "team_c_release", "repository_filters": ["team-c/*"]},
        {"signing_profile": arn, "repository_filters": ["team-d/*"]},  # no such rule
    ]
    values = {"signing_profile": "team_c_release", "repository_filters": '["team-c/*", "team-c-web/*"]'}
    record = run("signing", {**APPLY, **values, "remove_rules": json.dumps(removed)}, str(tmp_path))
    assert record["outcome"] == "applied", record.get("error")
    [change] = [change for applied in record["applies"] for change in applied["plan"]["changes"]]
    assert sorted(part["action"] for part in change["parts"]) == ["create", "delete"] and change["kept"] == 1
    new = {
        "signingProfileArn": arn,
        "repositoryFilters": [
            {"filter": "team-c/*", "filterType": "WILDCARD_MATCH"},
            {"filter": "team-c-web/*", "filterType": "WILDCARD_MATCH"},
        ],
    }
    after = snapshot(shared_registry)
    assert after["signing"] == [*OTHER_SIGNING_RULES, new]
    others_intact(after)


@pytest.mark.slow
def test_an_alert_never_takes_over_another_teams_rule_of_the_same_name(shared_registry, tmp_path):
    before = snapshot(shared_registry)
    refused = run("scanning", {**APPLY, "alert_target": "sqs"}, str(tmp_path))
    assert refused["outcome"] == "failed" and "alert_name" in refused["error"]
    assert snapshot(shared_registry) == before
    record = run("scanning", {**APPLY, "alert_target": "sqs", "alert_name": "team-c-critical"}, str(tmp_path))
    assert record["outcome"] == "applied", record.get("error")
    after = snapshot(shared_registry)
    others_intact(after)
    assert changed(before, after) == {"queues", "eventbridge-rules", "scanning"}  # and the default on-push "*"
    assert {k: v for k, v in after["queues"].items() if k != "team-c-critical"} == before["queues"]
    assert after["eventbridge-rules"]["team-c-critical"]["Targets"] == [
        ("sqs", f"arn:aws:sqs:us-east-1:{ACCOUNT}:team-c-critical")
    ]


def test_remove_unlisted_names_each_removed_statement_and_keeps_the_policy_version(shared_registry):
    from ecrlab.permissions import RegistryPolicy
    from ecrlab.permissions import registry_policy as live

    mine = {"Sid": "ecrlab-only", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}
    mine |= {"Action": "ecr:CreateRepository", "Resource": "*"}
    plan = live.plan(
        shared_registry, RegistryPolicy({"Version": "2012-10-17", "Statement": [mine]}), remove_unlisted=True
    )
    assert [(p.action, p.key) for p in plan.changes[0].parts] == [
        ("create", "Sid ecrlab-only"),
        ("delete", "Sid team-dr-ReplicationGrant"),
        ("delete", "Sid team-ci-PullThroughCache"),
        ("delete", "Sid team-sec-BreakGlassDeny"),
    ]
    assert "- statement team-sec-BreakGlassDeny" in plan.to_text()
    assert apply(plan, shared_registry, dry_run=False).verified
    assert json.loads(shared_registry.client().get_registry_policy()["policyText"]) == {
        "Version": "2012-10-17",
        "Statement": [mine],
    }


@pytest.mark.slow
def test_two_teams_applying_at_the_same_moment_never_lose_a_change_silently(shared_registry, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    teams = {
        "team-c": {**APPLY, "destinations": ["us-west-2"], "repository_prefixes": ["team-c/"]},
        "team-d": {**APPLY, "destinations": ["ap-south-1"], "repository_prefixes": ["team-d/"]},
    }
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(teams, pool.map(lambda v: run("replication", v, str(tmp_path)), teams.values()), strict=True))
    rules = shared_registry.client().describe_registry()["replicationConfiguration"]["rules"]
    assert rules[:2] == OTHER_RULES
    filters = {f["filter"] for r in rules for f in r.get("repositoryFilters", [])}
    written = {team for team in teams if f"{team}/" in filters}
    assert written, "at least one team's change lands"
    for team, record in done.items():
        # refused: the re-read before the write saw the other team's change (exit 3). failed: the other write landed
        # in the window ECR leaves between re-read and write (no conditional writes) and verification says so.
        assert record["outcome"] in ("applied", "refused", "failed"), record.get("error")
        if record["outcome"] == "failed":
            assert "VerificationError" in record["error"] and f"{team}/" in record["error"], record["error"]
        if team in written:
            assert record["outcome"] == "applied", team  # a change that is there was applied and recorded
    # What ECR cannot give: a run that re-read before the other team wrote, and writes after that team verified,
    # overwrites a verified change (PutReplicationConfiguration has no condition). The window is the time between
    # the re-read and the write: benchmarks/bench_write_window.py measures it (median under 1 ms).
    lost = {team for team, record in done.items() if record["outcome"] == "applied"} - written
    assert len(lost) <= 1, (lost, written)  # the last writer's change is there
