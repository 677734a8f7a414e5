"""The whole package type-checks: mypy at the settings in pyproject.toml ([tool.mypy]) finds no error.

mypy runs as its own process from the repository root, so it reads that configuration exactly as a developer's
`python -m mypy` does, and keeps its incremental cache in `.mypy_cache` there: a cold run takes seconds, a warm
one a fraction of that.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # a cold run checks every module; conftest starts the slow files first
def test_package_type_checks() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"mypy found errors:\n{result.stdout}{result.stderr}"
