"""What every ratio benchmark shares: two sides interleaved round by round, and one way to report the ratio.

A load change on a shared machine moves both sides of a round alike, so the per-round ratio holds still where
block-by-block timing would not. Sides alternate A B, B A, ... so neither always runs first (warm caches, a
just-finished neighbour). Each result line is also printed as `BENCH <json>` for `run_all.py`'s table.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence


def interleaved(a: Callable[[], float], b: Callable[[], float], rounds: int) -> tuple[list[float], list[float]]:
    """`rounds` measurements of each side (each call returns a cost), alternating which side goes first."""
    first, second = [], []
    for i in range(rounds):
        if i % 2 == 0:
            first.append(a())
            second.append(b())
        else:
            second.append(b())
            first.append(a())
    return first, second


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    return [n / d for n, d in zip(numerators, denominators, strict=True)]


def spread(values: Sequence[float]) -> tuple[float, float]:
    """The 10th and 90th percentiles (min and max below 10 values): what one round may read."""
    ordered = sorted(values)
    if len(ordered) < 10:
        return ordered[0], ordered[-1]
    deciles = statistics.quantiles(ordered, n=10)
    return deciles[0], deciles[-1]


def report(key: str, what: str, per_round: Sequence[float], target: float, *, lower_is_better: bool = True) -> bool:
    """Print the median and spread of the per-round ratios against `target`; return whether it is met."""
    median = statistics.median(per_round)
    low, high = spread(per_round)
    met = median <= target if lower_is_better else median >= target
    sign = "<=" if lower_is_better else ">="
    span = "p10-p90" if len(per_round) >= 10 else "min-max"
    print(
        f"{key} {what}: median {median:.3f} ({span} {low:.3f}-{high:.3f}, {len(per_round)} rounds), "
        f"target {sign} {target:g}: {'met' if met else 'NOT met'}"
    )
    line = {"key": key, "what": what, "median": median, "low": low, "high": high, "rounds": len(per_round)}
    print("BENCH " + json.dumps(line | {"span": span, "target": f"{sign} {target:g}", "met": met}), flush=True)
    return met


def process_seconds(command: Sequence[str]) -> float:
    """Wall seconds of one fresh process running `command` to completion."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def cpu_seconds(pid: int) -> float:
    """User + system CPU a running process (Linux) has used so far."""
    import os

    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
