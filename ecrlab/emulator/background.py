"""Work AWS does in the background (replication), modelled so lessons stay deterministic.

A job is queued with a due time on the emulator clock. The emulator carries it out at the start of the first
request it serves at or after that time — to any client it looks like a background worker finished it — and
`settle()` (the `/_ecrlab/settle` control action) carries out everything queued at once, in order. A frozen
workshop clock never reaches a due time by itself, so under it work stays IN_PROGRESS until the lesson settles
it or moves the clock; with a running clock (`ecrlab emulator serve`) it completes on its own.

Work that recurs (lifecycle policies, run about once a day) is a *sweep* rather than a queued job: a job that
queued itself again would never let `settle()` finish. A sweep is called after the due jobs with the time work
is due by (None from `settle()`: all of it) and returns how many actions it took.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.state import STATE_LOCK

LOG = logging.getLogger(__name__)


@dataclass(order=True)
class Job:
    due: datetime
    sequence: int
    run: Callable[[], None] = field(compare=False)
    # Done just before `run`, outside the state lock: work that waits on requests to this emulator (fetching a
    # cached image's layers from a stand-in upstream it serves), which would wait forever for the lock.
    prepare: Callable[[], None] | None = field(default=None, compare=False)


_queue: list[Job] = []
_sequence = itertools.count()
_carried_out = 0  # jobs run so far: `--data-dir` persistence notices work done during a request by it
_queue_lock = threading.Lock()
_sweeps: list[Callable[[datetime | None], int]] = []
# One runner at a time keeps jobs in queue order (an index's images before the index itself).
_runner = threading.RLock()


def schedule(run: Callable[[], None], delay: timedelta, prepare: Callable[[], None] | None = None) -> None:
    """Queue `run` to happen `delay` later on the emulator clock (`prepare` first, outside the state lock)."""
    with _queue_lock:
        _queue.append(Job(emulator_now() + delay, next(_sequence), run, prepare))
        _queue.sort()


def _next(due_by: datetime | None) -> Job | None:
    with _queue_lock:
        if _queue and (due_by is None or _queue[0].due <= due_by):
            return _queue.pop(0)
    return None


def _drain(due_by: datetime | None) -> int:
    global _carried_out
    done = 0
    while (job := _next(due_by)) is not None:
        if job.prepare is not None:
            try:
                job.prepare()
            except Exception:  # the job still runs and reports what it lacks (a scan: the blobs it could not read)
                LOG.exception("preparing a background job failed")
        with STATE_LOCK:  # the locking rule: see ecrlab.emulator.state
            job.run()
        done += 1
        _carried_out += 1
    return done


def sweep(check: Callable[[datetime | None], int]) -> Callable[[datetime | None], int]:
    """Register recurring work `check(due_by)`, run after the due jobs by `run_due()` and `settle()`."""
    _sweeps.append(check)
    return check


def _sweep(due_by: datetime | None) -> int:
    global _carried_out
    with STATE_LOCK:  # the locking rule: see ecrlab.emulator.state
        done = sum(check(due_by) for check in _sweeps)
    _carried_out += done
    return done


def carried_out() -> int:
    """How many jobs have run in this process (a counter: compare two readings to see whether work ran)."""
    return _carried_out


def pending() -> list[Job]:
    """The queued jobs in due order (their `run` holds the backends they act on), to save with the state."""
    with _queue_lock:
        return list(_queue)


def restore(jobs: list[Job]) -> None:
    """Queue saved jobs again with their due times, after the jobs already queued keep their order."""
    with _queue_lock:
        for job in jobs:
            _queue.append(Job(job.due, next(_sequence), job.run, job.prepare))
        _queue.sort()


def run_due() -> int:
    """Carry out the jobs whose time has come (skipped while another request is already doing so)."""
    if not (_queue or _sweeps) or not _runner.acquire(blocking=False):
        return 0
    try:
        now = emulator_now()
        return _drain(now) + _sweep(now)
    finally:
        _runner.release()


def settle(due_by: datetime | None = None) -> int:
    """Carry out now every queued job and sweep (those due by `due_by`, when given), including jobs queued by
    either; returns how many ran."""
    with _runner:
        return _drain(due_by) + _sweep(due_by) + _drain(due_by)
