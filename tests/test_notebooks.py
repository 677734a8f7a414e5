"""Notebooks as runbooks: `ecrlab demo` and papermill against a server reached through AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import subprocess

import pytest

from ecrlab.runbook import execute
from tests.conftest import BIN, ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def outputs(path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join(
        str(o.get("text") or o.get("data", {}).get("text/plain", ""))
        for c in cells
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )


def test_every_notebook_has_a_parameters_cell_with_target():
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(params) == 1, path.name
        assert 'target = "emulator"' in "".join(params[0]["source"]), path.name


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_runbook_against_aws_endpoint_is_a_dry_run(notebook, aws_env, tmp_path):
    result = execute(notebook, tmp_path / notebook.name, {"target": "aws", "region": "us-east-1"})
    assert result.ok, result.error
    text = outputs(tmp_path / notebook.name)
    assert "'target': 'aws'" in text
    assert "Dry run: nothing written" in text


def test_demo_runs_every_notebook_and_reports_one_line_each(tmp_path):
    proc = subprocess.run(
        [str(BIN / "ecrlab"), "demo", "--runs", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [["ok", nb.stem] for nb in NOTEBOOKS]
    run_dir = next(tmp_path.iterdir())
    assert sorted(p.name for p in run_dir.iterdir()) == [nb.name for nb in NOTEBOOKS]


def test_demo_fails_when_a_notebook_fails(tmp_path):
    bad = tmp_path / "nbs"
    bad.mkdir()
    (bad / "00_broken.ipynb").write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "execution_count": None,
                        "metadata": {},
                        "outputs": [],
                        "source": "raise RuntimeError('boom')",
                    }
                ],
                "metadata": {
                    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
                },
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )
    proc = subprocess.run(
        [str(BIN / "ecrlab"), "demo", "--notebooks", str(bad), "--runs", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("failed 00_broken") and "RuntimeError: boom" in proc.stdout
