"""Findings in DescribeImageScanFindings' shapes, checked against botocore's ECR model, and what the sample
images yield against the sample feed in data/vulndb."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecrlab.ecr_model import constraint_violations, operation
from ecrlab.emulator.rootfs import FsView, OsInfo, Package, detect_os, installed_packages
from ecrlab.emulator.scan_findings import (
    ImageContext,
    basic_scan_findings,
    enhanced_scan_findings,
    severity_counts,
)
from ecrlab.vulndb import VulnDb
from tests.findings_helpers import check_findings_shape
from tests.oci import layer

FEED = Path(__file__).resolve().parent.parent / "data" / "vulndb"
ALPINE = OsInfo("alpine", "3.19.1", "3.19", "Alpine Linux v3.19")
DEBIAN = OsInfo("debian", "12", "12", "Debian GNU/Linux 12 (bookworm)")
LAYER = "sha256:" + "1" * 64
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def feed() -> VulnDb:
    return VulnDb.load(FEED)


def apk(name: str, version: str, origin: str | None = None) -> Package:
    return Package(name, version, origin or name, version, "x86_64", "apk", LAYER)


def deb(name: str, version: str, source: str | None = None, source_version: str | None = None) -> Package:
    return Package(name, version, source or name, source_version or version, "amd64", "dpkg", LAYER)


def alpine_image(openssl: str = "3.1.4-r0", busybox: str = "1.36.1-r15") -> list[Package]:
    return [
        apk("musl", "1.2.4_git20230717-r4"),
        apk("busybox", busybox),
        apk("busybox-binsh", busybox, "busybox"),
        apk("libcrypto3", openssl, "openssl"),
        apk("libssl3", openssl, "openssl"),
        apk("zlib", "1.3-r2"),
        apk("apk-tools", "2.14.0-r5"),
        apk("ca-certificates-bundle", "20230506-r0", "ca-certificates"),
        apk("alpine-baselayout", "3.4.3-r2"),
    ]


DEBIAN_IMAGE = [
    deb("base-files", "12.4+deb12u4"),
    deb("libc6", "2.36-9+deb12u3", "glibc"),
    deb("libssl3", "3.0.11-1~deb12u2", "openssl"),
    deb("openssl", "3.0.11-1~deb12u2"),
    deb("zlib1g", "1:1.2.13.dfsg-1", "zlib"),
    deb("libgnutls30", "3.7.9-2+deb12u1", "gnutls28"),
    deb("tzdata", "2024a-0+deb12u1"),
    deb("bash", "5.2.15-2+b2", "bash", "5.2.15-2"),
    deb("coreutils", "9.1-1"),
]
DISTROLESS_IMAGE = [
    deb("base-files", "12.4+deb12u4"),
    deb("netbase", "6.4"),
    deb("tzdata", "2024a-0+deb12u1"),
    deb("libssl3", "3.0.11-1~deb12u2", "openssl"),
]


def basic(feed: VulnDb, os_info: OsInfo, packages: list[Package]) -> dict[str, Any]:
    return basic_scan_findings(feed.matches(os_info, packages), completed_at=NOW, source_updated_at=feed.updated_at)


def enhanced(feed: VulnDb, os_info: OsInfo, packages: list[Package]) -> dict[str, Any]:
    image = ImageContext("123456789012", "us-east-1", "workshop/app", DIGEST, os_info, ("v1",), NOW)
    return enhanced_scan_findings(
        feed.matches(os_info, packages),
        image,
        completed_at=NOW,
        source_updated_at=feed.updated_at,
        first_observed_at=NOW,
    )


# --- the sample images -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("os_info", "packages", "counts"),
    [
        (ALPINE, alpine_image(), {"CRITICAL": 2, "HIGH": 2, "MEDIUM": 16, "UNDEFINED": 2}),
        (ALPINE, alpine_image("3.1.7-r0", "1.36.1-r19"), {"UNDEFINED": 2}),
        (DEBIAN, DEBIAN_IMAGE, {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 5}),
        (DEBIAN, DISTROLESS_IMAGE, {"MEDIUM": 2}),
    ],
    ids=["alpine-3.19", "alpine-3.19-fixed", "debian-12", "distroless-debian-12"],
)
def test_sample_images_against_the_sample_feed(feed, os_info, packages, counts) -> None:
    assert basic(feed, os_info, packages)["findingSeverityCounts"] == counts


def test_sample_feed_precision_cases_stay_silent(feed) -> None:
    names = {f["name"] for f in basic(feed, ALPINE, alpine_image())["findings"]}
    # Fixed in 3.1.4-r0 already; Alpine's "fixed: 0" (not affected); curl is not installed; v3.20's range.
    assert not names & {"CVE-2023-5363", "CVE-2023-45853", "CVE-2024-6197"}
    fixed = basic(feed, ALPINE, alpine_image("3.1.7-r0", "1.36.1-r19"))["findings"]
    assert {f["name"] for f in fixed} == {"CVE-2024-9143"}  # v3.20 says busybox r19 is affected; v3.19 not
    names = {f["name"] for f in basic(feed, DEBIAN, DEBIAN_IMAGE)["findings"]}
    assert not names & {"CVE-2023-4911", "CVE-2023-5363"}  # fixed at and before the installed versions


def test_alpine_image_end_to_end_from_layers(feed) -> None:
    db = "".join(f"P:{p.name}\nV:{p.version}\nA:x86_64\no:{p.source_name}\n\n" for p in alpine_image()).encode()
    view = FsView([layer({"etc/os-release": b"ID=alpine\nVERSION_ID=3.19.1\n", "lib/apk/db/installed": db})])
    os_info = detect_os(view)
    assert os_info is not None
    packages = installed_packages(view, os_info)
    result = basic_scan_findings(feed.matches(os_info, packages), completed_at=NOW, source_updated_at=None)
    assert result["findingSeverityCounts"] == {"CRITICAL": 2, "HIGH": 2, "MEDIUM": 16, "UNDEFINED": 2}
    assert "vulnerabilitySourceUpdatedAt" not in result


# --- basic findings ----------------------------------------------------------------------------------------


def test_basic_findings_are_sorted_and_carry_package_and_cvss_attributes(feed) -> None:
    findings = basic(feed, DEBIAN, DEBIAN_IMAGE)["findings"]
    order = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]
    keys = [(order.index(f["severity"]), f["name"], f["attributes"][1]["value"]) for f in findings]
    assert keys == sorted(keys)
    first = findings[0]
    assert first["name"] == "CVE-2023-6779"
    assert first["uri"] == "https://security-tracker.debian.org/tracker/CVE-2023-6779"
    assert first["attributes"] == [
        {"key": "package_version", "value": "2.36-9+deb12u3"},
        {"key": "package_name", "value": "libc6"},
        {"key": "CVSS3_VECTOR", "value": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
        {"key": "CVSS3_SCORE", "value": "9.8"},
    ]
    assert basic(feed, DEBIAN, list(reversed(DEBIAN_IMAGE))) == basic(feed, DEBIAN, DEBIAN_IMAGE)


def test_severity_counts_list_only_present_severities_most_severe_first() -> None:
    counts = severity_counts(["LOW", "CRITICAL", "LOW", "UNTRIAGED"])
    assert counts == {"CRITICAL": 1, "LOW": 2, "UNDEFINED": 1}
    assert list(counts) == ["CRITICAL", "LOW", "UNDEFINED"]
    assert severity_counts([]) == {}


# --- enhanced findings -------------------------------------------------------------------------------------


def test_enhanced_findings_group_packages_per_vulnerability_like_inspector(feed) -> None:
    result = enhanced(feed, DEBIAN, DEBIAN_IMAGE)
    findings = {f["packageVulnerabilityDetails"]["vulnerabilityId"]: f for f in result["enhancedFindings"]}
    assert result["findingSeverityCounts"] == {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 3}
    pkcs12 = findings["CVE-2024-0727"]
    assert pkcs12["title"] == "CVE-2024-0727 - libssl3, openssl"
    assert pkcs12["fixAvailable"] == "YES"
    assert pkcs12["remediation"]["recommendation"]["text"] == "Upgrade libssl3, openssl to 3.0.13-1~deb12u1 or later."
    details = pkcs12["packageVulnerabilityDetails"]
    assert details["source"] == "DEBIAN_CVE"
    assert details["sourceUrl"] == "https://security-tracker.debian.org/tracker/CVE-2024-0727"
    assert details["cvss"] == [
        {
            "baseScore": 5.5,
            "scoringVector": "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H",
            "source": "OSV",
            "version": "3.1",
        }
    ]
    assert details["vulnerablePackages"][0] == {
        "arch": "AMD64",
        "epoch": 0,
        "name": "libssl3",
        "packageManager": "OS",
        "release": "1~deb12u2",
        "sourceLayerHash": LAYER,
        "version": "3.0.11",
        "fixedInVersion": "3.0.13-1~deb12u1",
    }
    glibc = findings["CVE-2023-6246"]
    assert glibc["packageVulnerabilityDetails"]["relatedVulnerabilities"] == ["DSA-5611-1"]
    resource = glibc["resources"][0]
    assert resource["id"] == f"arn:aws:ecr:us-east-1:123456789012:repository/workshop/app/{DIGEST}"
    assert resource["details"]["awsEcrContainerImage"]["platform"] == "DEBIAN_12"
    assert glibc["findingArn"].startswith("arn:aws:inspector2:us-east-1:123456789012:finding/")
    assert glibc["findingArn"] == enhanced(feed, DEBIAN, DEBIAN_IMAGE)["enhancedFindings"][1]["findingArn"]


def test_enhanced_unrated_findings_are_untriaged_and_epochs_split_out() -> None:
    db = VulnDb.from_records(
        [
            {
                "id": "DEBIAN-CVE-2000-0001",
                "modified": "2024-01-01T00:00:00Z",
                "aliases": ["CVE-2000-0001"],
                "affected": [
                    {
                        "package": {"ecosystem": "Debian:12", "name": "zlib"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                        "ecosystem_specific": {"urgency": "not yet assigned"},
                    }
                ],
            }
        ]
    )
    result = enhanced(db, DEBIAN, DEBIAN_IMAGE)
    (finding,) = result["enhancedFindings"]
    assert result["findingSeverityCounts"] == {"UNDEFINED": 1}
    assert finding["severity"] == "UNTRIAGED"
    assert finding["fixAvailable"] == "NO"
    assert finding["remediation"]["recommendation"]["text"] == "None Provided"
    assert finding["packageVulnerabilityDetails"]["vendorSeverity"] == "not yet assigned"
    (package,) = finding["packageVulnerabilityDetails"]["vulnerablePackages"]
    assert (package["epoch"], package["version"], package["release"], package["fixedInVersion"]) == (
        1,
        "1.2.13.dfsg",
        "1",
        "NotAvailable",
    )
    assert "score" not in finding and "cvss" not in finding["packageVulnerabilityDetails"]


def test_alpine_platform_name() -> None:
    image = ImageContext("123456789012", "eu-west-1", "app", DIGEST, ALPINE)
    assert image.platform == "ALPINE_LINUX_3_19"


# --- shapes against botocore -------------------------------------------------------------------------------


@pytest.mark.parametrize("scan", [basic, enhanced], ids=["basic", "enhanced"])
@pytest.mark.parametrize(
    ("os_info", "packages"), [(ALPINE, alpine_image()), (DEBIAN, DEBIAN_IMAGE)], ids=["alpine", "debian"]
)
def test_findings_fit_describe_image_scan_findings_output_shape(feed, scan, os_info, packages) -> None:
    response = {
        "registryId": "123456789012",
        "repositoryName": "workshop/app",
        "imageId": {"imageDigest": DIGEST, "imageTag": "v1"},
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        "imageScanFindings": scan(feed, os_info, packages),
    }
    shape = operation("DescribeImageScanFindings").output_shape
    check_findings_shape(shape, response, "DescribeImageScanFindingsResponse")
    assert constraint_violations(shape, response, "") == []


# --- language packages -------------------------------------------------------------------------------------


def test_enhanced_findings_of_language_packages_name_their_manager_and_file(feed) -> None:
    path = "app/node_modules/semver/package.json"
    semver = Package("semver", "7.5.1", "semver", "7.5.1", "", "npm", LAYER, path)
    result = enhanced(feed, ALPINE, [*alpine_image(), semver])
    assert result["findingSeverityCounts"] == {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 8, "UNDEFINED": 1}
    finding = next(f for f in result["enhancedFindings"] if f["title"] == "CVE-2022-25883 - semver")
    details = finding["packageVulnerabilityDetails"]
    assert details["vulnerablePackages"] == [
        {
            "epoch": 0,
            "filePath": path,
            "name": "semver",
            "packageManager": "NODEPKG",
            "sourceLayerHash": LAYER,
            "version": "7.5.1",
            "fixedInVersion": "7.5.2",
        }
    ]
    assert (finding["severity"], finding["score"], finding["fixAvailable"]) == ("HIGH", 7.5, "YES")
    assert details["vulnerabilityId"] == "CVE-2022-25883" and details["source"] == "GITHUB"
    assert details["sourceUrl"] == "https://github.com/advisories/GHSA-c2qf-rxjj-qqgw"
    assert finding["remediation"]["recommendation"]["text"] == "Upgrade semver to 7.5.2 or later."
    # OS findings keep their shape: the same image without the app has the same OS findings, unchanged.
    os_only = enhanced(feed, ALPINE, alpine_image())["enhancedFindings"]
    assert [f for f in result["enhancedFindings"] if f is not finding] == os_only
    shape = operation("DescribeImageScanFindings").output_shape
    response = {"imageScanFindings": result}
    check_findings_shape(shape, response, "DescribeImageScanFindingsResponse")
    assert constraint_violations(shape, response, "") == []
