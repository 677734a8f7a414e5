"""Notebooks as runbooks: `ecrlab demo` and papermill against a server reached through AWS_ENDPOINT_URL."""

from __future__ import annotations

import json
import subprocess

import pytest

from ecrlab.parameters import RUNBOOKS
from ecrlab.runs import execute
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


def test_every_notebook_is_a_runbook_and_its_parameters_cell_matches_the_schema():
    import ast

    assert sorted(book.notebook for book in RUNBOOKS.values()) == [nb.name for nb in NOTEBOOKS]
    for book in RUNBOOKS.values():
        cells = json.loads((ROOT / "notebooks" / book.notebook).read_text())["cells"]
        source = "".join(next(c for c in cells if "parameters" in c["metadata"].get("tags", []))["source"])
        defaults = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(source).body}
        assert defaults == {p.name: p.default for p in book.parameters}, book.notebook


@pytest.mark.slow  # every notebook, in kernels
def test_demo_runs_every_notebook_and_reports_one_line_each(tmp_path):
    # Started elsewhere than the repository: each kernel still starts in notebooks/, whatever the threads do.
    elsewhere, runs = tmp_path / "elsewhere", tmp_path / "runs"
    elsewhere.mkdir()
    proc = subprocess.run(
        [str(BIN / "ecrlab"), "demo", "--runs", str(runs)],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [["ok", nb.stem] for nb in NOTEBOOKS]
    run_dir = next(runs.iterdir())
    for feature in RUNBOOKS:
        assert sorted(p.name for p in (run_dir / feature).iterdir()) == [
            "audit.json",
            "backup.json",  # the backups sit next to the record, wherever it goes
            "notebook.html",
            "notebook.ipynb",
        ]
        assert json.loads((run_dir / feature / "audit.json").read_text())["outcome"] == "applied"


def test_a_failing_notebook_is_a_failed_result_not_an_exception(tmp_path):
    broken = tmp_path / "00_broken.ipynb"
    broken.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "id": "boom",  # nbformat 4.5 requires cell ids (a missing one is a warning, soon an error)
                        "execution_count": None,
                        "metadata": {},
                        "outputs": [],
                        "source": "raise RuntimeError('boom')",
                    }
                ],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )
    result = execute(broken, tmp_path / "out.ipynb")
    assert not result.ok and result.ename == "RuntimeError" and "boom" in result.error
