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
