"""The README runs as pasted: its Python blocks in order from an empty folder against the embedded emulator, its
shell blocks in order against `ecrlab emulator serve`.

A block that cannot run here says so in an HTML comment right above it, which readers do not see rendered and
this test reads: `<!-- readme: needs AWS -->` (a real account) or `<!-- readme: make -->` (the checkout's own
make targets, which CI runs anyway); `<!-- readme: own server -->` runs against a server the block starts itself.
Every other block must run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BIN, ROOT

README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"(?:<!-- readme: (?P<mark>[^>]*?) -->\n)?```(?P<lang>\w+)\n(?P<code>.*?)```", re.S)
MARKS = {"needs AWS", "make", "own server"}  # own server: the block starts and uses its own


def blocks(lang: str) -> list[tuple[str | None, str]]:
    return [(m["mark"], m["code"]) for m in BLOCK.finditer(README) if m["lang"] == lang]


def test_every_mark_is_one_the_test_knows():
    for lang in ("python", "bash"):
        for mark, code in blocks(lang):
            assert mark is None or mark in MARKS, f"unknown mark {mark!r} above:\n{code}"
    assert blocks("python") and blocks("bash")


def test_python_blocks_run_in_order_from_an_empty_folder(tmp_path):
    runnable = [code for mark, code in blocks("python") if mark is None]
    assert len(runnable) == len(blocks("python")), "the Python blocks all run on the emulator; none needs a mark"
    script = "\n".join(f"print('--- block {i}', flush=True)\n{code}" for i, code in enumerate(runnable, 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert f"--- block {len(runnable)}" in result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_with_server(script: str, folder: Path) -> None:
    """Start the script's `ecrlab emulator serve` on a free port in the background, then run the rest of it."""
    serve = re.search(r"^ecrlab emulator serve[^\n#]*", script, re.M)
    assert serve, "the block starts the emulator server"
    # The README's port may be taken on this machine (or by a parallel test): the same commands on a free one;
    # `~` is the test's folder, so a block's data dir never lands in the real home.
    port = str(free_port())
    script = script.replace(serve[0], "").replace("127.0.0.1:5000", f"127.0.0.1:{port}").replace("~/", f"{folder}/")
    command = shlex.split(serve[0].replace("--port 5000", f"--port {port}").replace("~/", f"{folder}/"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # ecrlab, aws and python as installed
    server = subprocess.Popen(
        [str(BIN / command[0]), *command[1:]], cwd=folder, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == f"http://127.0.0.1:{port}"
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed (`make system-deps` as root)")
def test_shell_blocks_run_in_order_against_the_emulator_server(tmp_path):
    run_with_server("\n".join(code for mark, code in blocks("bash") if mark is None), tmp_path)


def test_blocks_with_their_own_server_run_against_it(tmp_path):
    own = [code for mark, code in blocks("bash") if mark == "own server"]
    assert own, "the control plane block starts its own server with --data-dir"
    for code in own:
        run_with_server(code, tmp_path)
