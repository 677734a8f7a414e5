"""Binder builds the lab from `binder/`: the same files must give a working environment on a fresh machine.

repo2docker creates a Python of the version `binder/runtime.txt` names and runs `pip install -r
binder/requirements.txt` from the repository root; this does the same in a new virtual environment (pip may reuse
its wheel cache) and runs notebook 00 there with papermill, isolated from this checkout's .venv and Jupyter setup.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

BINDER = ROOT / "binder"
REQUIREMENTS = ("-r", "binder/requirements.txt")  # relative to the repository root, as repo2docker runs it
PAPERMILL_OPTIONS = ("--cwd", "notebooks", "--kernel", "python3", "--no-progress-bar")


def test_runtime_names_a_python_the_package_supports() -> None:
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert match, f"binder/runtime.txt must read like python-3.11, not {runtime!r}"
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = tuple(int(part) for part in re.search(r">=\s*(\d+)\.(\d+)", required).groups())
    assert tuple(int(part) for part in match.groups()) >= minimum


@pytest.mark.slow
def test_binder_requirements_build_an_environment_that_runs_notebook_00(tmp_path: Path) -> None:
    venv = tmp_path / "binder-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "AWS_", "PYTHON", "VIRTUAL_ENV"))}
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "PYTHONNOUSERSITE": "1",
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    install = subprocess.run(
        [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-compile",
            *REQUIREMENTS,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    for tool in ("jupyter-lab", "voila", "papermill", "ecrlab"):
        assert (bin_dir / tool).exists(), f"binder/requirements.txt does not install {tool}"
    specs = subprocess.run(
        [str(bin_dir / "jupyter"), "kernelspec", "list", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    kernel = json.loads(specs.stdout)["kernelspecs"]["python3"]["resource_dir"]
    assert kernel.startswith(str(venv)), f"the python3 kernel comes from outside the Binder environment: {kernel}"

    output = tmp_path / "00_start_here.ipynb"
    run = subprocess.run(
        [str(bin_dir / "papermill"), "notebooks/00_start_here.ipynb", str(output), *PAPERMILL_OPTIONS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    cells = json.loads(output.read_text())["cells"]
    printed = "".join("".join(o.get("text", "")) for cell in cells for o in cell.get("outputs", []))
    assert "pushed sha256:" in printed
