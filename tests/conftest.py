"""Shared fixtures: one embedded emulator per test process, reset before every test that uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ecrlab
from ecrlab import control_token
from ecrlab.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
# One control token for the servers the tests start (`ecrlab emulator serve` takes it from the environment) and
# for their clients (`ecrlab.connect(endpoint_url=...)` finds it there), as a CI job would set it once.
os.environ.setdefault(control_token.ENV, control_token.new_token())
BIN = Path(sys.executable).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest first: files with slow or browser tests, then the notebooks, then the rest. `make test` hands whole
    files to its two workers in this order (`--dist loadfile --no-loadscope-reorder`: without the second flag xdist
    sorts files by their number of tests instead), so a long file never starts last on one worker while the other
    idles."""
    heavy = {item.path for item in items if item.get_closest_marker("slow") or item.get_closest_marker("browser")}

    def weight(item: pytest.Item) -> int:
        if item.path in heavy:
            return 0
        return 1 if item.path.suffix == ".ipynb" else 2

    items.sort(key=weight)  # stable: each file keeps its own order


@pytest.fixture
def registry() -> Registry:
    """The embedded emulator, with all state forgotten and the clock back at the workshop start."""
    reg = ecrlab.connect()
    assert reg.emulator is not None
    reg.emulator.reset()
    return reg


@pytest.fixture
def server() -> Iterator[str]:
    """A separate `ecrlab emulator serve` process on a free loopback port; yields its URL."""
    proc = subprocess.Popen(
        [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def aws_env(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Environment of an operator whose AWS endpoint is the emulator server (`AWS_ENDPOINT_URL`)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOPERATOR00000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "operator-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return server


def aws_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real AWS CLI (installed from PyPI with the dev extra)."""
    return subprocess.run(
        [str(BIN / "aws"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture
def shared_registry(aws_env: str) -> Registry:
    """The emulator server populated like a busy production registry that several teams share (see
    tests/shared_registry.py); the runbooks reach it with `--target aws` through `AWS_ENDPOINT_URL`."""
    from tests.shared_registry import populate

    reg = ecrlab.connect(endpoint_url=aws_env)
    populate(reg)
    return reg
