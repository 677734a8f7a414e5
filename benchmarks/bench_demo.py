"""P1: `ecrlab demo` against a floor at the same concurrency, in wall time and in CPU.

The floor runs as many notebooks as the demo, as many at once as the demo runs (`ecrlab.runs.demo`'s workers),
each a kernel that starts, imports ecrlab, pandas and ipywidgets, connects to its embedded emulator and stops:
the demo's extra time is the lessons, their records and reports. Each side is its own process (`ecrlab demo`, and
a Python process executing the floor through the same `ecrlab.runs.execute`); its CPU is that process's and its
kernels' (the children it waited for). Floor and demo alternate round by round, each round's ratio demo / floor.
Target: wall <= 1.5 x floor, CPU <= 2 x floor. Usage: python benchmarks/bench_demo.py [ROUNDS]
"""

from __future__ import annotations

import inspect
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rounds import interleaved, ratios, report

from ecrlab.parameters import RUNBOOKS
from ecrlab.runs import demo

WORKERS = inspect.signature(demo).parameters["workers"].default

FLOOR = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import nbformat
from ecrlab.runs import execute
folder, count, workers = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
notebook = nbformat.v4.new_notebook()
notebook.cells = [nbformat.v4.new_code_cell(
    "import ecrlab, pandas, ipywidgets\\nregistry = ecrlab.connect()\\nregistry.summary()")]
notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
path = folder / "floor.ipynb"
nbformat.write(notebook, path)
with ThreadPoolExecutor(max_workers=workers) as pool:
    results = list(pool.map(lambda i: execute(path, folder / f"floor-{i}.ipynb"), range(count)))
assert all(r.ok for r in results), [r.error for r in results]
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of `command` and every process it waited for."""
    cpu, start = children_cpu(), time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start, children_cpu() - cpu


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    ecrlab_command = str(Path(sys.executable).parent / "ecrlab")
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(2 * rounds))

        def floor() -> tuple[float, float]:
            folder = Path(tmp) / f"floor-{next(counter)}"
            folder.mkdir()
            return measured([sys.executable, "-c", FLOOR, str(folder), str(len(RUNBOOKS)), str(WORKERS)])

        def lessons() -> tuple[float, float]:
            return measured([ecrlab_command, "demo", "--runs", str(Path(tmp) / f"demo-{next(counter)}")])

        demos, floors = interleaved(lessons, floor, rounds)
    for name, side in (("floor", floors), ("demo", demos)):
        shown = ", ".join(f"{wall:.1f} s wall / {cpu:.1f} s CPU" for wall, cpu in side)
        print(f"P1 {name} ({len(RUNBOOKS)} notebooks, {WORKERS} at once): {shown}")
    report(
        "P1",
        "ecrlab demo / floor at the same concurrency, wall",
        ratios([d[0] for d in demos], [f[0] for f in floors]),
        1.5,
    )
    report(
        "P1cpu",
        "ecrlab demo / floor at the same concurrency, CPU",
        ratios([d[1] for d in demos], [f[1] for f in floors]),
        2,
    )


if __name__ == "__main__":
    main()
