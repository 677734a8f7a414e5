"""Scanner matches in the shapes `DescribeImageScanFindings` returns: basic `findings[]` and enhanced
(Amazon Inspector) `enhancedFindings[]`, each with its `findingSeverityCounts`.

Output is deterministic (sorted by severity, most severe first, then vulnerability id, then package) so
workshop notebooks stay reproducible. Enhanced field conventions follow the enhanced example in the ECR API
reference (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImageScanFindings.html):
title "CVE-… - pkg", uppercase package arch, Debian version split into epoch/version/release, "NotAvailable"
and "None Provided" when there is no fix, `DEBIAN_CVE` as the Debian source and `DEBIAN_12` as the platform.
A language package (only ENHANCED scans report them) is listed with Inspector's `packageManager` and the
`filePath` of the manifest it was read from, and no arch, release or split version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecrlab.emulator.rootfs import OsInfo
from ecrlab.vulndb import Match

_SEVERITY_RANK = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFORMATIONAL": 4, "UNDEFINED": 5}
# Inspector calls an unrated finding UNTRIAGED; the severity counts still use ECR's UNDEFINED.
_ENHANCED_SEVERITY = {"UNDEFINED": "UNTRIAGED"}
# "DEBIAN_CVE" is from the API reference example; Alpine's source name is UNCONFIRMED [U14].
_SOURCE = {"alpine": "ALPINE_SECDB", "debian": "DEBIAN_CVE"}
# The CVSS vector comes from the OSV record, which does not say who scored it.
_CVSS_SOURCE = "OSV"
# Inspector's PackageManager enum names a node_modules package.json NODEPKG and a dist-info METADATA PYTHONPKG
# (NPM and PIP name lock files); that these two are what Inspector reports for them is UNCONFIRMED [U11].
_PACKAGE_MANAGERS = {"npm": "NODEPKG", "python": "PYTHONPKG"}
# The `source` of a finding about a language package; Inspector's value for a GitHub advisory is UNCONFIRMED [U11].
_LANGUAGE_SOURCE = "GITHUB"


@dataclass(frozen=True)
class ImageContext:
    """The scanned image as Inspector names it in an enhanced finding's `resources[]`."""

    account_id: str
    region: str
    repository_name: str
    image_digest: str
    os: OsInfo
    image_tags: tuple[str, ...] = ()
    pushed_at: datetime | None = None
    architecture: str = "amd64"

    @property
    def resource_id(self) -> str:
        repository = f"repository/{self.repository_name}/{self.image_digest}"
        return f"arn:aws:ecr:{self.region}:{self.account_id}:{repository}"

    @property
    def platform(self) -> str:
        """Inspector's platform: "DEBIAN_12" as in the API reference; "ALPINE_LINUX_3_19" is UNCONFIRMED [U14]."""
        if self.os.id == "alpine":
            return "ALPINE_LINUX_" + self.os.release.replace(".", "_")
        return f"DEBIAN_{self.os.release}"


def _order(match: Match) -> tuple:
    p = match.package
    return (_SEVERITY_RANK[match.severity], match.vulnerability_id, p.name, p.arch, p.version)


def severity_counts(severities: Iterable[str]) -> dict[str, int]:
    """`findingSeverityCounts`: only severities that occur, as ECR (and its EventBridge event) report them."""
    counts: dict[str, int] = {}
    for severity in severities:
        key = "UNDEFINED" if severity == "UNTRIAGED" else severity
        counts[key] = counts.get(key, 0) + 1
    return {s: counts[s] for s in sorted(counts, key=_SEVERITY_RANK.__getitem__)}


def basic_scan_findings(
    matches: Iterable[Match], *, completed_at: datetime, source_updated_at: datetime | None
) -> dict[str, Any]:
    """The `imageScanFindings` of a basic scan: one finding per (vulnerability, installed package)."""
    findings = [_basic_finding(m) for m in sorted(matches, key=_order)]
    result: dict[str, Any] = {"imageScanCompletedAt": completed_at}
    if source_updated_at is not None:
        result["vulnerabilitySourceUpdatedAt"] = source_updated_at
    result["findingSeverityCounts"] = severity_counts(f["severity"] for f in findings)
    result["findings"] = findings
    return result


def _basic_finding(match: Match) -> dict[str, Any]:
    advisory, package = match.advisory, match.package
    # Documented keys (CLI reference example, Clair era): package_version, package_name, CVSS2_*. The keys
    # AWS_NATIVE emits are UNCONFIRMED [U13]; CVSS3_* mirrors the documented CVSS2_* naming.
    attributes = [("package_version", package.version), ("package_name", package.name)]
    if advisory.cvss_vector and advisory.cvss_score is not None:
        attributes += [("CVSS3_VECTOR", advisory.cvss_vector), ("CVSS3_SCORE", str(advisory.cvss_score))]
    finding: dict[str, Any] = {"name": match.vulnerability_id}
    if advisory.description:
        finding["description"] = advisory.description
    if advisory.source_url:
        finding["uri"] = advisory.source_url
    finding["severity"] = match.severity
    finding["attributes"] = [{"key": k, "value": v[:256]} for k, v in attributes if v]
    return finding


def enhanced_scan_findings(
    matches: Iterable[Match],
    image: ImageContext,
    *,
    completed_at: datetime,
    source_updated_at: datetime | None,
    first_observed_at: datetime,
    observed_before: Mapping[tuple[str, str], datetime] | None = None,
) -> dict[str, Any]:
    """The `imageScanFindings` of an enhanced scan: one Inspector finding per vulnerability in the image,
    listing every installed package it affects.

    `observed_before` (from `first_observed`) carries a rescan's history: a finding whose vulnerability was already
    seen in one of its packages keeps that earliest `firstObservedAt`; new ones get `first_observed_at`.
    """
    grouped: dict[str, list[Match]] = {}
    for match in sorted(matches, key=_order):
        grouped.setdefault(match.vulnerability_id, []).append(match)
    earlier = observed_before or {}
    findings = [
        _enhanced_finding(
            group,
            image,
            completed_at,
            min((earlier[key] for m in group if (key := (vid, m.package.name)) in earlier), default=first_observed_at),
        )
        for vid, group in grouped.items()
    ]
    result: dict[str, Any] = {"imageScanCompletedAt": completed_at}
    if source_updated_at is not None:
        result["vulnerabilitySourceUpdatedAt"] = source_updated_at
    result["findingSeverityCounts"] = severity_counts(f["severity"] for f in findings)
    result["enhancedFindings"] = findings
    return result


def first_observed(findings: Mapping[str, Any] | None) -> dict[tuple[str, str], datetime]:
    """When each (vulnerability id, package name) of an enhanced scan's `imageScanFindings` was first observed."""
    seen: dict[tuple[str, str], datetime] = {}
    for finding in (findings or {}).get("enhancedFindings", ()):
        details = finding["packageVulnerabilityDetails"]
        for package in details["vulnerablePackages"]:
            key = (details["vulnerabilityId"], package["name"])
            seen[key] = min(seen.get(key, finding["firstObservedAt"]), finding["firstObservedAt"])
    return seen


def _split_version(version: str) -> tuple[int, str, str]:
    """(epoch, version, release) the way Inspector splits "1:2.9.14+dfsg-1.3~deb12u1"."""
    epoch, colon, rest = version.partition(":")
    if not colon or not epoch.isdigit():
        epoch, rest = "0", version
    upstream, dash, release = rest.rpartition("-")
    return (int(epoch), upstream, release) if dash else (int(epoch), rest, "")


def _vulnerable_package(match: Match) -> dict[str, Any]:
    package = match.package
    if package.is_language:
        return {
            "epoch": 0,
            "filePath": package.path,
            "name": package.name,
            "packageManager": _PACKAGE_MANAGERS[package.manager],
            "sourceLayerHash": package.layer,
            "version": package.version,
            "fixedInVersion": match.fixed_version or "NotAvailable",
        }
    epoch, version, release = _split_version(package.version)
    item: dict[str, Any] = {
        "arch": package.arch.upper(),
        "epoch": epoch,
        "name": package.name,
        "packageManager": "OS",
        "release": release,
        "sourceLayerHash": package.layer,
        "version": version,
        "fixedInVersion": match.fixed_version or "NotAvailable",
    }
    if not release:
        del item["release"]
    return item


def _finding_arn(image: ImageContext, vulnerability_id: str) -> str:
    seed = "|".join((image.account_id, image.repository_name, image.image_digest, vulnerability_id))
    finding_id = hashlib.sha256(seed.encode()).hexdigest()[:32]
    return f"arn:aws:inspector2:{image.region}:{image.account_id}:finding/{finding_id}"


def _enhanced_finding(
    group: Sequence[Match], image: ImageContext, observed_at: datetime, first_observed_at: datetime
) -> dict[str, Any]:
    first = group[0]
    advisory = first.advisory
    vid = first.vulnerability_id
    packages = [_vulnerable_package(m) for m in group]
    names = sorted({m.package.name for m in group})
    fixes = sorted({m.fixed_version for m in group if m.fixed_version})
    details: dict[str, Any] = {}
    score = advisory.cvss_score
    if advisory.cvss_vector and score is not None:
        version = advisory.cvss_vector.split("/", 1)[0].removeprefix("CVSS:")
        details["cvss"] = [
            {
                "baseScore": score,
                "scoringVector": advisory.cvss_vector,
                "source": _CVSS_SOURCE,
                "version": version,
            }
        ]
    details["referenceUrls"] = list(advisory.references)
    details["relatedVulnerabilities"] = sorted({*advisory.aliases, *advisory.upstream} - {vid})
    details["source"] = _LANGUAGE_SOURCE if first.package.is_language else _SOURCE[image.os.id]
    if advisory.source_url:
        details["sourceUrl"] = advisory.source_url
    if (created := advisory.published_at) is not None:
        details["vendorCreatedAt"] = created
    if first.rating:
        details["vendorSeverity"] = first.rating
    if (updated := advisory.modified_at) is not None:
        details["vendorUpdatedAt"] = updated
    details["vulnerabilityId"] = vid
    details["vulnerablePackages"] = packages
    fixed_count = sum(1 for m in group if m.fixed_version)
    finding: dict[str, Any] = {
        "awsAccountId": image.account_id,
        "description": advisory.description,
        "findingArn": _finding_arn(image, vid),
        "firstObservedAt": first_observed_at,
        "lastObservedAt": observed_at,
        "packageVulnerabilityDetails": details,
        "remediation": {
            "recommendation": {
                "text": f"Upgrade {', '.join(names)} to {' or '.join(fixes)} or later." if fixes else "None Provided"
            }
        },
        "resources": [
            {
                "details": {"awsEcrContainerImage": _image_details(image)},
                "id": image.resource_id,
                "tags": {},
                "type": "AWS_ECR_CONTAINER_IMAGE",
            }
        ],
    }
    if "cvss" in details:
        finding["score"] = score
        finding["scoreDetails"] = {
            "cvss": {
                "adjustments": [],
                "score": score,
                "scoreSource": _CVSS_SOURCE,
                "scoringVector": advisory.cvss_vector,
                "version": details["cvss"][0]["version"],
            }
        }
    finding.update(
        {
            "severity": _ENHANCED_SEVERITY.get(first.severity, first.severity),
            "status": "ACTIVE",
            "title": f"{vid} - {', '.join(names)}",
            "type": "PACKAGE_VULNERABILITY",
            "updatedAt": observed_at,
            "fixAvailable": "NO" if not fixed_count else "YES" if fixed_count == len(group) else "PARTIAL",
        }
    )
    return finding


def _image_details(image: ImageContext) -> dict[str, Any]:
    details: dict[str, Any] = {
        "architecture": image.architecture,
        "imageHash": image.image_digest,
        "imageTags": list(image.image_tags),
        "platform": image.platform,
    }
    if image.pushed_at is not None:
        details["pushedAt"] = image.pushed_at
    details["registry"] = image.account_id
    details["repositoryName"] = image.repository_name
    return details
