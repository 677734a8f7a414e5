"""The README's Layout section names modules that exist, and a module's file name is enough to find it."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ecrlab"


def _files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*") if p.suffix in (".py", ".ipynb") and ".ipynb_checkpoints" not in p.parts]


def test_no_two_modules_share_a_file_name() -> None:
    names = Counter(p.name for p in _files() if p.suffix == ".py" and p.name != "__init__.py")
    assert [name for name, count in names.items() if count > 1] == []


def test_every_module_the_layout_table_names_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    tables = [line for line in section.splitlines() if line.startswith("| ")]
    shared = section.split("Shared by every feature", 1)[1].split("\n\n", 1)[0]
    named = set(re.findall(r"`([\w/]+\.(?:py|ipynb))`", "\n".join([*tables, shared])))
    assert len(named) > 40  # the tables were found and read
    existing = {p.name for p in _files()}
    # A bare file name is a module somewhere in the package; a path is relative to the repository.
    missing = [name for name in named if (name not in existing if "/" not in name else not (ROOT / name).exists())]
    assert sorted(missing) == []
