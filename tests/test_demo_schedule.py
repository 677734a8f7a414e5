"""`ecrlab demo`'s start order: its workers, taking lessons from one queue, end up with the best split there is."""

from __future__ import annotations

import heapq
import itertools

import pytest

from ecrlab.demo_schedule import estimates, groups, lesson_seconds, start_order
from ecrlab.parameters import RUNBOOKS

COSTS = {"a": 2.11, "b": 1.97, "c": 1.79, "d": 1.78, "e": 1.76, "f": 1.66, "g": 1.49, "h": 1.45, "i": 1.38, "j": 1.37}


def best_makespan(costs: dict[str, float], workers: int) -> float:
    """Every assignment of lessons to workers, the smallest largest load: the answer by brute force."""
    names = list(costs)
    best = float("inf")
    for assignment in itertools.product(range(workers), repeat=len(names)):
        loads = [0.0] * workers
        for name, worker in zip(names, assignment, strict=True):
            loads[worker] += costs[name]
        best = min(best, max(loads))
    return best


def queue_run(order: list[str], costs: dict[str, float], workers: int) -> list[set[str]]:
    """What each of `workers` threads taking from one queue runs, when every lesson takes its cost."""
    free = [(0.0, w) for w in range(workers)]
    ran: list[set[str]] = [set() for _ in range(workers)]
    for lesson in order:
        at, worker = heapq.heappop(free)
        ran[worker].add(lesson)
        heapq.heappush(free, (at + costs[lesson], worker))
    return ran


def test_the_split_is_the_best_there_is():
    split = groups(COSTS, 3)
    assert sorted(itertools.chain(*split)) == sorted(COSTS)
    assert max(sum(COSTS[n] for n in group) for group in split) == pytest.approx(best_makespan(COSTS, 3))
    # longest first onto the least loaded worker leaves one with 6.43 s; the best split none over 5.7 s
    assert best_makespan(COSTS, 3) < 5.7


def test_a_queue_fed_in_start_order_runs_the_best_split():
    for workers in (2, 3):
        ran = queue_run(start_order(COSTS, workers), COSTS, workers)
        assert max(sum(COSTS[n] for n in lessons) for lessons in ran) == pytest.approx(best_makespan(COSTS, workers))


def test_fewer_lessons_than_workers_all_start_at_once():
    assert sorted(start_order({"a": 2.0, "b": 1.0}, 3)) == ["a", "b"]


def test_a_lesson_not_measured_counts_as_the_median_of_the_others():
    measured = {"a": 1.0, "b": 2.0, "c": 4.0}
    assert estimates(["a", "b", "c", "new"], measured) == {**measured, "new": 2.0}


def test_the_shipped_measurements_name_every_lesson():
    # A new lesson without a measurement still runs (as the median); re-run benchmarks/measure_lesson_seconds.py.
    measured = lesson_seconds()
    assert set(measured) == set(RUNBOOKS) and all(seconds > 0 for seconds in measured.values())
