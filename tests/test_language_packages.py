"""Language packages (npm, Python) end to end: found in an image's layers, matched in SemVer and PEP 440 order,
reported by ENHANCED scans only (as Amazon Inspector does) and never by BASIC ones, in Inspector's shape."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecrlab import images
from ecrlab.emulator import scanner
from ecrlab.emulator.rootfs import FsView, language_packages
from ecrlab.oci_layout import manifests_for, read_layout
from tests.conftest import ROOT
from tests.oci import layer

FEED = ROOT / "data" / "vulndb"
ALPINE_RELEASE = b'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'
BUSYBOX = b"P:busybox\nV:1.36.1-r15\nA:x86_64\no:busybox\n\n"
SEMVER_PATH = "app/node_modules/semver/package.json"
PYTHON_PATH = "usr/lib/python3.12/site-packages/Foo_Bar-1.0.dist-info/METADATA"
# A made-up PyPI advisory (the sample feed has none): Foo-Bar before 1.2rc1, in PEP 440 order.
PYPI_RECORD = {
    "id": "PYSEC-0000-1",
    "modified": "2025-06-01T00:00:00Z",
    "summary": "foo-bar: a test advisory",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "foo-bar"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2rc1"}]}],
        }
    ],
}


def package_json(name: str, version: str) -> bytes:
    return json.dumps({"name": name, "version": version, "description": "test"}).encode()


def metadata(name: str, version: str) -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test\n\nName: not-a-header\n".encode()


BASE = layer({"etc/os-release": ALPINE_RELEASE, "lib/apk/db/installed": BUSYBOX})
APP = layer(
    {
        SEMVER_PATH: package_json("semver", "7.5.1"),
        "app/node_modules/semver/test/fixtures/package.json": package_json("fixture", "0.0.1"),  # not a package
        "app/node_modules/@acme/util/package.json": package_json("@acme/util", "1.0.0"),
        "app/node_modules/@acme/util/node_modules/semver/package.json": package_json("semver", "7.6.0"),
        "opt/old/node_modules/semver/package.json": package_json("semver", "6.3.0"),  # removed by the next layer
        PYTHON_PATH: metadata("Foo_Bar", "1.0"),
        "usr/lib/python3.12/site-packages/ok-2.0.dist-info/METADATA": metadata("ok", "2.0"),
    }
)
CLEANUP = layer({"opt/.wh.old": b""})


def digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def write_layout(path: Path, tag: str, layers: list[bytes]) -> Path:
    """A one-image OCI layout holding `layers`."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes, media_type: str) -> dict[str, object]:
        (blobs / digest(data).removeprefix("sha256:")).write_bytes(data)
        return {"mediaType": media_type, "digest": digest(data), "size": len(data)}

    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": put(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"),
        "layers": [put(data, "application/vnd.oci.image.layer.v1.tar+gzip") for data in layers],
    }
    descriptor = put(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
    ref = {**descriptor, "annotations": {"org.opencontainers.image.ref.name": tag}}
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [ref]}))
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return path


@pytest.fixture
def feed_with_pypi(tmp_path: Path) -> Iterator[None]:
    """The sample feed plus one PyPI record; the default feed is back afterwards."""
    folder = tmp_path / "feed"
    shutil.copytree(FEED, folder)
    (folder / "PYSEC-0000-1.json").write_text(json.dumps(PYPI_RECORD))
    scanner.use_feed(folder)
    try:
        yield
    finally:
        scanner.use_feed(scanner.DEFAULT_FEED)


def configure(registry, scan_type: str) -> None:
    frequency = "CONTINUOUS_SCAN" if scan_type == "ENHANCED" else "SCAN_ON_PUSH"
    rules = [{"scanFrequency": frequency, "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]
    registry.client().put_registry_scanning_configuration(scanType=scan_type, rules=rules)
    registry.emulator.settle()  # ENHANCED's initial scans finish


def scan_findings(registry, repository: str, tag: str) -> dict:
    return registry.client().describe_image_scan_findings(repositoryName=repository, imageId={"imageTag": tag})


def push(registry, layout: Path, repository: str) -> str:
    registry.client().create_repository(repositoryName=repository)
    digest = images.push(registry, layout, repository)
    registry.emulator.settle()  # the scan on push finishes, as after `aws ecr wait image-scan-complete`
    return digest


# --- detection ---------------------------------------------------------------------------------------------


def test_npm_and_python_packages_are_found_with_their_file_and_layer() -> None:
    view = FsView([BASE, APP, CLEANUP])
    found = {(p.manager, p.name, p.version, p.path, p.layer) for p in language_packages(view)}
    assert found == {
        ("npm", "@acme/util", "1.0.0", "app/node_modules/@acme/util/package.json", digest(APP)),
        ("npm", "semver", "7.6.0", "app/node_modules/@acme/util/node_modules/semver/package.json", digest(APP)),
        ("npm", "semver", "7.5.1", SEMVER_PATH, digest(APP)),
        ("python", "Foo_Bar", "1.0", PYTHON_PATH, digest(APP)),
        ("python", "ok", "2.0", "usr/lib/python3.12/site-packages/ok-2.0.dist-info/METADATA", digest(APP)),
    }
    assert all(not p.arch and p.is_language for p in language_packages(view))


def test_a_rewritten_manifest_is_credited_to_the_layer_that_changed_it() -> None:
    same = layer({SEMVER_PATH: package_json("semver", "7.5.1") + b"\n"})  # rewritten, same name and version
    bumped = layer({SEMVER_PATH: package_json("semver", "7.5.2")})
    only = layer({SEMVER_PATH: package_json("semver", "7.5.1")})
    (kept,) = language_packages(FsView([only, same]))
    assert (kept.version, kept.layer) == ("7.5.1", digest(only))
    (upgraded,) = language_packages(FsView([only, bumped]))
    assert (upgraded.version, upgraded.layer) == ("7.5.2", digest(bumped))


def test_broken_manifests_and_lookalike_paths_are_not_packages() -> None:
    view = FsView(
        [
            layer(
                {
                    "app/node_modules/broken/package.json": b"{not json",
                    "app/node_modules/noversion/package.json": b'{"name": "noversion"}',
                    "app/node_modules/.bin/package.json": package_json("bin", "1.0.0"),
                    "app/node_modules/@scope/package.json": package_json("scope", "1.0.0"),
                    "app/package.json": package_json("the-app", "1.0.0"),
                    "usr/lib/python3/dist-info/METADATA": metadata("nope", "1.0"),
                    "srv/site-packages/x.dist-info/METADATA": b"Summary: no name or version\n",
                    "node_modules/top/package.json": package_json("top", "0.1.0"),
                }
            )
        ]
    )
    assert [(p.name, p.path) for p in language_packages(view)] == [("top", "node_modules/top/package.json")]


# --- BASIC vs ENHANCED through the API ---------------------------------------------------------------------


def test_basic_excludes_language_packages_and_enhanced_reports_them_for_the_same_image(
    registry, tmp_path: Path, feed_with_pypi: None
) -> None:
    configure(registry, "BASIC")
    image_digest = push(registry, write_layout(tmp_path / "image", "v1", [BASE, APP, CLEANUP]), "web")
    basic = scan_findings(registry, "web", "v1")["imageScanFindings"]
    packages = {a["value"] for f in basic["findings"] for a in f["attributes"] if a["key"] == "package_name"}
    assert packages == {"busybox"}
    assert {f["name"] for f in basic["findings"]}.isdisjoint({"CVE-2022-25883", "PYSEC-0000-1"})

    configure(registry, "ENHANCED")  # Inspector scans what continuous filters cover right away
    found = scan_findings(registry, "web", "v1")
    assert found["imageScanStatus"]["status"] == "ACTIVE"
    enhanced = {
        f["packageVulnerabilityDetails"]["vulnerabilityId"]: f for f in found["imageScanFindings"]["enhancedFindings"]
    }
    semver = enhanced["CVE-2022-25883"]
    assert semver["packageVulnerabilityDetails"]["vulnerablePackages"] == [
        {
            "epoch": 0,
            "filePath": SEMVER_PATH,  # the 7.6.0 copy is fixed; the 6.3.0 one was deleted by a later layer
            "name": "semver",
            "packageManager": "NODEPKG",
            "sourceLayerHash": digest(APP),
            "version": "7.5.1",
            "fixedInVersion": "7.5.2",
        }
    ]
    assert (semver["severity"], semver["score"], semver["fixAvailable"]) == ("HIGH", 7.5, "YES")
    assert semver["packageVulnerabilityDetails"]["cvss"][0]["scoringVector"] == (
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
    )
    assert semver["resources"][0]["details"]["awsEcrContainerImage"]["imageHash"] == image_digest
    (python,) = enhanced["PYSEC-0000-1"]["packageVulnerabilityDetails"]["vulnerablePackages"]
    assert (python["name"], python["version"], python["packageManager"], python["filePath"]) == (
        "Foo_Bar",
        "1.0",
        "PYTHONPKG",
        PYTHON_PATH,
    )
    assert python["fixedInVersion"] == "1.2rc1"
    assert enhanced["PYSEC-0000-1"]["severity"] == "MEDIUM"  # CVSS 5.3
    os_findings = [f for v, f in enhanced.items() if v not in ("CVE-2022-25883", "PYSEC-0000-1")]
    assert all(p["packageManager"] == "OS" and "filePath" not in p
               for f in os_findings for p in f["packageVulnerabilityDetails"]["vulnerablePackages"])  # fmt: skip
    counts = found["imageScanFindings"]["findingSeverityCounts"]
    assert sum(counts.values()) == len(os_findings) + 2

    configure(registry, "BASIC")  # the earlier basic scan is visible again, unchanged
    assert scan_findings(registry, "web", "v1")["imageScanFindings"]["findings"] == basic["findings"]


def test_the_alpine_node_app_sample_shows_semver_under_enhanced_only(registry) -> None:
    sample = ROOT / "data" / "images" / "alpine-node-app"
    ((_, manifest),) = manifests_for(read_layout(sample), "18-alpine-app")
    configure(registry, "BASIC")
    push(registry, sample, "node")
    basic = scan_findings(registry, "node", "18-alpine-app")["imageScanFindings"]
    assert not [f for f in basic["findings"] if "semver" in json.dumps(f)]
    configure(registry, "ENHANCED")
    enhanced = scan_findings(registry, "node", "18-alpine-app")["imageScanFindings"]
    (semver,) = [f for f in enhanced["enhancedFindings"] if f["title"] == "CVE-2022-25883 - semver"]
    (package,) = semver["packageVulnerabilityDetails"]["vulnerablePackages"]
    assert (package["filePath"], package["packageManager"], package["fixedInVersion"]) == (
        "app/node_modules/semver/package.json",
        "NODEPKG",
        "7.5.2",
    )
    assert package["sourceLayerHash"] == manifest["layers"][3]["digest"]  # the `npm ci` layer


def test_an_image_with_language_packages_but_no_known_os_stays_unsupported(registry, tmp_path: Path) -> None:
    # UNCONFIRMED whether Inspector scans such an image; the emulator keeps UNSUPPORTED_IMAGE (scanner.py).
    configure(registry, "ENHANCED")
    push(registry, write_layout(tmp_path / "scratch", "v1", [APP]), "scratch")
    status = scan_findings(registry, "scratch", "v1")["imageScanStatus"]
    assert status["status"] == "UNSUPPORTED_IMAGE"
