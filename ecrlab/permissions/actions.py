"""The ECR actions IAM knows, taken from botocore's ECR service model rather than retyped.

Every ECR API operation is an IAM action of the same name. Two actions have no public API
operation: `ReplicateImage` (ECR calls it internally for cross-account replication) and
`BatchImportUpstreamImage` (pull through cache), so they are added by hand.
"""

from __future__ import annotations

from functools import cache

from ecrlab.ecr_model import ecr_model
from ecrlab.permissions.patterns import glob_regex

INTERNAL_ACTIONS = ("ReplicateImage", "BatchImportUpstreamImage")
# Under REGISTRY_POLICY_SCOPE V1 the registry policy may hold and is enforced for only these.
V1_ACTIONS = ("ecr:ReplicateImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository")
_V1_LOWER = frozenset(a.lower() for a in V1_ACTIONS)
# Operations whose request names a repository act on a repository ARN; the rest act on the
# registry, which IAM evaluates against Resource "*".
_REPOSITORY_MEMBERS = frozenset({"repositoryName", "repositoryNames", "resourceArn"})


@cache
def ecr_actions() -> tuple[str, ...]:
    """Every ECR action as `ecr:Name`, sorted."""
    return tuple(sorted(f"ecr:{name}" for name in (*ecr_model().operation_names, *INTERNAL_ACTIONS)))


@cache
def repository_actions() -> frozenset[str]:
    """ECR actions that act on a repository (their request carries a repository name or ARN)."""
    model = ecr_model()
    scoped = {
        f"ecr:{name}"
        for name in model.operation_names
        if _REPOSITORY_MEMBERS & set(getattr(model.operation_model(name).input_shape, "members", {}))
    }
    return frozenset(scoped | {f"ecr:{name}" for name in INTERNAL_ACTIONS})


def expand_action(pattern: str) -> tuple[str, ...]:
    """The ECR actions an action pattern (`ecr:Describe*`, `ecr:*`) matches, case-insensitively."""
    regex = glob_regex([pattern], ignore_case=True)
    return tuple(action for action in ecr_actions() if regex.fullmatch(action))


# The V1-era guide (registry-permissions.html, docs/fidelity.md): "While it is possible to add the ecr:* action to a
# private registry permissions policy, it is considered best practice to only add the specific actions required".
V1_WILDCARD = "ecr:*"


def allowed_in_v1_policy(action: str) -> bool:
    """Whether a V1 registry policy may hold this action entry (the three V1 actions, or the whole-service wildcard)."""
    return in_v1_scope(action) or action.lower() == V1_WILDCARD


def in_v1_scope(action: str) -> bool:
    """Whether a V1 registry policy is enforced for this action."""
    return action.lower() in _V1_LOWER
