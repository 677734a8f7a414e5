"""The order `ecrlab demo` starts its lessons in, so its workers finish together instead of one running on alone.

Ten lessons on three workers: starting the longest first (by code cells) left the last lesson running by itself on
one of two cores for 1.4 s at the end of a demo whose timeline was measured (papermill's start and end times).
Instead the lessons are split into one group per worker with the smallest longest group (every split that could
beat longest-first is tried), and started in the order those groups would reach them. The workers still take the
next lesson from one queue, so a lesson slower than its estimate delays only what a queue would.

The estimates are each lesson's run time measured alone (`ecrlab/data/lesson_seconds.json`, written by
`benchmarks/measure_lesson_seconds.py`); only their proportions matter. A lesson missing from the file counts as
the median of the others.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence

from ecrlab.package_data import lesson_seconds_file


def lesson_seconds() -> dict[str, float]:
    """Each lesson's run time alone, as last measured, by feature."""
    return {name: float(seconds) for name, seconds in json.loads(lesson_seconds_file().read_text())["seconds"].items()}


def estimates(features: Sequence[str], measured: Mapping[str, float]) -> dict[str, float]:
    """`measured` for each of `features`, the median of the known ones for the rest (1 when none is known)."""
    known = [measured[f] for f in features if f in measured]
    fallback = statistics.median(known) if known else 1.0
    return {f: measured.get(f, fallback) for f in features}


def groups(costs: Mapping[str, float], workers: int) -> list[list[str]]:
    """`costs`' keys in `workers` groups whose largest total is the smallest possible, each longest first."""
    names = sorted(costs, key=lambda name: (-costs[name], name))
    loads = [0.0] * workers
    chosen: list[list[str]] = [[] for _ in range(workers)]
    for name in names:  # longest first onto the least loaded: the split to beat, so the search prunes early
        lightest = loads.index(min(loads))
        loads[lightest] += costs[name]
        chosen[lightest].append(name)
    best = (max(loads), [list(group) for group in chosen])
    loads = [0.0] * workers
    chosen = [[] for _ in range(workers)]

    def place(index: int) -> None:
        nonlocal best
        if max(loads) >= best[0]:
            return
        if index == len(names):
            best = (max(loads), [list(group) for group in chosen])
            return
        tried: set[float] = set()
        for worker in range(workers):
            if loads[worker] in tried:  # an equally loaded worker gives the same splits again
                continue
            tried.add(loads[worker])
            loads[worker] += costs[names[index]]
            chosen[worker].append(names[index])
            place(index + 1)
            loads[worker] -= costs[names[index]]
            chosen[worker].pop()

    place(0)
    return best[1]


def start_order(costs: Mapping[str, float], workers: int) -> list[str]:
    """The lessons in the order `workers` taking from one queue would start them if each took its estimate, so the
    queue reproduces `groups`."""
    split = [group for group in groups(costs, workers) if group]
    clock = [0.0] * len(split)
    taken = [0] * len(split)
    order: list[str] = []
    while len(order) < len(costs):
        free = min((w for w in range(len(split)) if taken[w] < len(split[w])), key=lambda w: (clock[w], w))
        lesson = split[free][taken[free]]
        taken[free] += 1
        clock[free] += costs[lesson]
        order.append(lesson)
    return order
