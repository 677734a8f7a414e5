"""The emulator's closed control plane: its knobs need the server's token, browsers get no CORS unless asked.

What a web page can send without a preflight is a "simple request" (Fetch standard, CORS protocol): GET/HEAD/POST
with a `text/plain` body and no custom header. Such a request must change nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import urllib3

import ecrlab
from ecrlab import control_token
from ecrlab.emulator.server import EmulatorServer
from ecrlab.errors import ValidationError
from ecrlab.upstream_knobs import Upstreams
from tests.conftest import BIN

EVIL = "http://evil.example"
HTTP = urllib3.PoolManager(retries=False)


def simple_post(url: str, body: bytes = b"{}") -> urllib3.BaseHTTPResponse:
    """What a cross-origin page can send with fetch(..., {mode: "no-cors"}): text/plain, its Origin, no token."""
    return HTTP.request("POST", url, body=body, headers={"Content-Type": "text/plain", "Origin": EVIL})


def test_a_cross_origin_post_without_the_token_changes_nothing(registry):
    ecr = registry.client()
    ecr.create_repository(repositoryName="kept")
    before = registry.emulator.now()
    url = registry.endpoint_url
    for action, body in [
        ("reset", b"{}"),
        ("clock", b'{"advance_seconds": 86400}'),
        ("clock", b'{"freeze": "2030-01-01T00:00:00+00:00"}'),
        ("faults", b'{"operation": "DescribeRepositories", "count": 5}'),
        ("settle", b"{}"),
    ]:
        refused = simple_post(f"{url}/_ecrlab/{action}", body)
        assert refused.status == 403, action
        assert "access-control-allow-origin" not in {k.lower() for k in refused.headers}
    outage = simple_post(f"{url}/_upstreams/", b'{"host": "public.ecr.aws", "down": true}')
    assert outage.status == 403
    assert HTTP.request("GET", f"{url}/_upstreams/?since=0").status == 403

    assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["kept"]
    assert registry.emulator.now() == before
    assert registry.emulator.pending_faults() == {}
    assert Upstreams(registry).status()["stand_ins"]["public.ecr.aws"]["down"] is False


def test_a_wrong_token_is_refused_and_the_right_one_opens(registry):
    wrong = HTTP.request("POST", f"{registry.endpoint_url}/_ecrlab/reset", headers={control_token.HEADER: "guess"})
    assert wrong.status == 403 and control_token.HEADER in json.loads(wrong.data)["message"]
    assert registry.emulator.token  # connect() found the embedded server's token without being told
    right = HTTP.request("POST", f"{registry.endpoint_url}/_ecrlab/status", headers=registry.emulator.headers)
    assert right.status == 200


def test_the_stand_in_upstreams_stay_open_as_public_registries_are(registry):
    assert HTTP.request("GET", f"{registry.endpoint_url}/_upstreams/quay.io/v2/").status == 200


def test_api_answers_carry_no_cors_headers_for_any_origin(registry):
    answer = HTTP.request(
        "POST",
        registry.endpoint_url,
        body=b"{}",
        headers={
            "Origin": EVIL,
            "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert not [k for k in answer.headers if k.lower().startswith("access-control-")]
    preflight = HTTP.request(
        "OPTIONS", registry.endpoint_url, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in {k.lower() for k in preflight.headers}


def test_cors_origin_grants_that_one_origin_only():
    # A server of its own (a second server in this process would take over the embedded one's clock).
    proc = subprocess.Popen(
        [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0", "--cors-origin", "http://lab.example:8888"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        lab = {"Origin": "http://lab.example:8888", "Access-Control-Request-Method": "POST"}
        preflight = HTTP.request("OPTIONS", url, headers={**lab, "Access-Control-Request-Headers": "x-amz-target"})
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://lab.example:8888"
        assert "x-amz-target" in preflight.headers["Access-Control-Allow-Headers"]
        api = HTTP.request("GET", f"{url}/v2/", headers={"Origin": "http://lab.example:8888"})
        assert api.headers["Access-Control-Allow-Origin"] == "http://lab.example:8888"
        other = HTTP.request("GET", f"{url}/v2/", headers={"Origin": EVIL})
        assert "access-control-allow-origin" not in {k.lower() for k in other.headers}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_fault_counts_are_bounded(registry):
    with pytest.raises(ValidationError) as refused:
        registry.emulator.inject_fault("DescribeRepositories", count=10**7)
    assert refused.value.field == "count"
    with pytest.raises(ValidationError):
        registry.emulator.inject_fault("DescribeRepositories", count=-1)
    assert registry.emulator.pending_faults() == {}


@pytest.mark.parametrize("image", ["../../../../etc", "../images/alpine-node", "/etc", "alpine-node/../alpine-node"])
def test_upstream_publish_serves_only_the_sample_layouts(registry, image):
    upstreams = Upstreams(registry)
    with pytest.raises(ValidationError, match="sample layout"):
        upstreams.publish("quay.io", "libpod/alpine", "evil", image)
    assert "evil" not in upstreams.status()["stand_ins"]["quay.io"]["repositories"]["libpod/alpine"]


def test_a_server_beyond_loopback_needs_allow_remote():
    with pytest.raises(ValidationError) as refused:
        EmulatorServer(host="0.0.0.0")
    assert refused.value.field == "host"
    cli = subprocess.run(
        [str(BIN / "ecrlab"), "emulator", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 2 and "--allow-remote" in cli.stderr


def test_serve_prints_and_keeps_its_token_and_connect_finds_it_in_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(control_token.ENV)
    tokens = []
    for _ in range(2):  # the second start keeps the first token: clients configured once keep working
        proc = subprocess.Popen(
            [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0", "--data-dir", str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={k: v for k, v in os.environ.items() if k != control_token.ENV},
        )
        try:
            url = proc.stdout.readline().strip()
            name, _, token = proc.stdout.readline().strip().partition("=")
            assert name == control_token.ENV and len(token) >= 32
            assert (tmp_path / control_token.FILE_NAME).read_text().strip() == token
            assert (tmp_path / control_token.FILE_NAME).stat().st_mode & 0o077 == 0  # the owner's only
            with pytest.raises(ValidationError, match="control_token"):
                ecrlab.connect(endpoint_url=url).emulator.now()  # no token anywhere: a clear refusal
            monkeypatch.setenv(control_token.ENV, token)
            assert ecrlab.connect(endpoint_url=url).emulator.settle() == 0
            monkeypatch.delenv(control_token.ENV)
            assert ecrlab.connect(endpoint_url=url, control_token=token).emulator.now()
            tokens.append(token)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert tokens[0] == tokens[1]


def test_allow_remote_warns(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecrlab.cli", "emulator", "serve", "--host", "0.0.0.0", "--port", "0", "--allow-remote"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().startswith("http://0.0.0.0:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "WARNING" in err and "0.0.0.0" in err


@pytest.mark.parametrize("knob, value", [("settle", "soon"), ("settle", True), ("clock", float("inf"))])
def test_a_duration_that_is_no_number_of_seconds_is_refused_naming_it(registry, knob, value):
    key = "within_seconds" if knob == "settle" else "advance_seconds"
    with pytest.raises(ValidationError) as refused:
        registry.emulator.call("POST", f"/_ecrlab/{knob}", {key: value})
    assert refused.value.field == key and "seconds" in refused.value.rule
