"""`ecrlab app FEATURE`: the Voilà command it runs (the browser tests drive the real thing)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ecrlab.app import MERMAID_PATH, TEMPLATE_SOURCE, voila_command
from ecrlab.package_data import notebooks
from tests.conftest import BIN


def test_app_serves_the_notebook_without_code_through_the_offline_template() -> None:
    command, env = voila_command(notebooks() / "01_registry_permissions.ipynb", port=8870, open_browser=False)
    assert command[1:4] == ["-m", "voila", str(notebooks() / "01_registry_permissions.ipynb")]
    assert {"--strip_sources=True", "--template=ecrlab", "--port=8870", "--no-browser"} <= set(command)
    data = Path(env["JUPYTER_PATH"].split(os.pathsep)[0])
    assert (data / "voila" / "templates" / "ecrlab" / "index.html.j2").is_file()
    mermaid = (data / MERMAID_PATH).read_bytes()  # unpacked: the 2.7 MB script itself, not its gzip
    assert mermaid.startswith(b'"use strict"') and len(mermaid) > 2_000_000


def test_the_app_writes_nothing_into_the_installed_package(tmp_path, monkeypatch) -> None:
    """A package in a read-only venv: the template is unpacked into the user's cache, never beside the package."""
    before = sorted(p.relative_to(TEMPLATE_SOURCE) for p in TEMPLATE_SOURCE.rglob("*"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _, env = voila_command(notebooks() / "00_start_here.ipynb", port=8870, open_browser=False)
    assert env["JUPYTER_PATH"].startswith(str(tmp_path / "ecrlab"))
    assert sorted(p.relative_to(TEMPLATE_SOURCE) for p in TEMPLATE_SOURCE.rglob("*")) == before
    assert [p.name for p in (tmp_path / "ecrlab").iterdir()] == [Path(env["JUPYTER_PATH"].split(os.pathsep)[0]).name]


def test_an_unknown_feature_is_refused_with_the_known_ones() -> None:
    proc = subprocess.run([str(BIN / "ecrlab"), "app", "nope"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "feature: 'nope' is invalid: must be one of start-here, permissions" in proc.stderr


def test_presenter_view_drops_learner_and_runbook_cells_before_execution() -> None:
    notebook = notebooks() / "04_replication.ipynb"
    presenter, _ = voila_command(notebook, port=8870, open_browser=False, everything=False)
    everything, _ = voila_command(notebook, port=8870, open_browser=False, everything=True)
    assert "--TagRemovePreprocessor.enabled=True" in presenter
    assert {
        "--TagRemovePreprocessor.remove_cell_tags=learner",
        "--TagRemovePreprocessor.remove_cell_tags=runbook",
    } <= set(presenter)
    assert not any(part.startswith("--TagRemovePreprocessor") for part in everything)


def _sections(notebook: dict) -> list[tuple[str, list[set[str]]]]:
    """Each `## ` section of a notebook: its heading and the tags of each of its cells."""
    sections: list[tuple[str, list[set[str]]]] = []
    for cell in notebook["cells"]:
        source = "".join(cell["source"]).strip()
        if cell["cell_type"] == "markdown" and source.startswith("## "):
            sections.append((source.splitlines()[0], []))
        if sections:
            sections[-1][1].append(set(cell["metadata"].get("tags", [])))
    return sections


def test_every_exercise_and_runbook_section_is_tagged_and_nothing_else() -> None:
    import json

    for path in sorted(notebooks().glob("0*.ipynb")):
        for heading, tags in _sections(json.loads(path.read_text())):
            expected = (
                {"learner"}
                if heading.startswith("## Exercise")
                else {"runbook"}
                if heading.startswith("## Run it as a runbook")
                else set()
            )
            for cell_tags in tags:
                assert cell_tags & {"learner", "runbook"} == expected, f"{path.name} {heading!r}: {cell_tags}"
