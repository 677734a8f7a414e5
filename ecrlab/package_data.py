"""Where the files that ship inside the wheel are: the notebooks (they are the runbooks), the sample OCI layouts,
the sample OSV feed and the nbconvert template of a run's HTML copy. Found through `importlib.resources`, so an
installed package never reads the source tree."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _folder(*parts: str) -> Path:
    # A wheel installs as plain files (never zipped: pip unpacks it), so the resource is a real folder.
    return Path(str(files("ecrlab").joinpath(*parts)))


def notebooks() -> Path:
    """The folder of the lesson and runbook notebooks."""
    return _folder("notebooks")


def sample_images() -> Path:
    """The folder of the sample OCI image layouts (`alpine-node`, `debian-app`, …)."""
    return _folder("data", "images")


def sample_feed() -> Path:
    """The folder of the sample OSV vulnerability feed the emulator's scanner reads by default."""
    return _folder("data", "vulndb")


def lesson_seconds_file() -> Path:
    """Each lesson's measured run time alone (`ecrlab.demo_schedule`), written by a benchmark script."""
    return _folder("data", "lesson_seconds.json")


def nbconvert_templates() -> Path:
    """The folder of ecrlab's nbconvert templates (`ecrlab_report`: a run's notebook.html)."""
    return _folder("jupyter", "nbconvert", "templates")
