"""Archiving images by hand and seeing a repository's images by storage status (ACTIVE, ARCHIVED, ACTIVATING).

An archived image is listed but cannot be pulled; a restore takes up to 20 minutes (on the emulator, 20 minutes of
its clock, or `settle()`), and pushing the image again also restores it (user guide, "Archiving an image").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecrlab.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

COLUMNS = ["tags", "digest", "status", "pushed_at", "last_pulled_at", "archived_at", "restored_at"]


def _image_id(tag: str | None, digest: str | None) -> dict[str, str]:
    if not tag and not digest:
        raise ValidationError("tag", None, "give the image's tag or digest")
    return {"imageTag": tag} if tag else {"imageDigest": digest or ""}


def _transition(registry: Registry, repository: str, image_id: dict[str, str], target: str) -> str:
    answer = registry.client().update_image_storage_class(
        repositoryName=repository, imageId=image_id, targetStorageClass=target
    )
    return answer["imageStatus"]


def archive(registry: Registry, repository: str, tag: str | None = None, digest: str | None = None) -> str:
    """Move the image to the ARCHIVE storage class; returns its status (ARCHIVED)."""
    return _transition(registry, repository, _image_id(tag, digest), "ARCHIVE")


def restore(registry: Registry, repository: str, tag: str | None = None, digest: str | None = None) -> str:
    """Start restoring an archived image; returns its status (ACTIVATING until the restore completes)."""
    return _transition(registry, repository, _image_id(tag, digest), "STANDARD")


def images(registry: Registry, repository: str) -> pd.DataFrame:
    """Every image of `repository` whatever its status, oldest push first."""
    import pandas as pd

    details: list[dict[str, Any]] = []
    params: dict[str, Any] = {"repositoryName": repository, "filter": {"imageStatus": "ANY"}}
    ecr = registry.client()
    while True:
        answer = ecr.describe_images(**params)
        details += answer["imageDetails"]
        if "nextToken" not in answer:
            break
        params["nextToken"] = answer["nextToken"]
    rows = [
        (
            ", ".join(sorted(d.get("imageTags", []))),
            d["imageDigest"],
            d.get("imageStatus", "ACTIVE"),
            d.get("imagePushedAt"),
            d.get("lastRecordedPullTime"),
            d.get("lastArchivedAt"),
            d.get("lastActivatedAt"),
        )
        for d in sorted(details, key=lambda d: (d["imagePushedAt"], d["imageDigest"]))
    ]
    return pd.DataFrame(rows, columns=COLUMNS)
