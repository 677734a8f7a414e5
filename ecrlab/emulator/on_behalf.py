"""Repositories ECR creates on a caller's behalf: whose permission is checked before it does.

- **Pull through cache** (documented, pull-through-cache-iam.html): the pulling principal needs
  `ecr:CreateRepository` when the cache repository does not exist yet and `ecr:BatchImportUpstreamImage`,
  granted by an identity policy or the registry policy; an explicit Deny in either overrides.
  `pull_through.py` asks `denial` for both before a miss is filled.
- **Create on push** (UNCONFIRMED [U28], docs/fidelity.md): the pushing principal needs `ecr:CreateRepository` on the
  repository a `CREATE_ON_PUSH` template would create, decided like any request (identity, registry and
  repository policies). AWS documents the template as the only switch; the need for the permission is
  reported (dev.classmethod.jp/articles/amazon-ecr-create-repository-on-push-cli) but not documented, and one
  user reports a cross-account pusher creating empty
  repositories (aws/containers-roadmap#853), which this emulator does not allow (only same-account pushes
  create).
- **Replication** into a registry: the source account is checked against the destination's policies in
  `replication.py` (documented, replication.html).
"""

from __future__ import annotations

from ecrlab.emulator.authorization import denial
from ecrlab.emulator.moto_compat import ECRBackend
from ecrlab.emulator.templates_operations import template_for


def create_on_push_denial(backend: ECRBackend, principal: str, name: str) -> str | None:
    """AWS's AccessDenied sentence when a push to missing `name` would create it but `principal` may not."""
    if name in backend.repositories or template_for(backend, name, "CREATE_ON_PUSH").template is None:
        return None
    return denial(principal, backend.account_id, backend.region_name, "ecr:CreateRepository", name)
