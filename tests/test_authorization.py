"""Registry permissions are enforced by the emulator for IAM users and assumed roles, as AWS evaluates them."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

import ecrlab
from ecrlab.permissions import restrict_repository_admin
from tests.conftest import aws_cli

ACCOUNT = "123456789012"
ECR_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}
    ],
}
SEED_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowDevOpsAdmin",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/devops-role"},
            "Action": ["ecr:CreateRepository", "ecr:DeleteRepository", "ecr:PutRegistryPolicy"],
            "Resource": "*",
        }
    ],
}


def make_role(registry, name: str, policy: dict | None = ECR_ALL) -> ecrlab.Registry:
    iam = registry.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName="ecr-all", PolicyDocument=json.dumps(policy))
    return registry.assume_role(f"arn:aws:iam::{ACCOUNT}:role/{name}", name)


def denied(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    return excinfo.value.response["Error"]["Message"]


def test_allow_only_registry_policy_restricts_nobody(registry):
    registry.client().put_registry_policy(policyText=json.dumps(SEED_POLICY))
    assert json.loads(registry.client().get_registry_policy()["policyText"]) == SEED_POLICY
    dev = make_role(registry, "dev-role")
    assert ":assumed-role/dev-role/" in dev.client("sts").get_caller_identity()["Arn"]
    made = dev.client().create_repository(repositoryName="made-by-dev")["repository"]
    assert made["repositoryName"] == "made-by-dev"
    assert [r["repositoryName"] for r in registry.client().describe_repositories()["repositories"]] == ["made-by-dev"]


def test_explicit_deny_restricts_everyone_but_the_admins(registry):
    dev, devops = make_role(registry, "dev-role"), make_role(registry, "devops-role")
    policy = restrict_repository_admin(ACCOUNT, [f"arn:aws:iam::{ACCOUNT}:role/devops-role"])
    registry.client().put_registry_policy(policyText=policy.to_json())
    with pytest.raises(ClientError) as excinfo:
        dev.client().create_repository(repositoryName="made-by-dev")
    message = denied(excinfo)
    assert message.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/dev-role/dev-role is not authorized")
    assert "ecr:CreateRepository" in message and "explicit deny in a resource-based policy" in message
    devops.client().create_repository(repositoryName="made-by-devops")
    assert [r["repositoryName"] for r in dev.client().describe_repositories()["repositories"]] == ["made-by-devops"]
    with pytest.raises(ClientError):
        dev.client().delete_repository(repositoryName="made-by-devops")


def test_no_identity_policy_means_implicit_deny(registry):
    nobody = make_role(registry, "no-policy-role", policy=None)
    with pytest.raises(ClientError) as excinfo:
        nobody.client().describe_repositories()
    assert "because no identity-based policy allows the ecr:DescribeRepositories action" in denied(excinfo)


def test_repository_policy_grants_within_the_account(registry):
    registry.client().create_repository(repositoryName="shared")
    reader = make_role(registry, "reader-role", policy=None)
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/reader-role"},
                "Action": ["ecr:DescribeImages", "ecr:ListImages"],
            }
        ],
    }
    registry.client().set_repository_policy(repositoryName="shared", policyText=json.dumps(grant))
    assert reader.client().list_images(repositoryName="shared")["imageIds"] == []
    with pytest.raises(ClientError):
        reader.client().list_images(repositoryName="other-repo")


def test_iam_user_credentials_are_enforced(registry):
    iam = registry.client("iam")
    iam.create_user(UserName="ci")
    iam.put_user_policy(
        UserName="ci",
        PolicyName="read",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:Describe*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    import boto3

    ci = boto3.client(
        "ecr",
        endpoint_url=registry.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    ci.describe_repositories()
    with pytest.raises(ClientError) as excinfo:
        ci.create_repository(repositoryName="nope")
    assert denied(excinfo).startswith(f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized")


def test_demo_credentials_act_as_root(registry):
    policy = restrict_repository_admin(ACCOUNT, [f"arn:aws:iam::{ACCOUNT}:role/devops-role"])
    registry.client().put_registry_policy(policyText=policy.to_json())
    with pytest.raises(ClientError) as excinfo:  # the policy is in force: a role it does not name is denied
        make_role(registry, "dev-role").client().create_repository(repositoryName="dev-cannot")
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    made = registry.client().create_repository(repositoryName="root-can")["repository"]
    assert made["repositoryName"] == "root-can"
    assert [r["repositoryName"] for r in registry.client().describe_repositories()["repositories"]] == ["root-can"]


def test_aws_cli_with_assumed_role_credentials_is_denied_over_the_server(server):
    admin = ecrlab.connect(endpoint_url=server)
    dev = make_role(admin, "dev-role")
    policy = restrict_repository_admin(ACCOUNT, [f"arn:aws:iam::{ACCOUNT}:role/devops-role"])
    admin.client().put_registry_policy(policyText=policy.to_json())
    creds = dev.session.get_credentials()
    env = {
        "AWS_ACCESS_KEY_ID": creds.access_key,
        "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        "AWS_SESSION_TOKEN": creds.token,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    proc = aws_cli("--endpoint-url", server, "ecr", "create-repository", "--repository-name", "by-cli", env=env)
    assert proc.returncode != 0
    assert "AccessDeniedException" in proc.stderr and "assumed-role/dev-role" in proc.stderr
    ok = aws_cli("--endpoint-url", server, "ecr", "describe-repositories", env=env)
    assert ok.returncode == 0, ok.stderr
