"""Decisions per second of the permissions simulator on one core, over a typical mixed workload.

The policy set is what a platform team runs: three identity policies, a registry policy with a
conditional Deny and cross-account grants, and a repository policy. Prints figures only.
"""

from __future__ import annotations

import itertools
import json
import time

from ecrlab.permissions import (
    RegistryPolicy,
    allow_pull_through_cache,
    allow_replication_from,
    merge,
    restrict_repository_admin,
    simulate,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
DECISIONS = 50_000

IDENTITY = {
    "dev": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "AllowAll", "Effect": "Allow", "Action": "ecr:*", "Resource": "*"},
            ],
        }
    ),
    "readonly": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Read",
                    "Effect": "Allow",
                    "Action": [
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:Describe*",
                        "ecr:List*",
                    ],
                    "Resource": "*",
                },
                {"Sid": "NoDeletes", "Effect": "Deny", "Action": "ecr:Delete*", "Resource": "*"},
            ],
        }
    ),
    "ci": json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Push",
                    "Effect": "Allow",
                    "NotAction": ["ecr:Delete*", "ecr:Put*Policy"],
                    "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team-*",
                    "Condition": {"Bool": {"aws:SecureTransport": "true"}},
                },
            ],
        }
    ),
}
REGISTRY = merge(
    restrict_repository_admin(ACCOUNT, [f"arn:aws:iam::{ACCOUNT}:role/devops-*"], region=REGION),
    allow_replication_from(["444455556666", "777788889999"], ACCOUNT, REGION),
    allow_pull_through_cache([f"arn:aws:iam::{ACCOUNT}:role/ci-role"], ACCOUNT, REGION, "ecr-public"),
)
REPOSITORY = RegistryPolicy(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CrossAccountPull",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Condition": {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
            },
        ],
    }
)

PRINCIPALS = [
    f"arn:aws:sts::{ACCOUNT}:assumed-role/dev-role/alice",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/devops-admin/bob",
    f"arn:aws:iam::{ACCOUNT}:user/ci",
    "arn:aws:iam::444455556666:root",
    "arn:aws:sts::444455556666:assumed-role/puller/job",
]
ACTIONS = [
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecr:BatchGetImage",
    "ecr:PutImage",
    "ecr:ReplicateImage",
    "ecr:DescribeImages",
    "ecr:BatchImportUpstreamImage",
]
RESOURCES = [
    f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team-a/api",
    f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/web",
]
POLICY_SETS = [IDENTITY, {"readonly": IDENTITY["readonly"]}, {"ci": IDENTITY["ci"], "dev": IDENTITY["dev"]}]


def main() -> None:
    requests = list(
        itertools.islice(itertools.cycle(itertools.product(PRINCIPALS, ACTIONS, RESOURCES, POLICY_SETS)), DECISIONS)
    )
    outcomes: dict[str, int] = {}
    start = time.perf_counter()
    for principal, action, resource, identity in requests:
        decision = simulate(
            principal,
            action,
            resource,
            identity_policies=identity,
            registry_policy=REGISTRY,
            repository_policy=REPOSITORY,
            resource_account=ACCOUNT,
        )
        outcomes[decision.outcome] = outcomes.get(decision.outcome, 0) + 1
    elapsed = time.perf_counter() - start
    print(f"decisions checked: {len(requests)}")
    print(f"elapsed seconds: {elapsed:.3f}")
    print(f"decisions per second: {len(requests) / elapsed:,.0f}")
    print("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())))


if __name__ == "__main__":
    main()
