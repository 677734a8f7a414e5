"""What happens after an image is pushed or deleted, by either path (`/v2/` or the API).

Features that react to images (replication, scan on push) subscribe here instead of editing the push path,
so the path stays one function and each feature stays in its own module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ecrlab.emulator.moto_compat import ECRBackend, Image

PushListener = Callable[[ECRBackend, str, Image, str | None], None]
DeleteListener = Callable[[ECRBackend, str, str, str | None], None]

_ON_PUSH: list[PushListener] = []
_ON_DELETE: list[DeleteListener] = []
_local = threading.local()


@contextmanager
def replicating() -> Iterator[None]:
    """Writes made inside are a replication's: replication ignores them (nothing chains), and the push path sends
    no `ECR Image Action` for them (AWS documents an `ECR Replication Action` for a replicated image instead)."""
    _local.active = True
    try:
        yield
    finally:
        _local.active = False


def is_replicating() -> bool:
    return bool(getattr(_local, "active", False))


def on_push(listener: PushListener) -> PushListener:
    """Call `listener(backend, repository_name, image, tag)` after every successful push."""
    _ON_PUSH.append(listener)
    return listener


def on_delete(listener: DeleteListener) -> DeleteListener:
    """Call `listener(backend, repository_name, digest, tag)` after every image deletion or untagging."""
    _ON_DELETE.append(listener)
    return listener


def pushed(backend: ECRBackend, repository_name: str, image: Image, tag: str | None) -> None:
    for listener in _ON_PUSH:
        listener(backend, repository_name, image, tag)


def deleted(backend: ECRBackend, repository_name: str, digest: str, tag: str | None) -> None:
    for listener in _ON_DELETE:
        listener(backend, repository_name, digest, tag)
