"""The emulator's clock: "24 hours later" is a call, not a wait, and workshop outputs stay reproducible."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, tzinfo

# A fixed, obviously-fake start for frozen clocks so committed notebook outputs never change.
WORKSHOP_START = datetime(2025, 6, 2, 9, 0, 0, tzinfo=UTC)


class Clock:
    """UTC time that is either frozen (moves only on `advance`) or follows the system clock plus an offset."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen_at = frozen_at
        self._offset = timedelta(0)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def now(self) -> datetime:
        """Timezone-aware current time on this clock."""
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else datetime.now(UTC)
            return base + self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward (never backward: AWS time does not go back) and return the new now."""
        if delta < timedelta(0):
            from ecrlab.errors import ValidationError

            raise ValidationError("delta", str(delta), "the clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock at `at` (default: the workshop start) so outputs are reproducible."""
        with self._lock:
            self._frozen_at = at or WORKSHOP_START
            self._offset = timedelta(0)

    def state(self) -> tuple[datetime | None, timedelta]:
        """(frozen at, offset): what `restore` needs to bring this clock back after a restart."""
        with self._lock:
            return self._frozen_at, self._offset

    def restore(self, state: tuple[datetime | None, timedelta]) -> None:
        """Back to a saved `state()`: a frozen time, or the system time plus the offset lessons had added."""
        with self._lock:
            self._frozen_at, self._offset = state

    def follow_system(self) -> None:
        """Let the clock run with real time again."""
        with self._lock:
            self._frozen_at = None
            self._offset = timedelta(0)


def _moto_datetime(clock: Clock) -> type[datetime]:
    """A `datetime` class whose now()/today()/utcnow() read `clock`, to stand in for moto's module global."""

    class ClockDatetime(datetime):
        # Each answers a plain datetime where datetime's own would answer its subclass: moto needs no more.
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]  # a datetime, not a Self
            current = clock.now()
            return current.astimezone(tz) if tz else current.replace(tzinfo=None)

        @classmethod
        def today(cls) -> datetime:  # type: ignore[override]  # a datetime, not a Self
            return clock.now().replace(tzinfo=None)

        @classmethod
        def utcnow(cls) -> datetime:  # type: ignore[override]  # a datetime, not a Self
            return clock.now().replace(tzinfo=None)

    return ClockDatetime


_installed = Clock()


def emulator_now() -> datetime:
    """Now on the clock the emulator runs on (token expiry, event times), as moto sees it."""
    return _installed.now()


def install_clock(clock: Clock) -> None:
    """Point moto's ECR and STS time sources at `clock` (moto reads time through module globals)."""
    global _installed
    from ecrlab.emulator.moto_compat import set_time_source

    _installed = clock

    set_time_source(lambda: clock.now().replace(tzinfo=None), _moto_datetime(clock))
