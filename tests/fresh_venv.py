"""A fresh virtual environment for tests of what users install: nothing of the checkout's .venv, this process's
Python, Jupyter or AWS settings leaks into it (tests/test_product.py, tests/test_binder.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class Env:
    """A fresh virtual environment and an empty working folder, with nothing of the checkout or this process's
    Python, Jupyter or AWS settings in its environment."""

    def __init__(self, root: Path) -> None:
        self.venv, self.home = root / "venv", root / "work"
        self.bin = self.venv / "bin"
        self.home.mkdir()
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True, timeout=120)
        drop = ("PYTHON", "VIRTUAL_ENV", "JUPYTER", "IPYTHON", "AWS_")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        self.env |= {
            "PATH": f"{self.bin}{os.pathsep}{self.env.get('PATH', '')}",
            "VIRTUAL_ENV": str(self.venv),
            "PYTHONNOUSERSITE": "1",
            "JUPYTER_DATA_DIR": str(root / "jupyter-data"),
            "JUPYTER_CONFIG_DIR": str(root / "jupyter-config"),
            "JUPYTER_RUNTIME_DIR": str(root / "jupyter-runtime"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "IPYTHONDIR": str(root / "ipython"),
        }

    def run(self, *args: str, timeout: int = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd or self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def pip_install(self, *requirement: str, cwd: Path | None = None) -> None:
        done = self.run(
            "python",
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-compile",
            *requirement,
            timeout=900,
            cwd=cwd,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
