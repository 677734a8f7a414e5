"""Rollback from any state: a persistent fault on a setting's write or on the read that verifies it leaves a backup
of every setting the apply may have written, and restoring it gives back the registry byte for byte.

Faults come from the emulator's fault injection (the server answers with AWS's ServerException); they start right
after the write they follow, as an outage that begins mid-apply would. The runbooks' own runs with a persistent
fault on each write are in test_shared_registry.py.
"""

from __future__ import annotations

import pytest

from ecrlab import pull_through_cache, replication, repositories, scanning, templates
from ecrlab.baseline import Baseline
from ecrlab.errors import ApplyError, VerificationError
from ecrlab.parameters import runbook
from ecrlab.permissions import registry_policy as live
from ecrlab.plan import apply, restore
from ecrlab.pull_through_cache import PullThroughCacheRule
from ecrlab.replication import ReplicationRule, ReplicationSpec
from ecrlab.repositories import RepositorySpec
from ecrlab.scanning import ScanningSpec
from ecrlab.templates import TemplateSpec
from tests.shared_registry import ACCOUNT, populate, snapshot

PERSISTENT = 100  # the most that may wait, more than botocore retries: down for the rest of the apply


def team_c_plans(registry):
    """One team's change per runbook, as its notebook's last cell plans it (name: plan, write, verifying read)."""
    policy = live.from_intents(ACCOUNT, "us-east-1", admin_principals=[f"arn:aws:iam::{ACCOUNT}:role/platform"])
    baseline = Baseline.from_parameters(runbook("baseline").validate({"target": "aws"}), registry)
    return {
        "start-here": (
            repositories.plan(registry, RepositorySpec("hello-ecrlab")),
            "CreateRepository",
            "DescribeRepositories",
        ),
        "permissions": (live.plan(registry, policy), "PutRegistryPolicy", "GetRegistryPolicy"),
        "pull-through-cache": (
            pull_through_cache.plan(registry, PullThroughCacheRule("docker", "public.ecr.aws")),
            "CreatePullThroughCacheRule",
            "DescribePullThroughCacheRules",
        ),
        "templates": (
            templates.plan(registry, TemplateSpec("team-c", "CREATE_ON_PUSH")),
            "CreateRepositoryCreationTemplate",
            "DescribeRepositoryCreationTemplates",
        ),
        "replication": (
            replication.plan(registry, ReplicationSpec((ReplicationRule.parse(ACCOUNT, ["us-west-2"], ["team-c/"]),))),
            "PutReplicationConfiguration",
            "DescribeRegistry",
        ),
        "scanning": (
            scanning.plan(registry, ScanningSpec("ENHANCED", on_push=["team-c/*"])),
            "PutRegistryScanningConfiguration",
            "GetRegistryScanningConfiguration",
        ),
        # The last of five settings: four are written before the fault.
        "baseline": (baseline.plan(registry), "PutReplicationConfiguration", "DescribeRegistry"),
    }


@pytest.fixture
def shared(registry):
    populate(registry)
    return registry


@pytest.mark.parametrize("where", ["write", "verifying read"])
@pytest.mark.parametrize("feature", ["start-here", "permissions", "pull-through-cache", "templates", "replication",
                                     "scanning", "baseline"])  # fmt: skip
def test_a_persistent_fault_anywhere_is_rolled_back_byte_for_byte(feature, where, shared):
    before = snapshot(shared)
    plan, write, read = team_c_plans(shared)[feature]
    assert not plan.empty

    def outage(**_: object) -> None:
        shared.emulator.inject_fault(read, "ServerException", PERSISTENT)

    if where == "write":
        shared.emulator.inject_fault(write, "ServerException", PERSISTENT)
    else:  # the outage starts the moment the write succeeded
        shared.client().meta.events.register(f"after-call.ecr.{write}", outage)
    recorded = []
    expected = ApplyError if where == "write" else VerificationError
    with pytest.raises(expected):
        apply(plan, shared, dry_run=False, on_backup=recorded.append)
    shared.emulator.inject_fault(write if where == "write" else read, count=0)  # the outage ends
    shared.client().meta.events.unregister(f"after-call.ecr.{write}", outage)
    # Every setting the apply reached is in the record, with where it was, before its write.
    assert [entry["kind"] for entry in recorded] == [c.setting.kind for c in plan.changes]
    backup = {"account_id": plan.account_id, "region": plan.region, "settings": recorded}
    restore(shared, backup, dry_run=False)
    assert snapshot(shared) == before
