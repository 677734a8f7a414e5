"""ecrlab's own state for each registry (account + region), beside moto's backend for it, and the rule that guards it.

Each feature module declares its state as a small dataclass and registers it with `@feature_state`; the core knows
no feature. `state_of(backend, Kind)` returns that registry's instance, made on first use. The state lives and dies
with moto's backend, so moto's reset clears it too; persistence pickles it with the backend.

Locking rule (one for the API and `/v2/` alike): whatever changes a registry holds `STATE_LOCK` while it does —
an ECR API write (any operation not named Describe*, List*, Get*, BatchGet*, BatchCheck*, Validate*: `extension`
takes it around the handler, moto's or ecrlab's), a `/v2/` push, blob upload, tag or delete (`distribution`), and
each background job or sweep (`background`). Reads take no lock. Lock order: pull-through's per-repository fetch
lock is taken before `STATE_LOCK` (a slow upstream must not hold up the registry); every other module-local lock
(scan decisions, signing, pull times, paging, the blob store) guards its own cache and is taken after
`STATE_LOCK`, never before it.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ecrlab.emulator.moto_compat import ECRBackend

T = TypeVar("T")

# Serialises changes to a registry from concurrent requests (the server answers each on a thread). Re-entrant: a
# push's observers (replication, scan on push) change state from inside it.
STATE_LOCK = threading.RLock()

# ECR API operations that change nothing (the rest take STATE_LOCK).
READ_ONLY = re.compile(r"^(Describe|List|Get|BatchGet|BatchCheck|Validate)")


@dataclass(frozen=True)
class _Registration:
    factory: Callable[[], Any]
    persistent: bool


_KINDS: dict[type, _Registration] = {}


def feature_state(persistent: bool = True) -> Callable[[type[T]], type[T]]:
    """Register a feature's per-registry state class (a dataclass whose fields all have defaults).

    `persistent=False` marks state that ends with the process (upload sessions): persistence restores it empty.
    """

    def register(kind: type[T]) -> type[T]:
        _KINDS[kind] = _Registration(kind, persistent)
        return kind

    return register


def is_persistent(kind: type) -> bool:
    """Whether `kind`'s state survives a restart of a `--data-dir` emulator."""
    return _KINDS[kind].persistent


class RegistryState:
    """One registry's feature states, by their registered class."""

    def __init__(self) -> None:
        self.parts: dict[type, Any] = {}

    def of(self, kind: type[T]) -> T:
        part = self.parts.get(kind)
        if part is None:
            if kind not in _KINDS:
                raise KeyError(f"{kind.__name__} is not registered with @feature_state")
            part = self.parts.setdefault(kind, _KINDS[kind].factory())
        return part  # parts are keyed by their own class, so this is a `kind`


_STATES: weakref.WeakKeyDictionary[ECRBackend, RegistryState] = weakref.WeakKeyDictionary()
_STATES_LOCK = threading.Lock()  # the server answers on many threads; each registry gets exactly one state


def registry_state(backend: ECRBackend) -> RegistryState:
    """The registry's states, made on first use."""
    with _STATES_LOCK:
        state = _STATES.get(backend)
        if state is None:
            state = _STATES[backend] = RegistryState()
        return state


def state_of(backend: ECRBackend, kind: type[T]) -> T:
    """The registry's state of one feature, made on first use."""
    state = registry_state(backend)
    with _STATES_LOCK:
        return state.of(kind)
