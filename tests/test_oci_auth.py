"""ECR's registry auth on the emulator's /v2/: tokens from GetAuthorizationToken, 12 hours, per principal."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from ecrlab.emulator.clock import WORKSHOP_START
from tests.oci import V2, errors

ACCOUNT_B = "210987654321"


@pytest.fixture
def other_account(registry):
    """The registry of a second account, reached by assuming a role there."""
    return registry.assume_role(f"arn:aws:iam::{ACCOUNT_B}:role/Admin", "bob")


def test_token_shape_follows_aws(registry):
    data = registry.client().get_authorization_token()["authorizationData"]
    assert len(data) == 1
    user, _, password = base64.b64decode(data[0]["authorizationToken"]).decode().partition(":")
    assert user == "AWS" and password
    assert data[0]["expiresAt"] == WORKSHOP_START + timedelta(hours=12)
    # The address a docker client logs in to is the emulator's own, not an amazonaws.com host.
    assert data[0]["proxyEndpoint"] == registry.endpoint_url


def test_a_token_per_requested_registry(registry):
    data = registry.client().get_authorization_token(registryIds=["123456789012", ACCOUNT_B])["authorizationData"]
    assert len({item["authorizationToken"] for item in data}) == 2


def test_base_check_needs_credentials(registry):
    anonymous = V2(registry, authenticated=False)
    response = anonymous("GET", "/v2/")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="')
    assert errors(response) == ["UNAUTHORIZED"]
    assert V2(registry)("GET", "/v2/").status == 200


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"AWS:not-a-token").decode(),
        "Basic " + base64.b64encode(b"someone:whatever").decode(),
        "Bearer abc",
        "Basic %%%",
    ],
)
def test_bad_credentials_are_unauthorized(registry, authorization):
    client = V2(registry, authenticated=False)
    response = client("GET", "/v2/", headers={"Authorization": authorization})
    assert response.status == 401 and "WWW-Authenticate" in response.headers


def test_a_tampered_token_is_rejected(registry):
    client = V2(registry)
    user_password = base64.b64decode(client.headers["Authorization"].split()[1]).decode()
    prefix, payload, signature = user_password.split(":", 1)[1].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["account"] = ACCOUNT_B
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    header = "Basic " + base64.b64encode(f"AWS:{prefix}.{forged}.{signature}".encode()).decode()
    assert client("GET", "/v2/", headers={"Authorization": header}).status == 401


def test_token_expires_after_12_hours_on_the_emulator_clock(registry):
    registry.client().create_repository(repositoryName="app")
    client = V2(registry)
    registry.emulator.advance(hours=11, minutes=59)
    assert client("GET", "/v2/app/tags/list").status == 200
    registry.emulator.advance(hours=1)
    response = client("GET", "/v2/app/tags/list")
    assert response.status == 401
    assert "expired" in json.loads(response.data)["errors"][0]["message"]
    assert V2(registry)("GET", "/v2/app/tags/list").status == 200  # a fresh token works again


def test_the_token_says_which_region(registry):
    registry.in_region("eu-west-1").client().create_repository(repositoryName="only-in-eu")
    assert V2(registry.in_region("eu-west-1"))("GET", "/v2/only-in-eu/tags/list").status == 200
    assert errors(V2(registry)("GET", "/v2/only-in-eu/tags/list")) == ["NAME_UNKNOWN"]


def test_the_host_may_name_the_registry(registry):
    registry.in_region("eu-west-1").client().create_repository(repositoryName="only-in-eu")
    client = V2(registry)  # a us-east-1 token
    port = registry.endpoint_url.rsplit(":", 1)[1]
    host = {"Host": f"123456789012.dkr.ecr.eu-west-1.localhost:{port}"}
    assert client("GET", "/v2/only-in-eu/tags/list", headers=host).status == 200


def test_another_accounts_own_token_does_not_see_this_registry(registry, other_account):
    registry.client().create_repository(repositoryName="app")
    response = V2(other_account)("GET", "/v2/app/tags/list")
    assert response.status == 404 and errors(response) == ["NAME_UNKNOWN"]


def test_cross_account_pull_needs_a_repository_policy(registry, other_account):
    registry.client().create_repository(repositoryName="app")
    as_bob = V2(other_account, registryIds=["123456789012"])
    denied = as_bob("GET", "/v2/app/tags/list")
    assert denied.status == 403 and errors(denied) == ["DENIED"]
    message = json.loads(denied.data)["errors"][0]["message"]
    assert f"arn:aws:sts::{ACCOUNT_B}:assumed-role/Admin/bob is not authorized to perform: ecr:ListImages" in message
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"},
                "Action": ["ecr:ListImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
    registry.client().set_repository_policy(repositoryName="app", policyText=json.dumps(policy))
    assert as_bob("GET", "/v2/app/tags/list").status == 200
    pushed = as_bob("POST", "/v2/app/blobs/uploads/")
    assert pushed.status == 403 and "ecr:InitiateLayerUpload" in json.loads(pushed.data)["errors"][0]["message"]
