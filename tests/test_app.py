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
