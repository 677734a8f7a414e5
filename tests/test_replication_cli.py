"""The AWS CLI sets a two-rule configuration on `ecrlab emulator serve`, skopeo pushes, the copies can be pulled."""

from __future__ import annotations

import json
import shutil

import pytest

from ecrlab.oci_layout import read_layout
from ecrlab.registry import EmulatorControl
from tests.conftest import aws_cli
from tests.skopeo_helpers import IMAGES, address, skopeo

pytestmark = pytest.mark.skipif(
    shutil.which("skopeo") is None, reason="skopeo is not installed (as root, `make system-deps` installs it)"
)

# The AWS CLI v1 pinned by the dev extra predates deleteReplication, so these rules leave it out.
RULES = [
    {
        "destinations": [{"region": "eu-west-1", "registryId": "123456789012"}],
        "repositoryFilters": [{"filter": "shop/", "filterType": "PREFIX_MATCH"}],
    },
    {"destinations": [{"region": "ap-southeast-2", "registryId": "123456789012"}]},
]


def cli_json(*args: str) -> dict:
    result = aws_cli("ecr", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_cli_configures_two_rules_skopeo_pushes_and_each_destination_serves_the_image(aws_env, tmp_path):
    configuration = json.dumps({"rules": RULES})
    written = cli_json("put-replication-configuration", "--replication-configuration", configuration)
    assert written["replicationConfiguration"]["rules"] == RULES
    assert cli_json("describe-registry")["replicationConfiguration"]["rules"] == RULES
    cli_json("create-repository", "--repository-name", "shop/api")
    password = aws_cli("ecr", "get-login-password").stdout.strip()
    registry = address(aws_env)
    skopeo(
        "copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
        f"oci:{IMAGES / 'alpine-node'}:18-alpine", f"docker://{registry}/shop/api:1.0",
    )  # fmt: skip
    EmulatorControl(aws_env).settle()  # the server's clock runs, but settling makes the test independent of it
    image = ["--repository-name", "shop/api", "--image-id", "imageTag=1.0"]
    answer = cli_json("describe-image-replication-status", *image)
    assert {(s["region"], s["status"]) for s in answer["replicationStatuses"]} == {
        ("eu-west-1", "COMPLETE"),
        ("ap-southeast-2", "COMPLETE"),
    }
    digest = read_layout(IMAGES / "alpine-node").refs["18-alpine"]["digest"]
    for region in ("eu-west-1", "ap-southeast-2"):
        token = aws_cli("ecr", "get-login-password", "--region", region)
        assert token.returncode == 0, token.stderr
        pulled = tmp_path / region
        skopeo(
            "copy", "--src-tls-verify=false", "--src-creds", f"AWS:{token.stdout.strip()}",
            f"docker://{registry}/shop/api:1.0", f"oci:{pulled}:1.0",
        )  # fmt: skip
        assert read_layout(pulled).refs["1.0"]["digest"] == digest
