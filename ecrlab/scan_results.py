"""Scans and their findings: start a basic scan, and read findings as a DataFrame (one row per image,
vulnerability and package), most severe first, so a learner can filter them and a runbook can save them.

Only ECR calls, so the same code runs against AWS and the emulator. Counting (`severity_counts`) and the order of
ECR's severity scale (`SEVERITIES`, `severity_rank`) live here because the chart and the CI gate read them.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ecrlab.errors import EcrlabError, ValidationError
from ecrlab.scan_waits import UNFINISHED, wait_for_running_scan

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

FINDING_COLUMNS = ["repository", "tag", "digest", "id", "severity", "package", "installed", "fixed", "source"]
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}
_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
_FINISHED = ("COMPLETE", "ACTIVE")  # ACTIVE: an enhanced (Inspector) scan that has findings to read


class NotScannedError(EcrlabError):
    """The image has no finished scan to read (never scanned, still in progress, or its OS is not supported)."""


class ScanQuotaError(EcrlabError):
    """ECR scans an image at most once per 24 hours, scan on push included."""


def severity_rank(severity: str) -> int:
    """Where a severity stands on ECR's scale, 0 the most severe; a severity ECR does not name sorts last."""
    return _RANK.get(severity, len(SEVERITIES))


def _image_id(tag: str | None, digest: str | None) -> dict[str, str]:
    return {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}


def start_scan(registry: Registry, repository: str, *, tag: str | None = None, digest: str | None = None) -> str:
    """Start a basic scan and return its status; `ScanQuotaError` (with when to retry) inside the 24 hours."""
    ecr = registry.client()
    try:
        response = ecr.start_image_scan(repositoryName=repository, imageId=_image_id(tag, digest))
    except ecr.exceptions.LimitExceededException:
        scanned = _describe(registry, repository, _image_id(tag, digest))
        when = (scanned or {}).get("imageScanFindings", {}).get("imageScanCompletedAt")
        after = ""
        if when:
            retry = when + timedelta(hours=24)
            after = f"; the last one finished at {when:%Y-%m-%d %H:%M %Z}, try again after {retry:%Y-%m-%d %H:%M %Z}"
        raise ScanQuotaError(
            f"{repository}: ECR scans an image at most once per 24 hours, scan on push included{after}. "
            "Read the existing findings meanwhile."
        ) from None
    return response["imageScanStatus"]["status"]


def _describe(registry: Registry, repository: str, image_id: dict[str, str]) -> dict[str, Any] | None:
    """Every page of DescribeImageScanFindings merged, once the scan finished; None when the image was never scanned.

    The first page also tells whether the scan is still running: only then is it waited for and read again.
    """
    merged = _merged_pages(registry, repository, image_id)
    if merged is not None and merged["imageScanStatus"]["status"] in UNFINISHED:
        wait_for_running_scan(registry, repository, image_id)
        merged = _merged_pages(registry, repository, image_id)
    return merged


def _merged_pages(registry: Registry, repository: str, image_id: dict[str, str]) -> dict[str, Any] | None:
    ecr = registry.client()
    merged: dict[str, Any] | None = None
    try:
        for page in ecr.get_paginator("describe_image_scan_findings").paginate(
            repositoryName=repository, imageId=image_id
        ):
            if merged is None:
                merged = {**page, "imageScanFindings": dict(page.get("imageScanFindings") or {})}
                if page["imageScanStatus"]["status"] in UNFINISHED:
                    return merged  # no findings yet: the caller waits and reads again
                continue
            for key in ("findings", "enhancedFindings"):
                if key in page.get("imageScanFindings", {}):
                    merged["imageScanFindings"][key] = (
                        merged["imageScanFindings"].get(key, []) + page["imageScanFindings"][key]
                    )
    except ecr.exceptions.ScanNotFoundException:
        return None
    return merged


def _installed(package: dict[str, Any]) -> str:
    epoch = f"{package['epoch']}:" if package.get("epoch") else ""
    release = f"-{package['release']}" if package.get("release") else ""
    return f"{epoch}{package.get('version', '')}{release}"


def _rows(repository: str, tag: str, digest: str, scanned: dict[str, Any]) -> list[dict[str, Any]]:
    found = scanned.get("imageScanFindings") or {}
    image = {"repository": repository, "tag": tag, "digest": digest}
    rows = []
    for finding in found.get("findings", []):
        attributes = {a["key"]: a["value"] for a in finding.get("attributes", [])}
        rows.append(
            {
                **image,
                "id": finding["name"],
                "severity": finding["severity"],
                "package": attributes.get("package_name"),
                "installed": attributes.get("package_version"),
                "fixed": None,  # basic findings do not say which version fixes them (enhanced ones do)
                "source": finding.get("uri"),
            }
        )
    for finding in found.get("enhancedFindings", []):
        details = finding.get("packageVulnerabilityDetails", {})
        severity = "UNDEFINED" if finding.get("severity") == "UNTRIAGED" else finding.get("severity", "UNDEFINED")
        for package in details.get("vulnerablePackages", []):
            fixed = package.get("fixedInVersion")
            rows.append(
                {
                    **image,
                    "id": details.get("vulnerabilityId"),
                    "severity": severity,
                    "package": package.get("name"),
                    "installed": _installed(package),
                    "fixed": None if fixed in (None, "NotAvailable") else fixed,
                    "source": details.get("sourceUrl"),
                }
            )
    return rows


def _children(registry: Registry, repository: str, digest: str) -> list[str]:
    """The image manifests an index lists (each is scanned, the index itself is not)."""
    got = registry.client().batch_get_image(
        repositoryName=repository, imageIds=[{"imageDigest": digest}], acceptedMediaTypes=list(_INDEX_TYPES)
    )
    return [m["digest"] for m in json.loads(got["images"][0]["imageManifest"]).get("manifests", [])]


def _images(registry: Registry, repository: str) -> list[tuple[str, str]]:
    """(tags, digest) of every image manifest in a repository; an index lends its tags to its manifests."""
    details = [
        d
        for page in registry.client().get_paginator("describe_images").paginate(repositoryName=repository)
        for d in page["imageDetails"]
    ]
    lent: dict[str, list[str]] = {}
    for detail in details:
        if detail.get("imageManifestMediaType") in _INDEX_TYPES:
            for child in _children(registry, repository, detail["imageDigest"]):
                lent.setdefault(child, []).extend(detail.get("imageTags", []))
    return [
        (",".join(sorted(d.get("imageTags") or lent.get(d["imageDigest"], []))), d["imageDigest"])
        for d in details
        if d.get("imageManifestMediaType") not in _INDEX_TYPES
    ]


def _sorted_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    rows.sort(
        key=lambda r: (
            severity_rank(r["severity"]),
            r["repository"],
            r["tag"],
            r["digest"],
            r["id"],
            r["package"] or "",
        )
    )
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def _why(status: dict[str, str]) -> str:
    """What an unfinished scan status means for the reader, and what to do next."""
    state = status.get("status")
    if state is None:
        return (
            "it was never scanned. Start a basic scan (ecrlab.scan_results.start_scan) or push it where a scan-on-push "
            "filter matches."
        )
    if state in ("IN_PROGRESS", "PENDING"):
        return f"its scan is {state}. Wait for it (aws ecr wait image-scan-complete) and read again."
    if state == "UNSUPPORTED_IMAGE":
        return (
            "its scan is UNSUPPORTED_IMAGE: the scanner knows no OS or package manager in it, so nothing was checked."
        )
    return f"its scan is {state}: {status.get('description', '')}"


def findings(
    registry: Registry, repository: str | None = None, *, tag: str | None = None, digest: str | None = None
) -> pd.DataFrame:
    """Scan findings as one row per (image, vulnerability, package), most severe first.

    Columns (`FINDING_COLUMNS`): repository, tag (comma-separated, "" if untagged), digest, id (CVE), severity
    (ECR's scale; Inspector's UNTRIAGED shows as UNDEFINED), package, installed, fixed (enhanced scans only),
    source (the advisory's URL). With a tag or digest: that image (an index: each of its images), and
    `NotScannedError` when it has no finished scan; without: every scanned image of the repository, or of
    the registry when no repository is given.
    """
    if tag or digest:
        if repository is None:
            raise ValidationError("repository", None, "give the repository of the tag or digest")
        detail = registry.client().describe_images(repositoryName=repository, imageIds=[_image_id(tag, digest)])
        image = detail["imageDetails"][0]
        shown = tag or ",".join(sorted(image.get("imageTags", [])))
        targets = [(shown, image["imageDigest"])]
        if image.get("imageManifestMediaType") in _INDEX_TYPES:
            targets = [(shown, child) for child in _children(registry, repository, image["imageDigest"])]
        rows = []
        for shown_tag, image_digest in targets:
            scanned = _describe(registry, repository, {"imageDigest": image_digest})
            status = (scanned or {}).get("imageScanStatus", {})
            if scanned is None or status.get("status") not in _FINISHED:
                raise NotScannedError(f"{repository}@{image_digest} has no findings to read: {_why(status)}")
            rows += _rows(repository, shown_tag, image_digest, scanned)
        return _sorted_frame(rows)
    names = (
        [repository]
        if repository
        else [
            r["repositoryName"]
            for page in registry.client().get_paginator("describe_repositories").paginate()
            for r in page["repositories"]
        ]
    )
    rows = []
    for name in names:
        for tags, image_digest in _images(registry, name):
            scanned = _describe(registry, name, {"imageDigest": image_digest})
            if scanned and scanned.get("imageScanStatus", {}).get("status") in _FINISHED:
                rows += _rows(name, tags, image_digest, scanned)
    return _sorted_frame(rows)


def new_findings(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The rows of `after` that `before` did not have, by (repository, digest, id, package): what a rescan, or
    Inspector's continuous scanning, added."""
    key = ["repository", "digest", "id", "package"]
    seen = set(before[key].itertuples(index=False, name=None))
    added = [row not in seen for row in after[key].itertuples(index=False, name=None)]
    return after[added].reset_index(drop=True)


# A stand-in advisory for the workshop: the emulator's feed takes it as if it had just been published. The id says
# it is not real, so nobody looks for it in a real advisory database. zlib 1.3-r2 is what alpine-node has.
WORKSHOP_ADVISORY: dict[str, Any] = {
    "schema_version": "1.6.0",
    "id": "ECRLAB-DEMO-0001",
    "modified": "2025-06-03T08:00:00Z",
    "published": "2025-06-03T08:00:00Z",
    "summary": "zlib: workshop stand-in for a newly published advisory (not a real vulnerability)",
    "details": "A fictional advisory the ecrlab workshop publishes to the emulator's feed to show continuous scanning.",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "Alpine:v3.19", "name": "zlib"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.3.1-r0"}]}],
        }
    ],
}


def severity_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Findings per severity, most severe first, only severities that occur (as ECR counts them)."""
    counts = frame["severity"].value_counts().to_dict() if len(frame) else {}
    return {severity: int(counts[severity]) for severity in SEVERITIES if counts.get(severity)}
