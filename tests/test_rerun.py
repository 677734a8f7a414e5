"""Learners re-run lessons: Run All twice in one kernel shows what Run All once shows, in every notebook.

Each notebook runs once as nbval would (its outputs must match the committed ones), then every cell runs again in
the same kernel and must show the same outputs as the first run. Outputs are compared as nbval compares them:
streams merged, the keys nbval skips left out, and `notebooks/sanitize.cfg` applied.
"""

from __future__ import annotations

import copy
import difflib
import pprint
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbval.plugin import coalesce_streams, get_sanitize_patterns

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # every notebook twice, in kernels

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SANITIZE = get_sanitize_patterns((ROOT / "notebooks" / "sanitize.cfg").read_text())
# nbval's own list (nbval.plugin.IPyNbFile.skip_compare, without --nbdime): what it never compares.
SKIP_COMPARE = {
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
}
IGNORED = {"nbval-ignore-output", "nbval-skip"}


def sanitize(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    for regex, replace in SANITIZE:
        value = re.sub(regex, replace, value)
    return value


def compared(outputs: list[Any]) -> dict[str, list[Any]]:
    """A cell's outputs as nbval compares them: per key (each MIME type, each stream), the sanitized values."""
    by_key: dict[str, list[Any]] = {}
    for output in coalesce_streams(copy.deepcopy(outputs)):
        if output["output_type"] == "stream":
            by_key.setdefault(output["name"], []).append(sanitize(output["text"]))
            continue
        for key, value in output.items():
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIP_COMPARE:
                        by_key.setdefault(mime, []).append(sanitize(data))
            elif key not in SKIP_COMPARE:
                by_key.setdefault(key, []).append(sanitize(value))
    return by_key


def checked_cells(notebook: Any) -> list[tuple[int, Any]]:
    """The code cells whose outputs nbval checks, with their index."""
    return [
        (index, cell)
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and not IGNORED & set(cell.metadata.get("tags", []))
    ]


def run_all(client: NotebookClient, notebook: Any) -> dict[int, dict[str, list[Any]]]:
    """Execute every code cell in the client's kernel, as Run All does; returns the checked cells' outputs."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            client.execute_cell(cell, index)
    return {index: compared(cell.outputs) for index, cell in checked_cells(notebook)}


def differences(expected: dict[int, dict[str, list[Any]]], got: dict[int, dict[str, list[Any]]], names: str) -> str:
    """A unified diff per cell whose outputs differ; empty when all match."""
    before, after = names.split(" vs ")
    return "\n".join(
        line
        for index in expected
        if expected[index] != got[index]
        for line in difflib.unified_diff(
            pprint.pformat(expected[index], width=120).splitlines(),
            pprint.pformat(got[index], width=120).splitlines(),
            f"{before}: cell {index}",
            f"{after}: cell {index}",
            lineterm="",
        )
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_run_all_twice_in_one_kernel_shows_the_committed_outputs_both_times(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    committed = {index: compared(cell.outputs) for index, cell in checked_cells(notebook)}
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": path.parent}})
    with client.setup_kernel():
        first = run_all(client, notebook)
        second = run_all(client, notebook)
    assert not (diff := differences(committed, first, "committed vs first run")), diff
    assert not (diff := differences(first, second, "first run vs second run")), diff
