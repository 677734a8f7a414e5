"""The linter's evaluating and live checks, the who-can-do-what matrix, and the lockout guard.

The rules the expectations follow: an explicit Deny in any policy overrides every Allow
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html); a V2 registry policy is
enforced for every ECR action (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry-permissions.html); a
first pull through a cache rule needs the puller's ecr:CreateRepository and ecr:BatchImportUpstreamImage
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html); cross-account replication
needs ecr:ReplicateImage and ecr:CreateRepository for the source account in the destination's registry policy
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ecrlab.errors import GuardError
from ecrlab.permissions import (
    access_matrix,
    check_lockout,
    lint,
    matrix_html,
    matrix_table,
    merge,
    policy_preview,
    restrict_repository_admin,
)
from ecrlab.permissions import registry_policy as live
from ecrlab.permissions.policy import allow_pull_through_cache, allow_replication_from
from ecrlab.principals import act_as_role

ACCOUNT, REGION, SOURCE = "123456789012", "us-east-1", "444455556666"
DEVOPS = f"arn:aws:iam::{ACCOUNT}:role/devops-role"
CI = f"arn:aws:iam::{ACCOUNT}:role/ci-role"


def naive() -> live.RegistryPolicy:
    """Today's composition before issue 15: the builders merged, the grants under the admin Deny."""
    return merge(
        restrict_repository_admin(ACCOUNT, [DEVOPS], region=REGION),
        allow_replication_from([SOURCE], ACCOUNT, REGION),
        allow_pull_through_cache([CI], ACCOUNT, REGION, "ecr-public"),
    )


def composed() -> live.RegistryPolicy:
    return live.from_intents(
        ACCOUNT,
        REGION,
        admin_principals=[DEVOPS],
        replication_sources=[SOURCE],
        pull_through_cache_principals=[CI],
        pull_through_cache_prefix="ecr-public",
    )


def codes(findings) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in findings]


def test_lint_names_the_grant_and_the_deny_that_shadows_it():
    findings = [f for f in lint(naive(), account_id=ACCOUNT, region=REGION) if "shadowed" in f.code]
    assert codes(findings) == [("grant-partly-shadowed", "Statement[1]"), ("grant-partly-shadowed", "Statement[2]")]
    replication, cache = findings
    assert "'ReplicationAccessCrossAccount'" in replication.message
    assert "'DenyRepositoryAdminExceptListed'" in replication.message
    assert f"ecr:CreateRepository for arn:aws:iam::{SOURCE}:root" in replication.message
    assert "ecr:ReplicateImage for" not in replication.message  # the Deny does not cover it
    assert f"ecr:CreateRepository for {CI}" in cache.message
    assert replication.source.endswith("reference_policies_evaluation-logic.html")


def test_a_deny_covering_all_of_a_grant_shadows_it_fully():
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Grant", "Effect": "Allow", "Principal": {"AWS": CI}, "Action": "ecr:CreateRepository",
             "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/*"},
            {"Sid": "NoCreate", "Effect": "Deny", "Principal": "*", "Action": "ecr:Create*",
             "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*"},
        ],
    }  # fmt: skip
    findings = [f for f in lint(policy, account_id=ACCOUNT) if "shadowed" in f.code]
    assert [(f.severity, f.code, f.path) for f in findings] == [("error", "grant-shadowed", "Statement[0]")]
    assert "'Grant'" in findings[0].message and "'NoCreate'" in findings[0].message


def test_from_intents_has_no_shadowed_grant():
    assert not [f for f in lint(composed(), account_id=ACCOUNT, region=REGION) if "shadowed" in f.code]


@pytest.fixture
def lab(registry):
    """The lesson's account: three ecr:* roles and an ECR Public pull through cache rule."""
    for role in ("dev-role", "devops-role", "ci-role"):
        act_as_role(registry, role)
    registry.client().create_pull_through_cache_rule(
        ecrRepositoryPrefix="ecr-public", upstreamRegistryUrl="public.ecr.aws"
    )
    return registry


def test_live_lint_finds_the_blocked_cache_and_replication_flows(lab):
    findings = [f for f in lint(naive(), registry=lab) if f.code == "flow-blocked"]
    assert [f.path for f in findings] == ["Statement[0]", "Statement[0]"]
    cache, replication = findings
    assert "pull through cache rule 'ecr-public'" in cache.message and "role/ci-role" in cache.message
    assert "role/devops-role" not in cache.message  # the admin keeps it
    assert f"replication from account {SOURCE}" in replication.message
    assert not [f for f in lint(composed(), registry=lab) if f.code == "flow-blocked"]


def test_live_lint_finds_create_on_push_blocked_for_everyone_but_the_admins(lab):
    lab.client().create_repository_creation_template(prefix="ROOT", appliedFor=["CREATE_ON_PUSH"])
    admins_only = live.from_intents(ACCOUNT, REGION, admin_principals=[DEVOPS])
    (blocked,) = [f for f in lint(admins_only, registry=lab) if "CREATE_ON_PUSH" in f.message]
    assert blocked.code == "flow-blocked" and "role/ci-role, role/dev-role" in blocked.message


def test_live_lint_finds_principals_that_do_not_exist(lab):
    typo = live.from_intents(ACCOUNT, REGION, admin_principals=[f"arn:aws:iam::{ACCOUNT}:role/devops"])
    missing = [f for f in lint(typo, registry=lab) if f.code == "principal-not-found"]
    assert codes(missing) == [("principal-not-found", "Statement[0].Condition.ArnNotLike.aws:PrincipalArn")]
    assert f"arn:aws:iam::{ACCOUNT}:role/devops names a role" in missing[0].message


def lockout_policy(admin: str) -> live.RegistryPolicy:
    actions = ["ecr:CreateRepository", "ecr:DeleteRepository", "ecr:PutRegistryPolicy", "ecr:DeleteRegistryPolicy"]
    return restrict_repository_admin(ACCOUNT, [admin], actions)


def test_a_policy_nobody_who_exists_could_change_is_a_lockout_and_apply_refuses_it(lab):
    policy = lockout_policy(f"arn:aws:iam::{ACCOUNT}:role/devops")  # a typo: the role is devops-role
    found = {f.code for f in lint(policy, registry=lab)}
    assert {"lockout", "admins-locked-out", "caller-locked-out", "principal-not-found"} <= found
    with pytest.raises(GuardError, match="Nothing was written"):
        check_lockout(lab, policy)
    assert {f.code for f in check_lockout(lab, policy, force=True)} == {"lockout", "admins-locked-out",
                                                                        "caller-locked-out"}  # fmt: skip
    fixed = lockout_policy(DEVOPS)
    assert {f.code for f in lint(fixed, registry=lab)} & {"lockout", "admins-locked-out"} == set()
    assert "caller-locked-out" in {f.code for f in lint(fixed, registry=lab)}  # the demo caller is no admin


def test_the_matrix_marks_what_changes_for_real_principals_and_replication_sources(lab):
    matrix = access_matrix(lab, None, naive())
    cell = matrix.set_index(["principal", "action", "resource"])
    assert cell.loc[("role/dev-role", "ecr:CreateRepository", "new-app"), ["before", "after", "changed"]].tolist() == [
        "Allowed", "ExplicitlyDenied", True]  # fmt: skip
    assert not cell.loc[("role/devops-role", "ecr:CreateRepository", "new-app"), "changed"]
    assert cell.loc[("role/ci-role", "ecr:CreateRepository", "ecr-public/*"), "after"] == "ExplicitlyDenied"
    assert cell.loc[(SOURCE, "ecr:ReplicateImage", "new-app"), ["before", "after"]].tolist() == [
        "ImplicitlyDenied", "Allowed"]  # fmt: skip
    assert set(matrix["kind"]) == {"role", "root", "replication source"}
    table = matrix_table(matrix)
    assert table.loc["role/dev-role", "CreateRepository"] == "allow → DENY"
    assert table.loc["role/devops-role", "CreateRepository"] == "allow"
    assert "allow → DENY" in matrix_html(matrix) and "background:#fff3cd" in matrix_html(matrix)
    after = access_matrix(lab, None, composed()).set_index(["principal", "action", "resource"])
    assert after.loc[("role/ci-role", "ecr:CreateRepository", "ecr-public/*"), "after"] == "Allowed"
    assert after.loc[(SOURCE, "ecr:CreateRepository", "new-app"), "after"] == "Allowed"


def test_the_preview_goes_into_a_json_record(lab):
    preview = policy_preview(lab, composed())
    record = json.loads(json.dumps(preview.to_record()))
    assert record["changed_cells"] == int(preview.matrix["changed"].sum()) > 0
    assert {"principal", "action", "before", "after", "changed"} <= set(record["access_matrix"][0])
    assert "Who can do what" in str(preview) and "allow → DENY" in preview._repr_html_()


def test_a_preview_reads_each_thing_once_however_many_principals_and_actions_it_evaluates(lab):
    """Its lint, blocked flows, lockout check and matrix judge the same account: one request per thing read."""
    requests: Counter = Counter()

    def count(model, params, **_):
        requests[(model.name, json.dumps(params, sort_keys=True))] += 1

    for service in ("ecr", "iam"):
        lab.client(service).meta.events.register(f"before-parameter-build.{service}.*", count)
    preview = policy_preview(lab, composed())
    assert len(preview.matrix) > 3 * 2  # several principals × several actions were evaluated
    assert [key for key, n in requests.items() if n > 1] == []
    roles = {json.loads(params)["RoleName"] for name, params in requests if name == "ListRolePolicies"}
    assert roles == {"dev-role", "devops-role", "ci-role"}
    assert {name for name, _ in requests} >= {"ListRoles", "GetRegistryPolicy", "GetAccountSetting"}
