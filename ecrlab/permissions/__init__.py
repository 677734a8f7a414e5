"""Registry permissions: the policy spec and builders, a linter, and an explainable access simulator."""

from ecrlab.permissions.access import access_matrix, check_lockout, lockout_problems, matrix_html, matrix_table
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
from ecrlab.permissions.preview import PolicyPreview, policy_preview
from ecrlab.permissions.simulate import Decision, StatementRef, simulate

__all__ = [
    "CompiledPolicy",
    "Decision",
    "Finding",
    "PolicyPreview",
    "RegistryPolicy",
    "Statement",
    "StatementRef",
    "access_matrix",
    "allow_pull_through_cache",
    "allow_replication_from",
    "check_lockout",
    "compile_policy",
    "lint",
    "lockout_problems",
    "matrix_html",
    "matrix_table",
    "merge",
    "policy_preview",
    "restrict_repository_admin",
    "simulate",
]
