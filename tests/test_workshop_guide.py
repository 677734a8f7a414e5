"""The facilitator guide's exercise solutions pass the checks the notebooks run (docs/workshop.md)."""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from ecrlab import exercises
from tests.conftest import ROOT

GUIDE = ROOT / "docs" / "workshop.md"


def solutions() -> list[str]:
    """The Python blocks of the guide's "Exercises and solutions" section, in order."""
    text = GUIDE.read_text()
    section = text.split("## Exercises and solutions", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_guide_solves_every_exercise_the_notebooks_check() -> None:
    checks = {name for name in vars(exercises) if name.startswith("check_")}
    solved = {name for block in solutions() for name in re.findall(r"\b(check_\w+)\(", block)}
    assert solved == checks, f"the guide has no solution for {sorted(checks - solved)}"


@pytest.mark.parametrize("block", solutions(), ids=lambda block: re.search(r"check_\w+", block).group())
def test_solution_passes_its_check(block: str) -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(block, str(GUIDE), "exec"), {})
    assert printed.getvalue().startswith("Right:"), printed.getvalue()


# --- the facilitator's script: every section it names exists, every output it promises is on screen -------------


def notebook_text(number: str) -> tuple[set[str], str]:
    """A notebook's `## ` headings, and everything it shows: Markdown and the text of its committed outputs."""
    import json

    (path,) = (ROOT / "notebooks").glob(f"{number}_*.ipynb")
    headings, shown = set(), []
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            shown.append(source)
            headings |= {line.strip() for line in source.splitlines() if line.startswith("## ")}
        for output in cell.get("outputs", []):
            shown.append("".join(output.get("text", "")))
            shown += ["".join(value) for value in output.get("data", {}).values() if isinstance(value, str | list)]
    return headings, "\n".join(shown)


def script_rows() -> list[tuple[str, list[str], list[str]]]:
    """(notebook number, headings named, expected outputs in `code`) for every row of "Slot by slot"."""
    section = GUIDE.read_text().split("## Slot by slot", 1)[1].split("\n## ", 1)[0]
    rows = []
    for block in re.split(r"\n### ", section)[1:]:
        number = block[:2]
        for line in block.splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            if len(cells) != 3 or not cells[0].startswith('"'):
                continue
            headings = [h.replace('\\"', '"') for h in re.findall(r'"(## (?:[^"\\]|\\.)*)"', cells[0])]
            rows.append((number, headings, re.findall(r"`([^`]+)`", cells[2])))
    return rows


def test_the_script_covers_every_notebook_of_the_agendas() -> None:
    agendas = GUIDE.read_text().split("## Agendas", 1)[1].split("\n## ", 1)[0]
    in_agendas = set(re.findall(r"\|\s*(\d\d)\s*\|\s*$", agendas, flags=re.MULTILINE))  # the last column
    assert {"00", "06"} <= in_agendas
    assert {number for number, _, _ in script_rows()} == in_agendas


@pytest.mark.parametrize("row", script_rows(), ids=lambda row: f"{row[0]}-{row[1][0][3:30]}")
def test_script_rows_name_real_sections_and_real_outputs(row: tuple[str, list[str], list[str]]) -> None:
    number, headings, expected = row
    real, shown = notebook_text(number)
    assert headings, "a row names no section"
    for heading in headings:
        assert heading in real, f"notebook {number} has no section {heading!r}"
    for text in expected:
        assert text in shown, f"notebook {number} never shows {text!r}"


def test_agendas_include_the_baseline_and_objectives_cover_every_notebook() -> None:
    text = GUIDE.read_text()
    for agenda in ("### Two hours", "### Half day"):
        table = text.split(agenda, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
        assert re.search(r"\|\s*06\s*\|", table), f"{agenda} leaves out notebook 06"
    objectives = text.split("## Learning objectives", 1)[1].split("\n## ", 1)[0]
    for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        assert f"| {path.name[:2]} · " in objectives, f"no learning objectives for {path.name}"


def test_prework_gives_the_install_command_and_a_measured_time() -> None:
    prework = GUIDE.read_text().split("## Pre-work", 1)[1].split("\n## ", 1)[0]
    assert 'pip install "ecrlab[lab]"' in prework and "ecrlab lab" in prework
    assert re.search(r"\*\*\d+ s", prework), "no measured install time"


def test_troubleshooting_covers_reruns_root_ports_and_offline() -> None:
    rows = GUIDE.read_text().split("## Troubleshooting", 1)[1]
    for topic in ("second time", "root", "port", "no network"):
        assert topic in rows, f"troubleshooting says nothing about {topic!r}"
