"""Scanning from the outside: the AWS CLI and skopeo against `ecrlab emulator serve`, `--vulndb`, and `scan-gate`."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import ecrlab
from ecrlab import images
from ecrlab.scan_waits import wait_for_scan
from tests.conftest import BIN, ROOT, aws_cli

IMAGES = ROOT / "data" / "images"
SCAN_ON_PUSH = '[{"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filter":"*","filterType":"WILDCARD"}]}]'


def cli_json(*args: str) -> dict:
    result = aws_cli(*args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed (`make system-deps` as root)")
def test_cli_scan_on_push_skopeo_push_and_real_findings(aws_env):
    configured = cli_json("ecr", "put-registry-scanning-configuration", "--scan-type", "BASIC", "--rules", SCAN_ON_PUSH)
    assert configured["registryScanningConfiguration"]["rules"][0]["scanFrequency"] == "SCAN_ON_PUSH"
    cli_json("ecr", "create-repository", "--repository-name", "node")
    password = aws_cli("ecr", "get-login-password").stdout.strip()
    copied = subprocess.run(
        ["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
         f"oci:{IMAGES / 'alpine-node'}:18-alpine", f"docker://{aws_env.removeprefix('http://')}/node:18-alpine"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    waited = aws_cli(
        "ecr", "wait", "image-scan-complete", "--repository-name", "node", "--image-id", "imageTag=18-alpine"
    )
    assert waited.returncode == 0, waited.stderr
    found = cli_json(
        "ecr", "describe-image-scan-findings", "--repository-name", "node", "--image-id", "imageTag=18-alpine"
    )
    assert found["imageScanStatus"]["status"] == "COMPLETE"
    findings = found["imageScanFindings"]
    assert findings["findingSeverityCounts"] == {"CRITICAL": 2, "HIGH": 2, "MEDIUM": 16, "UNDEFINED": 2}
    assert {f["name"] for f in findings["findings"]} == {
        "CVE-2023-42363", "CVE-2023-42364", "CVE-2023-42365", "CVE-2023-42366", "CVE-2023-6129", "CVE-2023-6237",
        "CVE-2024-0727", "CVE-2024-2511", "CVE-2024-5535", "CVE-2024-6119", "CVE-2024-9143",
    }  # fmt: skip
    assert findings["findings"][0]["attributes"][:2] == [
        {"key": "package_version", "value": "3.1.4-r0"},
        {"key": "package_name", "value": "libcrypto3"},
    ]
    gate = subprocess.run(
        [str(BIN / "ecrlab"), "scan-gate", "node:18-alpine", "--threshold", "CRITICAL"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert gate.returncode == 1, gate.stderr
    assert gate.stdout.strip().splitlines()[-1].startswith("FAIL: 2 finding(s) at or above CRITICAL")


def test_cli_manual_scan_limit_and_batch_configuration(aws_env):
    cli_json("ecr", "create-repository", "--repository-name", "app")
    images.push(ecrlab.connect(endpoint_url=aws_env), IMAGES / "debian-app", "app")
    started = cli_json("ecr", "start-image-scan", "--repository-name", "app", "--image-id", "imageTag=bookworm")
    assert started["imageScanStatus"] == {"status": "IN_PROGRESS"}
    again = aws_cli(
        "ecr", "start-image-scan", "--repository-name", "app", "--image-id", "imageTag=bookworm",
        env={"AWS_MAX_ATTEMPTS": "1"},
    )  # fmt: skip
    assert again.returncode != 0 and "LimitExceededException" in again.stderr
    configured = cli_json("ecr", "batch-get-repository-scanning-configuration", "--repository-names", "app")
    assert configured["scanningConfigurations"][0]["scanFrequency"] == "MANUAL"


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_with_another_feed(tmp_path):
    feed = tmp_path / "feed"
    feed.mkdir()
    shutil.copy(ROOT / "data" / "vulndb" / "ALPINE-CVE-2024-5535.json", feed)
    proc = _serve("--vulndb", str(feed))
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        registry = ecrlab.connect(endpoint_url=url)
        ecr = registry.client()
        ecr.put_registry_scanning_configuration(scanType="BASIC", rules=json.loads(SCAN_ON_PUSH))
        ecr.create_repository(repositoryName="node")
        images.push(registry, IMAGES / "alpine-node", "node")
        wait_for_scan(registry, "node", {"imageTag": "18-alpine"})
        found = ecr.describe_image_scan_findings(repositoryName="node", imageId={"imageTag": "18-alpine"})
        names = [(f["name"], f["attributes"][1]["value"]) for f in found["imageScanFindings"]["findings"]]
        assert names == [("CVE-2024-5535", "libcrypto3"), ("CVE-2024-5535", "libssl3")]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_a_feed_that_is_not_there(tmp_path):
    proc = _serve("--vulndb", str(tmp_path / "missing"))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "must be a folder of OSV JSON files, a JSON file or an all.zip" in err
