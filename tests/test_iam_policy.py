"""The runbooks' least-privilege IAM policy comes from the calls they really make."""

from __future__ import annotations

from ecrlab.iam_policy import generate, least_privilege


def test_least_privilege_groups_and_sorts_by_service():
    policy = least_privilege(
        ["sts:GetCallerIdentity", "ecr:PutRegistryPolicy", "ecr:GetRegistryPolicy", "ecr:GetRegistryPolicy"]
    )
    assert policy["Statement"] == [
        {
            "Sid": "RunbooksEcr",
            "Effect": "Allow",
            "Action": ["ecr:GetRegistryPolicy", "ecr:PutRegistryPolicy"],
            "Resource": "*",
        },
        {"Sid": "RunbooksSts", "Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"},
    ]


def test_dry_run_needs_only_reads_and_apply_adds_the_writes():
    dry = {a for s in generate(["start-here"], apply=False)["Statement"] for a in s["Action"]}
    assert {"ecr:DescribeRepositories", "ecr:GetAccountSetting", "sts:GetCallerIdentity"} <= dry
    assert not any(a.split(":")[1].startswith(("Create", "Put", "Delete")) for a in dry)
    applied = {a for s in generate(["start-here"], apply=True)["Statement"] for a in s["Action"]}
    assert "ecr:CreateRepository" in applied and dry <= applied
