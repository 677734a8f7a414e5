"""A learner's workspace: the lessons copied into a folder of their own, and JupyterLab opened there.

The notebooks inside the package are the runbooks `ecrlab run` executes, so a learner never edits them: JupyterLab
autosaves, and a lesson half-done would change what a runbook does (and dirty the repository in a checkout).
`prepare` copies them into a workspace and remembers what it copied (`.ecrlab-workspace.json`: each file's
SHA-256), so running it again adds new lessons and updates untouched ones, but keeps every file the learner
changed unless asked to reset.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from ecrlab.errors import EcrlabError, ValidationError
from ecrlab.package_data import notebooks

DEFAULT_FOLDER = "ecrlab-workshop"
MANIFEST = ".ecrlab-workspace.json"
FIRST_LESSON = "00_start_here.ipynb"


@dataclass
class Prepared:
    """What `prepare` did to each lesson file."""

    folder: Path
    copied: list[str] = field(default_factory=list)  # new in the workspace
    updated: list[str] = field(default_factory=list)  # untouched by the learner, and ecrlab ships a newer one
    kept: list[str] = field(default_factory=list)  # the learner changed it (or it was there before): left alone
    reset: list[str] = field(default_factory=list)  # the learner's version replaced, as asked

    def lines(self) -> list[str]:
        """One line per kind of change, for the terminal."""
        out = []
        for label, names in (("copied", self.copied), ("updated", self.updated), ("reset", self.reset)):
            if names:
                out.append(f"{label}: {', '.join(names)}")
        if self.kept:
            out.append(f"kept your changes to: {', '.join(self.kept)} (ecrlab lab --reset replaces them)")
        return out


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lessons() -> list[Path]:
    """The lesson notebooks that ship with ecrlab, in order."""
    return sorted(notebooks().glob("[0-9][0-9]_*.ipynb"))


def prepare(folder: str | Path = DEFAULT_FOLDER, *, reset: bool = False) -> Prepared:
    """Copy the lessons into `folder` without overwriting a learner's edits (unless `reset`)."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise ValidationError("DIR", str(target), "must be a folder (it is a file)")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValidationError("DIR", str(target), f"cannot be created: {error.strerror}") from None
    manifest_path = target / MANIFEST
    try:
        manifest: dict[str, str] = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    except (OSError, ValueError):
        manifest = {}  # unreadable: every existing file counts as the learner's
    prepared = Prepared(target)
    for source in lessons():
        name, destination = source.name, target / source.name
        shipped = _digest(source)
        if not destination.exists():
            prepared.copied.append(name)
        elif (current := _digest(destination)) == shipped:
            manifest[name] = shipped
            continue
        elif reset:
            prepared.reset.append(name)
        elif manifest.get(name) == current:
            prepared.updated.append(name)
        else:
            prepared.kept.append(name)
            continue
        shutil.copyfile(source, destination)
        manifest[name] = shipped
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return prepared


def lab_command(folder: Path, open_browser: bool = True, port: int | None = None) -> list[str]:
    """JupyterLab serving `folder` and opening the first lesson; as root, with Jupyter's `--allow-root`."""
    if importlib.util.find_spec("jupyterlab") is None:
        raise EcrlabError("ecrlab lab needs JupyterLab, which comes with the lab extra: pip install 'ecrlab[lab]'")
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder.resolve()}", FIRST_LESSON]
    if not open_browser:
        command.append("--no-browser")
    if port is not None:
        command.append(f"--port={port}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def open_lab(folder: Path, open_browser: bool = True, port: int | None = None) -> NoReturn:
    """Replace this process with JupyterLab in `folder`, so Ctrl-C and SIGTERM reach the server directly."""
    command = lab_command(folder, open_browser, port)
    if "--allow-root" in command:
        print("ecrlab lab: running as root (a container?), so JupyterLab gets --allow-root", file=sys.stderr)
    sys.stdout.flush()
    os.chdir(folder)
    os.execv(command[0], command)
