"""A real OCI client against the emulator server: skopeo copies the sample layouts in and out, byte for byte."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from ecrlab.oci_layout import read_layout
from tests.conftest import aws_cli
from tests.skopeo_helpers import IMAGES, address, skopeo

pytestmark = pytest.mark.skipif(
    shutil.which("skopeo") is None, reason="skopeo is not installed (as root, `make system-deps` installs it)"
)


@pytest.fixture
def password(aws_env) -> str:
    """The real AWS CLI's `aws ecr get-login-password`, against the emulator server."""
    for name in ("node", "alpine"):
        assert aws_cli("ecr", "create-repository", "--repository-name", name).returncode == 0
    result = aws_cli("ecr", "get-login-password")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_copy_in_and_out_keeps_the_digest(aws_env, password, tmp_path):
    registry = address(aws_env)
    skopeo(
        "copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
        f"oci:{IMAGES / 'alpine-node'}:18-alpine", f"docker://{registry}/node:18-alpine",
    )  # fmt: skip
    skopeo(
        "copy", "--src-tls-verify=false", "--src-creds", f"AWS:{password}",
        f"docker://{registry}/node:18-alpine", f"oci:{tmp_path}:18-alpine",
    )  # fmt: skip
    original = read_layout(IMAGES / "alpine-node").refs["18-alpine"]["digest"]
    assert read_layout(tmp_path).refs["18-alpine"]["digest"] == original
    described = json.loads(aws_cli("ecr", "describe-images", "--repository-name", "node").stdout)
    assert [d["imageDigest"] for d in described["imageDetails"]] == [original]


def test_inspect(aws_env, password):
    registry = address(aws_env)
    skopeo(
        "copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
        f"oci:{IMAGES / 'alpine-node'}:18-alpine", f"docker://{registry}/node:v1",
    )  # fmt: skip
    shown = skopeo("inspect", "--tls-verify=false", "--creds", f"AWS:{password}", f"docker://{registry}/node:v1")
    info = json.loads(shown.stdout)
    assert info["Digest"] == read_layout(IMAGES / "alpine-node").refs["18-alpine"]["digest"]
    assert info["RepoTags"] == ["v1"]
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")


def test_without_credentials_skopeo_is_refused(aws_env, password):
    result = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", f"docker://{address(aws_env)}/node:v1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "unauthorized" in result.stderr.lower() or "authentication required" in result.stderr.lower()


def test_multi_arch_index_round_trip(aws_env, password, tmp_path):
    registry = address(aws_env)
    skopeo(
        "copy", "--all", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
        f"oci:{IMAGES / 'alpine-multiarch'}:3.19", f"docker://{registry}/alpine:3.19",
    )  # fmt: skip
    skopeo(
        "copy", "--all", "--src-tls-verify=false", "--src-creds", f"AWS:{password}",
        f"docker://{registry}/alpine:3.19", f"oci:{tmp_path}:3.19",
    )  # fmt: skip
    original = read_layout(IMAGES / "alpine-multiarch")
    assert read_layout(tmp_path).refs["3.19"]["digest"] == original.refs["3.19"]["digest"]
    for blob in (IMAGES / "alpine-multiarch" / "blobs" / "sha256").iterdir():
        assert (tmp_path / "blobs" / "sha256" / blob.name).read_bytes() == blob.read_bytes()
    described = json.loads(aws_cli("ecr", "describe-images", "--repository-name", "alpine").stdout)
    assert len(described["imageDetails"]) == 3  # the index and its two images
