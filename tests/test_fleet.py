"""Fleet runs: one runbook over several accounts, in threads and on a local Dask cluster."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ecrlab
from ecrlab.errors import ValidationError
from ecrlab.fleet import fleet, read_accounts
from tests.conftest import BIN

ACCOUNTS = ["111111111111", "222222222222", "333333333333"]


def repositories_in(url: str, account: str) -> list[str]:
    reg = ecrlab.connect(endpoint_url=url).assume_role(f"arn:aws:iam::{account}:role/admin")
    return [r["repositoryName"] for r in reg.client().describe_repositories()["repositories"]]


def test_read_accounts_names_the_bad_line(tmp_path):
    good = tmp_path / "accounts.txt"
    good.write_text("# prod accounts\n111111111111\n\n222222222222, payments\n")
    assert read_accounts(good) == ["111111111111", "222222222222"]
    bad = tmp_path / "bad.txt"
    bad.write_text("111111111111\n1234\n")
    with pytest.raises(ValidationError) as excinfo:
        read_accounts(bad)
    assert excinfo.value.field == "accounts line 2"
    with pytest.raises(ValidationError, match=r"accounts: .* cannot be read: No such file"):
        read_accounts(tmp_path / "missing.txt")


def test_fleet_in_threads_applies_each_account_through_its_role(aws_env, tmp_path):
    root, report = fleet(
        "start-here",
        ACCOUNTS,
        "admin",
        ["us-east-1"],
        {"target": "aws", "apply": True, "demo_repository": True},  # the lesson repository, asked for
        output=str(tmp_path),
        progress=False,
    )
    assert report["account_id"].tolist() == ACCOUNTS
    assert report["outcome"].tolist() == ["applied"] * 3 and report["verified"].all()
    assert all(caller.endswith("assumed-role/admin/ecrlab-start-here") for caller in report["caller"])
    for account in ACCOUNTS:
        assert repositories_in(aws_env, account) == ["hello-ecrlab"]
    assert (root / "report.csv").read_text().startswith("account_id,region,run_id,outcome")
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [f"{a}-us-east-1" for a in ACCOUNTS]


DASK_FLEET = """
import json, sys
from distributed import Client, LocalCluster
from ecrlab.fleet import fleet
with LocalCluster(n_workers=1, threads_per_worker=3, processes=False, dashboard_address=None) as cluster, \\
        Client(cluster) as client:
    values = {"target": "aws", "demo_repository": True}
    _, report = fleet("start-here", sys.argv[2:], "admin", ["us-east-1", "eu-west-1"], values,
                      output=sys.argv[1], executor=client.get_executor(), progress=False)
print(report.to_json(orient="records"))
"""


def test_fleet_on_a_local_dask_cluster(aws_env, tmp_path):
    # A fresh interpreter: Dask's event loop must not meet the ones papermill leaves in this test process.
    proc = subprocess.run(
        [sys.executable, "-c", DASK_FLEET, str(tmp_path), *ACCOUNTS], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(report) == 6 and {row["outcome"] for row in report} == {"dry-run"}
    assert [row["changes"] for row in report] == [1] * 6
    assert all(repositories_in(aws_env, account) == [] for account in ACCOUNTS)


def test_fleet_cli_prints_the_report(aws_env, tmp_path):
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("\n".join(ACCOUNTS[:2]))
    proc = subprocess.run(
        [
            str(BIN / "ecrlab"),
            "fleet",
            "start-here",
            "--accounts",
            str(accounts),
            "--role-name",
            "admin",
            "--output",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("dry-run") == 2 and "report:" in proc.stdout
