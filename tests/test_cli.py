"""The `ecrlab` command and the served emulator driven by the real AWS CLI."""

from __future__ import annotations

import json
import signal
import subprocess

from ecrlab import __version__
from ecrlab.emulator.coverage import coverage
from tests.conftest import BIN, aws_cli

V2_ONLY_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DevopsOnly",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:role/devops-role"},
                "Action": ["ecr:CreateRepository", "ecr:DeleteRepository"],
                "Resource": "*",
            }
        ],
    }
)


def ecrlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "ecrlab"), *args], capture_output=True, text=True, timeout=120)


def test_version_and_help():
    assert ecrlab("--version").stdout.strip() == f"ecrlab {__version__}"
    help_text = ecrlab("--help").stdout
    assert all(word in help_text for word in ("demo", "emulator"))


def test_coverage_command_prints_every_operation():
    out = ecrlab("emulator", "coverage").stdout.splitlines()
    assert len(out) == len(coverage()) + 1
    assert out[-1].startswith("62 of 62 operations emulated — moto native: ")


def test_aws_cli_switches_policy_scope_against_the_server(server):
    env = {
        "AWS_ACCESS_KEY_ID": "AKIACLI0000000000000",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    cli = ["--endpoint-url", server, "--output", "json", "ecr"]
    got = aws_cli(*cli, "get-account-setting", "--name", "REGISTRY_POLICY_SCOPE", env=env)
    assert json.loads(got.stdout) == {"name": "REGISTRY_POLICY_SCOPE", "value": "V2"}
    assert (
        aws_cli(*cli, "put-account-setting", "--name", "REGISTRY_POLICY_SCOPE", "--value", "V1", env=env).returncode
        == 0
    )
    rejected = aws_cli(*cli, "put-registry-policy", "--policy-text", V2_ONLY_POLICY, env=env)
    assert rejected.returncode != 0
    assert "InvalidParameterException" in rejected.stderr
    assert "Invalid registry policy provided" in rejected.stderr
    aws_cli(*cli, "put-account-setting", "--name", "REGISTRY_POLICY_SCOPE", "--value", "V2", env=env)
    accepted = aws_cli(*cli, "put-registry-policy", "--policy-text", V2_ONLY_POLICY, env=env)
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(accepted.stdout)["registryId"] == "123456789012"


def test_serve_prints_url_first_and_stops_on_sigterm_and_sigint():
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(
            [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().startswith("http://127.0.0.1:")
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        assert "emulator stopped" in proc.stderr.read()


def test_the_command_validates_notebooks_without_the_iri_grammar(tmp_path):
    # What `ecrlab` skips at start must not be something notebook validation needs: validate one in that state.
    script = (
        "import sys\n"
        "from ecrlab.cli import _skip_iri_grammar\n"
        "_skip_iri_grammar()\n"
        "import nbformat\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "print(sys.modules['rfc3987_syntax'] is None)\n"
    )
    done = subprocess.run([str(BIN / "python"), "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"
