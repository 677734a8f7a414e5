"""Cross-repository blob mounting: when a push's `POST .../blobs/uploads/?mount=<digest>&from=<repo>` mounts.

AWS (user guide, "Blob mounting in Amazon ECR"): the BLOB_MOUNTING account setting (ENABLED or DISABLED, model)
turns it on; ECR mounts only when the client's POST carries the mount parameters; mounting works only within the
same registry; both repositories must use the same encryption type and key; images created through pull through
cache cannot be mounted; the pusher needs ecr:GetDownloadUrlForLayer on the source repository; turning the setting
off leaves existing mounts in place. Anything else is a normal upload (202), as the distribution spec lets a
registry answer. That a pull-through-cache repository can be neither source nor target is UNCONFIRMED [U7].
"""

from __future__ import annotations

from ecrlab.emulator.account_settings_operations import setting_value
from ecrlab.emulator.authorization import denial
from ecrlab.emulator.moto_compat import ECRBackend, Repository, ServiceException, get_repository
from ecrlab.emulator.pull_through_cache_operations import rule_for


def _encryption(repository: Repository) -> tuple[str, str]:
    config = repository.encryption_configuration or {}
    return (config.get("encryptionType", "AES256"), config.get("kmsKey", ""))


def mount_source(
    backend: ECRBackend, principal: str, target: Repository, source: str, digest: str
) -> Repository | None:
    """The repository whose blob `digest` a push to `target` may mount from `source`, or None (upload instead)."""
    if setting_value(backend, "BLOB_MOUNTING") != "ENABLED":
        return None
    try:
        origin = get_repository(backend, source)
    except ServiceException:
        return None
    if digest not in origin.layers or _encryption(origin) != _encryption(target):
        return None
    if rule_for(backend, origin.name) is not None or rule_for(backend, target.name) is not None:
        return None
    if denial(principal, backend.account_id, backend.region_name, "ecr:GetDownloadUrlForLayer", origin.name):
        return None
    return origin
