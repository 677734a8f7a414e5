"""`make bench`: every benchmarks/bench_*.py in its own process, its output as it runs, then one table.

The table gathers the `BENCH` lines the ratio benchmarks print (benchmarks/rounds.py): each target with the
median of its per-round ratios, their spread, the number of rounds and whether the target is met.
Usage: python benchmarks/run_all.py [NAME ...]   (names like `emulator` select bench_emulator.py)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: Path) -> tuple[list[dict], int]:
    """Run one benchmark, echoing its lines; return its results and exit status."""
    results = []
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("BENCH "):
            results.append(json.loads(line[len("BENCH ") :]))
        else:
            print(line, end="", flush=True)
    return results, process.wait()


def table(results: list[dict], failed: list[str]) -> str:
    rows = [("target", "measures", "median", "spread", "rounds", "goal", "result")]
    for r in results:
        spread = f"{r['low']:.3f}-{r['high']:.3f} ({r['span']})"
        met = "met" if r["met"] else "NOT met"
        rows.append((r["key"], r["what"], f"{r['median']:.3f}", spread, str(r["rounds"]), r["target"], met))
    rows += [(name, "benchmark failed", "", "", "", "", "") for name in failed]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main() -> int:
    wanted = set(sys.argv[1:])
    results, failed = [], []
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        print(f"== {script.name}", flush=True)
        found, status = run(script)
        results += found
        if status:
            failed.append(script.name)
    print("\n" + table(results, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
