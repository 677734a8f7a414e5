"""Registry permissions: the policy spec and builders, a linter, and an explainable access simulator."""

from ecrlab.permissions.compiled import CompiledPolicy, compile_policy
from ecrlab.permissions.findings import Finding
from ecrlab.permissions.lint import lint
from ecrlab.permissions.policy import (
    RegistryPolicy,
    Statement,
    allow_pull_through_cache,
    allow_replication_from,
    merge,
    restrict_repository_admin,
)
from ecrlab.permissions.simulate import Decision, StatementRef, simulate

__all__ = [
    "CompiledPolicy",
    "Decision",
    "Finding",
    "RegistryPolicy",
    "Statement",
    "StatementRef",
    "allow_pull_through_cache",
    "allow_replication_from",
    "compile_policy",
    "lint",
    "merge",
    "restrict_repository_admin",
    "simulate",
]
