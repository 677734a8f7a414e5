"""P1: `make demo`'s total time against a floor measured in the same run.

The floor starts as many papermill kernels as the demo has notebooks, each on a notebook that only imports
ecrlab and connects to the embedded emulator; the demo's extra time is the lessons themselves. On a shared
machine one pair swings by ±15 %, so floor and demo alternate for ROUNDS rounds and the medians are compared.
Target: demo <= 1.5 x floor. Usage: python benchmarks/bench_demo.py [ROUNDS]
"""

from __future__ import annotations

import statistics
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
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    floors, demos = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(rounds):
            folder = Path(tmp) / str(index)
            folder.mkdir()
            floors.append(floor_seconds(len(RUNBOOKS), folder))
            demos.append(demo_seconds(folder / "runs"))
    floor, demo = statistics.median(floors), statistics.median(demos)
    shown = ", ".join(f"{d / f:.2f}" for f, d in zip(floors, demos, strict=True))
    print(f"P1 floor ({len(RUNBOOKS)} kernels that import ecrlab and connect): {floor:.1f} s (median of {rounds})")
    print(f"P1 ecrlab demo ({len(RUNBOOKS)} notebooks, records and HTML): {demo:.1f} s (median of {rounds})")
    print(f"P1 ratio demo/floor = {demo / floor:.2f} (target <= 1.5); each round: {shown}")


if __name__ == "__main__":
    main()
