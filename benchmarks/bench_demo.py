"""P1: `make demo`'s total time against a floor measured in the same run.

The floor starts as many papermill kernels as the demo has notebooks, each on a notebook that only imports
ecrlab and connects to the embedded emulator; the demo's extra time is the lessons themselves.
Target: demo <= 1.5 x floor.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from ecrlab.parameters import RUNBOOKS
from ecrlab.runs import execute


def floor_seconds(count: int, folder: Path) -> float:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import ecrlab\nregistry = ecrlab.connect()\nregistry.summary()")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "floor.ipynb"
    nbformat.write(notebook, path)
    start = time.perf_counter()
    for index in range(count):
        result = execute(path, folder / f"floor-{index}.ipynb")
        assert result.ok, result.error
    return time.perf_counter() - start


def demo_seconds(folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "ecrlab"), "demo", "--runs", str(folder)], check=True, capture_output=True
    )
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor = floor_seconds(len(RUNBOOKS), folder)
        demo = demo_seconds(folder / "runs")
    print(f"P1 floor ({len(RUNBOOKS)} kernels that import ecrlab and connect): {floor:.1f} s")
    print(f"P1 ecrlab demo ({len(RUNBOOKS)} notebooks, records and HTML): {demo:.1f} s")
    print(f"P1 ratio demo/floor = {demo / floor:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
