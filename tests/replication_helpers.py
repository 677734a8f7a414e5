"""Shared by several test modules (moved from test_replication_emulator.py so no test module imports another)."""

from __future__ import annotations

import json

from tests.conftest import ROOT
from tests.oci import OCI_MANIFEST

IMAGES = ROOT / "data" / "images"


ACCOUNT, OTHER = "123456789012", "444455556666"


def rule(*destinations: str, prefixes: tuple[str, ...] = (), deletes: bool | None = None) -> dict:
    """A rule in API form; a destination is REGION (demo account) or ACCOUNT/REGION."""
    api: dict = {
        "destinations": [
            {"region": d.split("/")[-1], "registryId": d.split("/")[0] if "/" in d else ACCOUNT} for d in destinations
        ]
    }
    if prefixes:
        api["repositoryFilters"] = [{"filter": p, "filterType": "PREFIX_MATCH"} for p in prefixes]
    if deletes is not None:
        api["deleteReplication"] = {"enabled": deletes}
    return api


def configure(registry, *rules: dict) -> dict:
    return registry.client().put_replication_configuration(replicationConfiguration={"rules": list(rules)})


def put(registry, repository: str, tag: str | None, n: int = 0) -> str:
    """PutImage of a small manifest (no blobs), distinct per `n`; returns its digest."""
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "annotations": {"n": str(n)}})
    params = {"imageTag": tag} if tag else {}
    found = registry.client().put_image(repositoryName=repository, imageManifest=manifest, **params)
    return found["image"]["imageId"]["imageDigest"]


def statuses(registry, repository: str, digest: str) -> list[tuple[str, str, str]]:
    answer = registry.client().describe_image_replication_status(
        repositoryName=repository, imageId={"imageDigest": digest}
    )
    return [
        (f"{s['registryId']}/{s['region']}", s["status"], s.get("failureCode", ""))
        for s in answer["replicationStatuses"]
    ]


def tags_in(registry, repository: str) -> dict[str, list[str]]:
    try:
        details = registry.client().describe_images(repositoryName=repository)["imageDetails"]
    except registry.client().exceptions.RepositoryNotFoundException:
        return {}
    return {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in details}
