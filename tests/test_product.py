"""The wheel is the product: built from this checkout, installed bare into a fresh virtual environment outside it,
and used from an empty folder the way a runbook host or a CI runner would — then with the lab extra, as a learner.

One wheel and one environment serve the whole module (pip reuses its cache); the tests run in file order, the
lab extra last, since it installs into the same environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import pytest

from ecrlab.parameters import RUNBOOKS
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
UNTRACKED = (
    ".git",
    ".venv",
    "build",
    "*.egg-info",
    "runs",
    "test-artifacts",
    "__pycache__",
    ".*_cache",
    "ecrlab-workshop",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # From a copy without what a working checkout accumulates: setuptools would ship stale files of build/lib.
    source = out / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*UNTRACKED))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "-q", str(source), "-w", str(out)], capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (found,) = out.glob("ecrlab-*.whl")
    return found


class Env:
    """A fresh virtual environment and an empty working folder, with nothing of the checkout or this process's
    Python, Jupyter or AWS settings in its environment."""

    def __init__(self, root: Path) -> None:
        self.venv, self.home = root / "venv", root / "work"
        self.bin = self.venv / "bin"
        self.home.mkdir()
        drop = ("PYTHON", "VIRTUAL_ENV", "JUPYTER", "IPYTHON", "AWS_")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        self.env |= {
            "PATH": f"{self.bin}{os.pathsep}{self.env.get('PATH', '')}",
            "VIRTUAL_ENV": str(self.venv),
            "PYTHONNOUSERSITE": "1",
            "JUPYTER_DATA_DIR": str(root / "jupyter-data"),
            "JUPYTER_CONFIG_DIR": str(root / "jupyter-config"),
            "JUPYTER_RUNTIME_DIR": str(root / "jupyter-runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "IPYTHONDIR": str(root / "ipython"),
        }

    def run(self, *args: str, timeout: int = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd or self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def pip_install(self, requirement: str) -> None:
        done = self.run(
            "python",
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-compile",
            requirement,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def bare(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    env = Env(tmp_path_factory.mktemp("product"))
    subprocess.run([sys.executable, "-m", "venv", str(env.venv)], check=True, timeout=120)
    env.pip_install(str(wheel))
    yield env


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_the_wheel_holds_the_notebooks_the_sample_images_and_the_feed(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("notebooks", "data"):
        shipped = {
            f"ecrlab/{folder}/{path.relative_to(ROOT / folder).as_posix()}"
            for path in (ROOT / folder).rglob("*")
            if path.is_file() and not {"__pycache__", ".ipynb_checkpoints"} & set(path.parts)
        }
        assert shipped and shipped <= names, sorted(shipped - names)[:5]
    assert "ecrlab/py.typed" in names
    # Mermaid ships gzipped; the unpacked copy a checkout may hold is a build artefact, not package data.
    assert "ecrlab/jupyter/voila/templates/ecrlab/static/mermaid.min.js" not in names


def test_bare_install_runs_the_demo_and_lists_its_runs(bare):
    out = ok(bare.run("ecrlab", "demo"))
    count = len(RUNBOOKS)  # every runbook the package declares is one notebook of the demo
    assert out.splitlines()[-1].startswith(f"{count}/{count} notebooks ok"), out
    listed = ok(bare.run("ecrlab", "runs", "list")).splitlines()
    assert listed[0].split() == ["RUN", "ID", "TARGET", "ACCOUNT", "REGION", "OUTCOME"]
    assert len(listed) == count + 1, listed  # the header, then one line per notebook
    first = listed[1].split()[0]
    record = json.loads(ok(bare.run("ecrlab", "runs", "show", first)))
    assert record["feature"] == first.rsplit("/", 1)[-1]


def test_bare_install_runs_a_runbook_and_keeps_its_audit_record(bare):
    out = ok(bare.run("ecrlab", "run", "replication", "-p", 'destinations=["eu-west-1"]', "--output", "records"))
    (audit,) = (bare.home / "records").glob("*/audit.json")
    record = json.loads(audit.read_text())
    assert record["feature"] == "replication" and record["outcome"] == "applied", out
    assert record["parameters"]["destinations"] == ["eu-west-1"]


SCAN = """
import sys
import ecrlab
from ecrlab import images, scan_results, scanning
from ecrlab.scanning import ScanningSpec
from ecrlab.plan import apply

registry = ecrlab.connect(endpoint_url=sys.argv[1])
apply(scanning.plan(registry, ScanningSpec("BASIC", on_push=["*"])), registry, dry_run=False)
registry.client().create_repository(repositoryName="node")
images.push(registry, ecrlab.sample_images() / "alpine-node", "node")
print(",".join(sorted(set(scan_results.findings(registry, "node", tag="18-alpine")["id"]))))
"""


@pytest.fixture(scope="module")
def served(bare: Env) -> Iterator[str]:
    """`ecrlab emulator serve` of the bare install; yields its URL."""
    server = subprocess.Popen(
        [str(bare.bin / "ecrlab"), "emulator", "serve", "--port", "0"],
        cwd=bare.home,
        env=bare.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), server.stderr.read() if server.stderr else url
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_bare_install_serves_the_emulator_that_scans_with_the_shipped_feed(bare, served):
    found = ok(bare.run("python", "-c", SCAN, served)).strip().split(",")
    # The shipped feed's advisories for the openssl and busybox of the sample image (data/vulndb/README.md).
    assert {"CVE-2024-5535", "CVE-2023-42363"} <= set(found), found
    gate = bare.run("ecrlab", "scan-gate", "node:18-alpine", "--threshold", "critical", "--endpoint-url", served)
    assert gate.returncode == 1 and "FAIL" in gate.stdout, gate.stdout + gate.stderr


def test_bare_install_runs_fleet_rollback_iam_policy_and_coverage(bare, served):
    (bare.home / "accounts.txt").write_text("111122223333\n")
    operator = {"AWS_ENDPOINT_URL": served, "AWS_ACCESS_KEY_ID": "AKIAOPERATOR00000000"}
    operator |= {"AWS_SECRET_ACCESS_KEY": "operator-secret", "AWS_DEFAULT_REGION": "us-east-1"}
    fleet = subprocess.run(
        [str(bare.bin / "ecrlab"), "fleet", "start-here", "--accounts", "accounts.txt", "--role-name", "admin"],
        cwd=bare.home, env=bare.env | operator, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert fleet.returncode == 0 and "dry-run" in fleet.stdout, fleet.stdout[-2000:] + fleet.stderr[-2000:]
    (record,) = (bare.home / "records").glob("*/audit.json")  # the replication runbook's, applied
    rolled = ok(bare.run("ecrlab", "rollback", record.parent.name, "--runs", "records"))
    assert rolled.strip(), "a dry-run rollback says what it would restore"
    policy = json.loads(ok(bare.run("ecrlab", "iam-policy", "start-here", "--dry-run")))
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "ecr:DescribeRepositories" in actions and "ecr:CreateRepository" not in actions
    coverage = ok(bare.run("ecrlab", "emulator", "coverage")).splitlines()
    operations = botocore.session.get_session().get_service_model("ecr").operation_names
    assert sorted(line.split()[0] for line in coverage[:-1]) == sorted(operations)


def test_bare_install_says_which_extra_the_lab_needs(bare):
    result = bare.run("ecrlab", "lab", "--no-browser")
    assert result.returncode == 2
    assert (
        result.stderr
        == "ecrlab: ecrlab lab needs JupyterLab, which comes with the lab extra: pip install 'ecrlab[lab]'\n"
    )
    assert (bare.home / "ecrlab-workshop" / "00_start_here.ipynb").exists()
    app = bare.run("ecrlab", "app", "replication", "--no-browser")
    assert app.returncode == 2
    assert app.stderr == "ecrlab: ecrlab app needs Voilà, which comes with the lab extra: pip install 'ecrlab[lab]'\n"


def test_lab_extra_runs_notebook_00_from_a_learners_workspace(bare, wheel):
    bare.pip_install(f"{wheel}[lab]")
    ok(bare.run("ecrlab", "lab", "workspace", "--no-lab"))
    workspace = bare.home / "workspace"
    ok(
        bare.run(
            "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output", "executed.ipynb",
            "00_start_here.ipynb", cwd=workspace,
        )
    )  # fmt: skip
    cells = json.loads((workspace / "executed.ipynb").read_text())["cells"]
    printed = "".join("".join(o.get("text", "")) for cell in cells for o in cell.get("outputs", []))
    assert "pushed sha256:" in printed
