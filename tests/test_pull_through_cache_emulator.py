"""The five pull through cache rule operations in the emulator, through boto3 and the AWS CLI."""

from __future__ import annotations

import json
import subprocess

import pytest
from botocore.exceptions import ClientError

from ecrlab.ecr_model import ecr_model
from ecrlab.upstream_knobs import STAND_IN_CREDENTIALS
from tests.conftest import BIN, aws_cli

ACCOUNT = "123456789012"


def code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def secret(registry, name: str = "hub", value: dict | str = STAND_IN_CREDENTIALS, **options) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return registry.client("secretsmanager").create_secret(
        Name=f"ecr-pullthroughcache/{name}", SecretString=text, **options
    )["ARN"]


@pytest.fixture
def raw(registry):
    """Every raw response body of the ECR client, to check it against the model's output shapes."""
    bodies: list[tuple[str, dict]] = []

    def keep(operation_model, response_dict, **_):
        if response_dict["status_code"] == 200:
            bodies.append((operation_model.name, json.loads(response_dict["body"] or b"{}")))

    registry.client().meta.events.register("before-parse.ecr.*", keep)
    yield bodies
    registry.client().meta.events.unregister("before-parse.ecr.*", keep)


def test_create_describe_update_validate_delete(registry, raw):
    ecr = registry.client()
    arn = secret(registry)
    created = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker-hub", upstreamRegistryUrl="registry-1.docker.io", credentialArn=arn
    )
    assert created["upstreamRegistry"] == "docker-hub" and created["registryId"] == ACCOUNT
    assert created["createdAt"].isoformat() == "2025-06-02T09:00:00+00:00"  # the emulator clock
    [described] = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert described["credentialArn"] == arn and described["upstreamRepositoryPrefix"] == "ROOT"
    assert ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")["isValid"] is True

    registry.emulator.advance(hours=1)
    other = secret(registry, "hub-2")
    updated = ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub", credentialArn=other)
    assert updated["credentialArn"] == other and updated["updatedAt"] > created["createdAt"]
    deleted = ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix="docker-hub")
    assert deleted["credentialArn"] == other and deleted["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []
    model = ecr_model()
    for operation, body in raw:
        assert set(body) <= set(model.operation_model(operation).output_shape.members), operation


def test_the_seeds_rule_is_an_unsupported_upstream(registry):
    ecr = registry.client()
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="docker", upstreamRegistryUrl="public.ecr.aws/docker/library"
        )
    assert code(excinfo) == "UnsupportedUpstreamRegistryException"
    assert "upstream repository prefix" in excinfo.value.response["Error"]["Message"]
    rule = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="docker", upstreamRegistryUrl="public.ecr.aws", upstreamRepositoryPrefix="docker/library"
    )
    assert rule["upstreamRepositoryPrefix"] == "docker/library"


@pytest.mark.parametrize(
    ("fields", "error", "words"),
    [
        ({"upstreamRegistryUrl": "quay.io", "upstreamRegistry": "k8s"}, "InvalidParameterException", "quay"),
        ({"upstreamRegistryUrl": "gcr.io"}, "UnsupportedUpstreamRegistryException", "not supported"),
        (
            {"upstreamRegistryUrl": "quay.io", "customRoleArn": f"arn:aws:iam::{ACCOUNT}:role/r"},
            "InvalidParameterException",
            "ecr",
        ),
        ({"upstreamRegistryUrl": "quay.io", "upstreamRegistry": "gcr"}, "ValidationException", "enum"),
    ],
)
def test_create_refuses_what_aws_refuses(registry, fields, error, words):
    with pytest.raises(ClientError) as excinfo:
        registry.client().create_pull_through_cache_rule(ecrRepositoryPrefix="cache", **fields)
    assert code(excinfo) == error and words in excinfo.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "url", ["registry-1.docker.io", "ghcr.io", "registry.gitlab.com", "myregistry.azurecr.io", "cgr.dev"]
)
def test_an_upstream_that_needs_authentication_without_a_credential_is_unsupported(registry, url):
    """AWS's answer, quoted in aws-controllers-k8s/community#2589 (CreatePullThroughCacheRule for
    registry-1.docker.io without credentialArn): `UnsupportedUpstreamRegistryException: The specified upstream
    registry requires authentication. Specify a valid Secrets Manager ARN`."""
    with pytest.raises(ClientError) as excinfo:
        registry.client().create_pull_through_cache_rule(ecrRepositoryPrefix="cache", upstreamRegistryUrl=url)
    assert code(excinfo) == "UnsupportedUpstreamRegistryException"
    assert excinfo.value.response["Error"]["Message"].startswith(
        "The specified upstream registry requires authentication. Specify a valid Secrets Manager ARN"
    )


@pytest.mark.parametrize(("url", "extra"), [("quay.io", {}), ("registry-1.docker.io", {"credential": True})])
def test_update_with_neither_credential_nor_role_is_refused(registry, url, extra):
    """AWS's answer, quoted in pulumi/pulumi-aws#5714 (UpdatePullThroughCacheRule with only the prefix):
    `InvalidParameterException: Invalid input: Please set either credential arn or role arn to update the
    credentials`. The rule is left as it was."""
    ecr = registry.client()
    fields = {"credentialArn": secret(registry)} if extra else {}
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="cache", upstreamRegistryUrl=url, **fields)
    with pytest.raises(ClientError) as excinfo:
        ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="cache")
    assert code(excinfo) == "InvalidParameterException"
    assert excinfo.value.response["Error"]["Message"] == (
        "Invalid input: Please set either credential arn or role arn to update the credentials"
    )
    [rule] = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert rule.get("credentialArn") == fields.get("credentialArn")


@pytest.mark.parametrize("prefix", ["UPPER", "x" * 31, "-bad", "a//b"])
def test_prefix_pattern_and_length_come_from_the_model(registry, prefix):
    with pytest.raises(ClientError) as excinfo:
        registry.client().create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl="quay.io")
    assert code(excinfo) == "ValidationException"


def test_root_takes_no_upstream_prefix(registry):
    ecr = registry.client()
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="ROOT", upstreamRegistryUrl="quay.io", upstreamRepositoryPrefix="libpod"
        )
    assert code(excinfo) == "InvalidParameterException"
    assert ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="ROOT", upstreamRegistryUrl="quay.io")


def test_secret_errors(registry):
    ecr = registry.client()
    missing = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/nothing-AbCdEf"
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="a1", upstreamRegistryUrl="ghcr.io", credentialArn=missing
        )
    assert code(excinfo) == "SecretNotFoundException"

    kms = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0d7b3f4e-1c2a-4b5d-9e8f-123456789abc"
    encrypted = secret(registry, "cmk", KmsKeyId=kms)
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="a2", upstreamRegistryUrl="ghcr.io", credentialArn=encrypted
        )
    assert code(excinfo) == "UnableToDecryptSecretValueException"

    doomed = secret(registry, "doomed")
    registry.client("secretsmanager").delete_secret(SecretId=doomed)
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="a3", upstreamRegistryUrl="ghcr.io", credentialArn=doomed
        )
    assert code(excinfo) == "UnableToAccessSecretException"

    elsewhere = registry.in_region("eu-west-1")
    foreign = secret(elsewhere, "other-region")
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="a4", upstreamRegistryUrl="ghcr.io", credentialArn=foreign
        )
    assert code(excinfo) == "InvalidParameterException" and "region us-east-1" in str(excinfo.value)


def test_duplicates_limit_and_not_found(registry):
    ecr = registry.client()
    for index in range(50):
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=f"cache-{index:02d}", upstreamRegistryUrl="quay.io")
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="cache-00/", upstreamRegistryUrl="quay.io")
    assert code(excinfo) == "PullThroughCacheRuleAlreadyExistsException"  # the trailing '/' is assumed anyway
    with pytest.raises(ClientError) as excinfo:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="one-more", upstreamRegistryUrl="quay.io")
    assert code(excinfo) == "LimitExceededException"
    for call in (ecr.delete_pull_through_cache_rule, ecr.validate_pull_through_cache_rule):
        with pytest.raises(ClientError) as excinfo:
            call(ecrRepositoryPrefix="nope")
        assert code(excinfo) == "PullThroughCacheRuleNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["cache-01", "nope"])
    assert code(excinfo) == "PullThroughCacheRuleNotFoundException"


def test_describe_pages_and_filters(registry):
    ecr = registry.client()
    for prefix in ("c", "a", "b"):
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=f"{prefix}{prefix}", upstreamRegistryUrl="quay.io")
    first = ecr.describe_pull_through_cache_rules(maxResults=2)
    assert [r["ecrRepositoryPrefix"] for r in first["pullThroughCacheRules"]] == ["aa", "bb"]
    rest = ecr.describe_pull_through_cache_rules(maxResults=2, nextToken=first["nextToken"])
    assert [r["ecrRepositoryPrefix"] for r in rest["pullThroughCacheRules"]] == ["cc"] and "nextToken" not in rest
    pages = ecr.get_paginator("describe_pull_through_cache_rules").paginate(PaginationConfig={"PageSize": 1})
    assert sum(len(p["pullThroughCacheRules"]) for p in pages) == 3
    only = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=["bb"])["pullThroughCacheRules"]
    assert [r["ecrRepositoryPrefix"] for r in only] == ["bb"]


def test_update_changes_only_credential_and_role(registry):
    ecr = registry.client()
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="hub", upstreamRegistryUrl="registry-1.docker.io", credentialArn=secret(registry)
    )
    with pytest.raises(ClientError) as excinfo:
        ecr.update_pull_through_cache_rule(ecrRepositoryPrefix="hub", customRoleArn=f"arn:aws:iam::{ACCOUNT}:role/r")
    assert code(excinfo) == "InvalidParameterException"  # a role is for ECR upstreams only
    with pytest.raises(ClientError) as excinfo:
        ecr.update_pull_through_cache_rule(
            ecrRepositoryPrefix="hub",
            credentialArn=f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-pullthroughcache/gone-AbCdEf",
        )
    assert code(excinfo) == "SecretNotFoundException"
    same = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"][0]
    assert same["upstreamRegistryUrl"] == "registry-1.docker.io"


@pytest.mark.parametrize(
    ("value", "failure"),
    [
        ("not json", "not JSON"),
        ({"username": "ecrlab"}, "accessToken"),
        ({"username": "ecrlab", "accessToken": "wrong"}, "401"),
    ],
)
def test_validate_reads_the_secret_and_logs_in(registry, value, failure):
    ecr = registry.client()
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix="hub",
        upstreamRegistryUrl="registry-1.docker.io",
        credentialArn=secret(registry, value=value),
    )
    result = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="hub")
    assert result["isValid"] is False and failure in result["failure"]


def test_validate_an_unreachable_upstream(registry):
    ecr = registry.client()
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="pub", upstreamRegistryUrl="public.ecr.aws")
    from ecrlab.upstream_knobs import Upstreams

    Upstreams(registry).outage("public.ecr.aws")
    result = ecr.validate_pull_through_cache_rule(ecrRepositoryPrefix="pub")
    assert result["isValid"] is False and "503" in result["failure"]


def test_aws_cli_creates_and_describes_a_rule(aws_env):
    created = aws_cli(
        "ecr", "create-pull-through-cache-rule", "--ecr-repository-prefix", "ecr-public",
        "--upstream-registry-url", "public.ecr.aws",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["upstreamRegistry"] == "ecr-public"
    described = json.loads(aws_cli("ecr", "describe-pull-through-cache-rules").stdout)
    assert [r["ecrRepositoryPrefix"] for r in described["pullThroughCacheRules"]] == ["ecr-public"]
    validated = json.loads(
        aws_cli("ecr", "validate-pull-through-cache-rule", "--ecr-repository-prefix", "ecr-public").stdout
    )
    assert validated["isValid"] is True
    refused = aws_cli(
        "ecr", "create-pull-through-cache-rule", "--ecr-repository-prefix", "docker",
        "--upstream-registry-url", "public.ecr.aws/docker/library",
    )  # fmt: skip
    assert refused.returncode != 0 and "UnsupportedUpstreamRegistryException" in refused.stderr


def test_serve_refuses_a_bad_upstream_mapping():
    result = subprocess.run(
        [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0", "--upstream", "registry-1.docker.io"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--upstream" in result.stderr and "HOST=URL" in result.stderr
