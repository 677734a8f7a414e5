"""The lost-update window that remains: from the re-read just before a write to the write itself.

ECR has no conditional writes, so ecrlab re-reads a shared setting immediately before writing it and merges the
planned part changes into what is there now. A write by another team that lands between that re-read and this write
is still lost. This measures how long that window is: the time from the re-read's response to the write's request
(merge, backup record, request signing), for the registry policy of the shared-registry fixture, against the
embedded emulator. Run: `PYTHONPATH=. python benchmarks/bench_write_window.py`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ecrlab
from ecrlab.permissions import RegistryPolicy
from ecrlab.permissions import registry_policy as live
from ecrlab.plan import apply
from tests.shared_registry import populate

ROUNDS = 40


def main() -> None:
    registry = ecrlab.connect()
    populate(registry)
    ecr = registry.client()
    marks: dict[str, float] = {}
    windows: list[float] = []

    def read_done(**_: object) -> None:
        marks["read"] = time.perf_counter()

    def writing(**_: object) -> None:
        windows.append(time.perf_counter() - marks["read"])  # since the last read, which is the re-read

    ecr.meta.events.register("after-call.ecr.GetRegistryPolicy", read_done)
    ecr.meta.events.register("before-send.ecr.PutRegistryPolicy", writing)
    for n in range(ROUNDS):
        statement = {
            "Sid": "ecrlab-bench",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{registry.account_id}:root"},
            "Action": "ecr:CreateRepository",
            "Resource": f"arn:aws:ecr:{registry.region}:{registry.account_id}:repository/bench-{n}/*",
        }
        plan = live.plan(registry, RegistryPolicy({"Version": "2012-10-17", "Statement": [statement]}))
        apply(plan, registry, dry_run=False, on_backup=lambda entry: None)
    ms = sorted(w * 1000 for w in windows)
    print(
        f"re-read → write window over {ROUNDS} applies: median {statistics.median(ms):.2f} ms, "
        f"p90 {ms[int(0.9 * len(ms))]:.2f} ms, max {ms[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
