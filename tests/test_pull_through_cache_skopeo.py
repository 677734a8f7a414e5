"""End to end with real tools: skopeo pulls through the emulator server from a CNCF Distribution registry upstream.

`ecrlab emulator serve --upstream registry-1.docker.io=http://127.0.0.1:<port>` sends the Docker Hub host of a
rule to a `docker-registry` (Debian's Distribution 2.x) on loopback; its access log is the independent witness
that the second pull made no upstream request.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecrlab.oci_layout import read_layout
from ecrlab.registry import EmulatorControl
from tests.conftest import BIN, aws_cli

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"

pytestmark = [
    pytest.mark.skipif(
        shutil.which("skopeo") is None, reason="skopeo is not installed (as root, `make system-deps` installs it)"
    ),
    pytest.mark.skipif(
        shutil.which("docker-registry") is None,
        reason="docker-registry (CNCF Distribution) is not installed (as root, `make system-deps` installs it)",
    ),
]


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def distribution(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Distribution registry on a free loopback port with its own storage; yields (URL, access log)."""
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = tmp_path / "registry.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/v2/")
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def emulator(distribution, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`ecrlab emulator serve` whose Docker Hub is the Distribution registry; the AWS CLI's endpoint is it."""
    upstream, _ = distribution
    proc = subprocess.Popen(
        [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0", "--upstream", f"registry-1.docker.io={upstream}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOPERATOR00000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "operator-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def manifest_gets(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if '"GET /v2/' in line and "/manifests/" in line]


def test_skopeo_pulls_through_a_distribution_upstream_once(distribution, emulator, tmp_path):
    upstream, log = distribution
    registry = emulator.removeprefix("http://")
    for layout, name in (
        ("alpine-node:18-alpine", "library/node:18-alpine"),
        ("alpine-multiarch:3.19", "library/alpine:3.19"),
    ):
        skopeo(
            "copy", "--all", "--dest-tls-verify=false", f"oci:{IMAGES / layout}",
            f"docker://{upstream.removeprefix('http://')}/{name}",
        )  # fmt: skip
    secret = aws_cli(
        "secretsmanager", "create-secret", "--name", "ecr-pullthroughcache/docker-hub",
        "--secret-string", json.dumps({"username": "ci", "accessToken": "token"}),
    )  # fmt: skip
    assert secret.returncode == 0, secret.stderr
    rule = aws_cli(
        "ecr", "create-pull-through-cache-rule", "--ecr-repository-prefix", "docker-hub",
        "--upstream-registry-url", "registry-1.docker.io", "--credential-arn", json.loads(secret.stdout)["ARN"],
    )  # fmt: skip
    assert rule.returncode == 0, rule.stderr
    validated = json.loads(
        aws_cli("ecr", "validate-pull-through-cache-rule", "--ecr-repository-prefix", "docker-hub").stdout
    )
    assert validated["isValid"] is True
    password = aws_cli("ecr", "get-login-password").stdout.strip()
    source = f"docker://{registry}/docker-hub/library/node:18-alpine"
    creds = ("--src-tls-verify=false", "--src-creds", f"AWS:{password}")

    before = len(manifest_gets(log))
    skopeo("copy", *creds, source, f"oci:{tmp_path / 'first'}:18-alpine")
    after_first = manifest_gets(log)
    assert len(after_first) == before + 1 and "library/node/manifests/18-alpine" in after_first[-1]
    skopeo("copy", *creds, source, f"oci:{tmp_path / 'second'}:18-alpine")
    assert len(manifest_gets(log)) == len(after_first)  # served from the cache: Distribution saw nothing

    expected = read_layout(IMAGES / "alpine-node").refs["18-alpine"]["digest"]
    for copy in ("first", "second"):
        assert read_layout(tmp_path / copy).refs["18-alpine"]["digest"] == expected
    knobs = urllib.request.Request(f"{emulator}/_upstreams/?since=0", headers=EmulatorControl(emulator).headers)
    with urllib.request.urlopen(knobs) as response:
        requests = json.loads(response.read())["requests"]
    assert sum(1 for r in requests if "/manifests/" in r["path"]) == 1

    skopeo(
        "copy", "--all", *creds, f"docker://{registry}/docker-hub/library/alpine:3.19", f"oci:{tmp_path / 'multi'}:3.19"
    )
    index = read_layout(IMAGES / "alpine-multiarch").refs["3.19"]["digest"]
    assert read_layout(tmp_path / "multi").refs["3.19"]["digest"] == index
    described = json.loads(aws_cli("ecr", "describe-images", "--repository-name", "docker-hub/library/alpine").stdout)
    assert len(described["imageDetails"]) == 3
