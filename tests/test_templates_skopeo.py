"""Create on push with a real OCI client: skopeo pushes to a missing repository succeed only under a template."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import aws_cli

LAYOUT = Path(__file__).resolve().parents[1] / "data" / "images" / "alpine-node"

pytestmark = pytest.mark.skipif(
    shutil.which("skopeo") is None, reason="skopeo is not installed (as root, `make system-deps` installs it)"
)


def push(server: str, password: str, repository: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", f"AWS:{password}",
            f"oci:{LAYOUT}:18-alpine", f"docker://{server.removeprefix('http://')}/{repository}:v1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


def template(prefix: str, applied_for: str, *options: str) -> None:
    created = aws_cli(
        "ecr", "create-repository-creation-template", "--prefix", prefix, "--applied-for", applied_for, *options
    )
    assert created.returncode == 0, created.stderr


def repository_names() -> list[str]:
    described = json.loads(aws_cli("ecr", "describe-repositories").stdout)
    return sorted(repo["repositoryName"] for repo in described["repositories"])


def test_push_to_a_missing_repository_needs_a_create_on_push_template(aws_env):
    password = aws_cli("ecr", "get-login-password").stdout.strip()
    template("prod", "CREATE_ON_PUSH", "--image-tag-mutability", "IMMUTABLE")
    template("cache", "PULL_THROUGH_CACHE")

    created = push(aws_env, password, "prod/checkout")
    assert created.returncode == 0, created.stderr
    for refused in ("staging/checkout", "cache/checkout"):  # no template; a template for another reason
        result = push(aws_env, password, refused)
        assert result.returncode != 0
        assert "name unknown" in result.stderr.lower() or "NAME_UNKNOWN" in result.stderr, result.stderr

    assert repository_names() == ["prod/checkout"]
    described = json.loads(aws_cli("ecr", "describe-repositories", "--repository-names", "prod/checkout").stdout)
    assert described["repositories"][0]["imageTagMutability"] == "IMMUTABLE"
    images = json.loads(aws_cli("ecr", "list-images", "--repository-name", "prod/checkout").stdout)
    assert [image["imageTag"] for image in images["imageIds"]] == ["v1"]


def test_a_template_that_cannot_be_applied_refuses_the_push(aws_env):
    password = aws_cli("ecr", "get-login-password").stdout.strip()
    template("sandbox", "CREATE_ON_PUSH", "--resource-tags", "Key=cost-center,Value=lab")  # no --custom-role-arn

    result = push(aws_env, password, "sandbox/try-me")
    assert result.returncode != 0
    assert repository_names() == []
