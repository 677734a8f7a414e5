"""moto's request dispatch without the work it repeats on every request: computed once, answered from memory.

Measured in a profile of the emulator (issue 17): for each request moto's dispatcher lists its own package folder
twice to tell a service name from a host (`moto.backends.list_of_moto_modules`: a `listdir` and about 175 `stat`
calls, inside the dispatcher's lock; a third of the server's time), and moto's response class collects its
method names with `inspect.getmembers` to find the action's handler. Neither answer changes while the process
runs, except the method names when ecrlab attaches an operation, which the cache notices. Behaviour is moto's.

This is the only module that patches moto's dispatch internals; `install()` is called once per process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache

import moto.backends
import moto.core.responses

_installed = False
_lock = threading.Lock()


def _once(list_modules: Callable[[], object]) -> Callable[[], frozenset[str]]:
    """moto's package folders are fixed once moto is installed: list them once."""
    names = frozenset(list_modules())  # type: ignore[call-overload]

    def list_of_moto_modules() -> frozenset[str]:
        return names

    return list_of_moto_modules


def _per_class(method_names: Callable[[object], list[str]]) -> Callable[[object], frozenset[str]]:
    """A response class's function names, recomputed only when a class in its MRO gains or loses attributes."""

    @cache
    def names_for(clazz: object, shape: tuple[int, ...]) -> frozenset[str]:
        return frozenset(method_names(clazz))

    def method_names_from_class(clazz: object) -> frozenset[str]:
        mro = getattr(clazz, "__mro__", (clazz,))
        return names_for(clazz, tuple(len(vars(k)) for k in mro))

    return method_names_from_class


def install() -> None:
    """Replace the two per-request computations with their cached answers (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        moto.backends.list_of_moto_modules = _once(moto.backends.list_of_moto_modules)  # type: ignore[assignment]
        original = moto.core.responses.method_names_from_class
        moto.core.responses.method_names_from_class = _per_class(original)  # type: ignore[assignment]
        _installed = True
