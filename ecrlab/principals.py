"""Principals for lessons: create a role with an identity policy and act as it, to watch decisions live.

This writes IAM, so lessons call it against the emulator only; runbooks never do.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecrlab.registry import Registry


def role_arn(registry: Registry, name_or_arn: str) -> str:
    """A role name becomes its ARN in this registry's account; an ARN is kept as given."""
    return name_or_arn if name_or_arn.startswith("arn:") else f"arn:aws:iam::{registry.account_id}:role/{name_or_arn}"


def role_arns(registry: Registry, names_or_arns: Sequence[str]) -> list[str]:
    return [role_arn(registry, name) for name in names_or_arns]


def act_as_role(registry: Registry, name: str, actions: Sequence[str] = ("ecr:*",)) -> Registry:
    """Create role `name` (trusted by this account) allowing `actions` on "*", then assume it."""
    iam = registry.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": f"arn:aws:iam::{registry.account_id}:root"},
            }
        ],
    }
    identity = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=name, PolicyName=f"{name}-ecr", PolicyDocument=json.dumps(identity))
    return registry.assume_role(role_arn(registry, name), session_name=name)
