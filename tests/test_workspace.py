"""`ecrlab lab`: the lessons copied into a learner's workspace, edits kept, and JupyterLab serving that folder."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from ecrlab import cli, workspace
from ecrlab.errors import EcrlabError
from ecrlab.package_data import notebooks
from tests.conftest import BIN

SHIPPED = sorted(p.name for p in notebooks().glob("[0-9][0-9]_*.ipynb"))


def test_the_lessons_are_copied_byte_for_byte(tmp_path):
    prepared = workspace.prepare(tmp_path / "ws")
    assert prepared.copied == SHIPPED and len(SHIPPED) == 7
    for name in SHIPPED:
        assert (tmp_path / "ws" / name).read_bytes() == (notebooks() / name).read_bytes()


def test_a_learners_edit_is_kept_and_said_until_reset(tmp_path, capsys):
    folder = tmp_path / "ws"
    assert cli.main(["lab", str(folder), "--no-lab"]) == 0
    lesson = folder / "04_replication.ipynb"
    lesson.write_text(lesson.read_text().replace("Replication", "My notes on replication", 1))
    edited = lesson.read_bytes()
    capsys.readouterr()
    assert cli.main(["lab", str(folder), "--no-lab"]) == 0
    out = capsys.readouterr().out
    assert lesson.read_bytes() == edited
    assert "kept your changes to: 04_replication.ipynb" in out and "--reset" in out
    assert cli.main(["lab", str(folder), "--no-lab", "--reset"]) == 0
    assert "reset: 04_replication.ipynb" in capsys.readouterr().out
    assert lesson.read_bytes() == (notebooks() / lesson.name).read_bytes()


def test_a_file_the_learner_never_touched_follows_a_new_release(tmp_path):
    folder = tmp_path / "ws"
    workspace.prepare(folder)
    # As if the workspace was made by an older ecrlab: the copy equals what that release shipped (the manifest).
    lesson = folder / "00_start_here.ipynb"
    lesson.write_text('{"cells": []}\n')
    manifest = json.loads((folder / workspace.MANIFEST).read_text())
    manifest[lesson.name] = hashlib.sha256(lesson.read_bytes()).hexdigest()
    (folder / workspace.MANIFEST).write_text(json.dumps(manifest))
    prepared = workspace.prepare(folder)
    assert prepared.updated == [lesson.name] and prepared.kept == []
    assert lesson.read_bytes() == (notebooks() / lesson.name).read_bytes()


def test_a_file_that_was_there_before_is_not_overwritten(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "05_scanning.ipynb").write_text("mine")
    prepared = workspace.prepare(folder)
    assert prepared.kept == ["05_scanning.ipynb"]
    assert (folder / "05_scanning.ipynb").read_text() == "mine"


def test_without_jupyterlab_the_message_says_which_extra(monkeypatch, tmp_path):
    monkeypatch.setattr(workspace.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EcrlabError, match=r"pip install 'ecrlab\[lab\]'"):
        workspace.lab_command(tmp_path)


def contents(url: str) -> dict:
    """The server logs its URL a moment before it accepts connections: retry a refused one for a while."""
    for _ in range(100):
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return json.load(response)
        except urllib.error.URLError as error:
            if not isinstance(error.reason, ConnectionRefusedError):
                raise
            time.sleep(0.2)
    raise AssertionError(f"{url} refused every connection")


@pytest.mark.slow
def test_lab_serves_the_workspace_and_runs_as_root(tmp_path):
    proc = subprocess.Popen(
        [str(BIN / "ecrlab"), "lab", "ws", "--no-browser", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")},
    )
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            url = re.search(r"(http://127\.0\.0\.1:\d+)/lab\?token=(\w+)", line)
            if url:
                break
        assert url, "".join(lines)
        if os.geteuid() == 0:
            assert lines[0] == "ecrlab lab: running as root (a container?), so JupyterLab gets --allow-root\n"
        base, token = url.groups()
        listing = contents(f"{base}/api/contents?token={token}")
        assert sorted(item["name"] for item in listing["content"] if item["type"] == "notebook") == SHIPPED
    finally:
        proc.terminate()
        proc.wait(timeout=30)
