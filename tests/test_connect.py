"""`ecrlab.connect()` for the embedded emulator, a running server and AWS through AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ecrlab
from ecrlab.errors import ValidationError


def test_embedded_emulator_is_the_demo_account(registry):
    assert (registry.target, registry.account_id, registry.region) == (
        "emulator",
        "123456789012",
        "us-east-1",
    )
    assert registry.endpoint_url.startswith("http://127.0.0.1:")


def test_one_embedded_server_per_process():
    assert ecrlab.connect().endpoint_url == ecrlab.connect(region="eu-west-1").endpoint_url


def test_clients_per_region_see_separate_registries(registry):
    registry.client().create_repository(repositoryName="only-here")
    assert registry.in_region("eu-west-1").client().describe_repositories()["repositories"] == []
    assert registry.client(region="us-east-1").describe_repositories()["repositories"]


def test_connect_to_a_running_server(server):
    reg = ecrlab.connect(endpoint_url=server)
    reg.client().create_repository(repositoryName="on-server")
    assert [r["repositoryName"] for r in reg.client().describe_repositories()["repositories"]] == ["on-server"]
    # The embedded emulator of this process is a different one.
    assert ecrlab.connect().endpoint_url != server


def test_aws_target_honours_aws_endpoint_url(aws_env):
    reg = ecrlab.connect("aws", region="eu-west-1")
    assert reg.target == "aws" and reg.emulator is None
    reg.client().create_repository(repositoryName="via-env")
    peek = ecrlab.connect(endpoint_url=aws_env, region="eu-west-1")
    assert [r["repositoryName"] for r in peek.client().describe_repositories()["repositories"]] == ["via-env"]


def test_assume_role_acts_as_another_principal_and_account(registry):
    iam = registry.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            }
        ],
    }
    iam.create_role(RoleName="dev-role", AssumeRolePolicyDocument=json.dumps(trust))
    dev = registry.assume_role("arn:aws:iam::123456789012:role/dev-role", "alice")
    assert dev.caller_arn == "arn:aws:sts::123456789012:assumed-role/dev-role/alice"
    prod = registry.assume_role("arn:aws:iam::210987654321:role/OrganizationAccountAccessRole")
    assert prod.account_id == "210987654321"
    prod.client().create_repository(repositoryName="in-prod")
    assert registry.client().describe_repositories()["repositories"] == []


def test_bad_target_names_the_field():
    with pytest.raises(ValidationError) as excinfo:
        ecrlab.connect("localstack")
    assert excinfo.value.field == "target"


def test_import_is_light():
    heavy = "('moto', 'pandas', 'ipywidgets', 'boto3')"
    code = f"import sys, ecrlab; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_sessions_share_one_data_loader_without_growing_it(registry):
    from ecrlab.ecr_model import shared_loader

    paths = list(shared_loader().search_paths)
    other = registry.assume_role(f"arn:aws:iam::{registry.account_id}:role/any")
    other.client("ecr").describe_repositories()
    assert other.session._session.get_component("data_loader") is shared_loader()
    assert registry.session._session.get_component("data_loader") is shared_loader()
    # boto3 appends its own data folder to the loader of every Session; shared, it stays listed once.
    assert shared_loader().search_paths == paths
