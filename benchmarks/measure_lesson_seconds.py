"""Each lesson's run time alone, for `ecrlab demo`'s schedule (`ecrlab/data/lesson_seconds.json`).

Every lesson runs by itself, as `ecrlab run` runs it (its own kernel and embedded emulator, record and report),
ROUNDS times, the lessons in a new order each round so none always follows the same neighbour; the median of each
is printed and, with --write, stored. Re-run after a lesson changes much: the schedule uses only the proportions.
Usage: python benchmarks/measure_lesson_seconds.py [ROUNDS] [--write]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime

from ecrlab.package_data import lesson_seconds_file
from ecrlab.parameters import RUNBOOKS
from ecrlab.runs import run


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--write"]
    rounds = int(args[0]) if args else 3
    features = list(RUNBOOKS)
    seconds: dict[str, list[float]] = {f: [] for f in features}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            shift = r % len(features)
            for feature in features[shift:] + features[:shift]:
                start = time.perf_counter()
                run(feature, {}, tmp, run_id=f"{feature}-{r}")
                seconds[feature].append(time.perf_counter() - start)
    medians = {f: round(statistics.median(s), 2) for f, s in seconds.items()}
    for feature, value in medians.items():
        print(f"{feature:<24}{value:6.2f} s  (min-max {min(seconds[feature]):.2f}-{max(seconds[feature]):.2f})")
    if "--write" in sys.argv:
        record = {
            "what": "each lesson run alone by ecrlab.runs.run, median seconds over rounds",
            "measured": f"{datetime.now(UTC).date()}, {rounds} rounds, benchmarks/measure_lesson_seconds.py",
            "seconds": medians,
        }
        lesson_seconds_file().write_text(json.dumps(record, indent=2) + "\n")
        print(f"written to {lesson_seconds_file()}")


if __name__ == "__main__":
    main()
