"""`ecrlab app FEATURE`: the Voilà command it runs (the browser tests drive the real thing)."""

from __future__ import annotations

import os
import subprocess

from ecrlab.app import JUPYTER_DATA, voila_command
from ecrlab.package_data import notebooks
from tests.conftest import BIN


def test_app_serves_the_notebook_without_code_through_the_offline_template() -> None:
    command, env = voila_command(notebooks() / "01_registry_permissions.ipynb", port=8870, open_browser=False)
    assert command[1:4] == ["-m", "voila", str(notebooks() / "01_registry_permissions.ipynb")]
    assert {"--strip_sources=True", "--template=ecrlab", "--port=8870", "--no-browser"} <= set(command)
    assert env["JUPYTER_PATH"].split(os.pathsep)[0] == str(JUPYTER_DATA)
    assert (JUPYTER_DATA / "voila" / "templates" / "ecrlab" / "static" / "mermaid.min.js").is_file()


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
