"""Automatic checks for the notebooks' exercises: right or wrong, and why, in one sentence."""

from __future__ import annotations

from typing import Any

from ecrlab.permissions import simulate

_ACCOUNT = "123456789012"
_ALL_ECR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}


def check_only_ci_deletes(policy: dict[str, Any] | None) -> str:
    """Exercise 01: a registry policy under which only ci-role deletes repositories and everyone may create."""
    if policy is None:
        return "Not yet: set my_policy to a registry policy document (a dict) and run this cell again."
    resource = f"arn:aws:ecr:us-east-1:{_ACCOUNT}:repository/app"
    cases = [
        ("ci-role", "ecr:DeleteRepository", True),
        ("dev-role", "ecr:DeleteRepository", False),
        ("dev-role", "ecr:CreateRepository", True),
        ("ci-role", "ecr:CreateRepository", True),
    ]
    for role, action, expected in cases:
        decision = simulate(
            f"arn:aws:iam::{_ACCOUNT}:role/{role}",
            action,
            resource,
            identity_policies={"ecr-all": _ALL_ECR},
            registry_policy=policy,
            resource_account=_ACCOUNT,
        )
        if decision.allowed != expected:
            verb = "may" if expected else "must not"
            return (
                f"Not yet: {role} {verb} perform {action}, but the simulator says {decision.outcome}. "
                f"{decision.explanation}"
            )
    return "Right: only ci-role can delete repositories, and creating is still open to everyone in the account."
