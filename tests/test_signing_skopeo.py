"""Real clients see managed signing: the AWS CLI configures it and reads the status and referrers, skopeo pushes
the image and fetches the signature by digest from the emulator server."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ecrlab.oci_layout import read_layout
from ecrlab.registry import EmulatorControl
from tests.conftest import aws_cli

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"
PROFILE = "arn:aws:signer:us-east-1:123456789012:/signing-profiles/release"

pytestmark = pytest.mark.skipif(
    shutil.which("skopeo") is None, reason="skopeo is not installed (as root, `make system-deps` installs it)"
)


def cli(*args: str) -> dict:
    result = aws_cli("ecr", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout or "{}")


@pytest.mark.slow  # about 15 s: seven AWS CLI runs and a server process
def test_a_skopeo_push_is_signed_and_the_signature_can_be_pulled(aws_env):
    registry = aws_env.removeprefix("http://")
    cli("create-repository", "--repository-name", "team/node")
    config = {
        "rules": [
            {"signingProfileArn": PROFILE, "repositoryFilters": [{"filter": "team/*", "filterType": "WILDCARD_MATCH"}]}
        ]
    }
    cli("put-signing-configuration", "--signing-configuration", json.dumps(config))
    password = aws_cli("ecr", "get-login-password").stdout.strip()
    creds = f"AWS:{password}"
    subprocess.run(
        ["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", creds,
         f"oci:{IMAGES / 'alpine-node'}:18-alpine", f"docker://{registry}/team/node:18"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    digest = read_layout(IMAGES / "alpine-node").refs["18-alpine"]["digest"]
    status = cli("describe-image-signing-status", "--repository-name", "team/node", "--image-id", "imageTag=18")
    assert [s["status"] for s in status["signingStatuses"]] == ["IN_PROGRESS"]
    EmulatorControl(aws_env).settle()
    status = cli("describe-image-signing-status", "--repository-name", "team/node", "--image-id", "imageTag=18")
    assert [(s["signingProfileArn"], s["status"]) for s in status["signingStatuses"]] == [(PROFILE, "COMPLETE")]
    listed = cli("list-image-referrers", "--repository-name", "team/node", "--subject-id", f"imageDigest={digest}")
    [signature] = listed["referrers"]
    assert signature["artifactType"] == "application/vnd.cncf.notary.signature"
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", creds,
         f"docker://{registry}/team/node@{signature['digest']}"],
        check=True, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    manifest = json.loads(raw)
    assert manifest["subject"]["digest"] == digest and manifest["artifactType"] == signature["artifactType"]
