"""Shared by several test modules (moved from test_oci_skopeo.py so no test module imports another)."""

from __future__ import annotations

import subprocess
from pathlib import Path

IMAGES = Path(__file__).resolve().parents[1] / "data" / "images"


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def address(server: str) -> str:
    return server.removeprefix("http://")
