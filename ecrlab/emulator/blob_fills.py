"""Blobs a repository has but the blob store does not hold yet, filled from where they come from on first read.

A pull through cache records an image's layers when it stores the manifest and fetches their bytes when someone
reads them (`expect`). The first reader of such a blob starts one fill: a thread copies the source's bytes into a
staging upload of the blob store while every reader, that one and any that arrive meanwhile, follows the staging
file as it grows, so each gets bytes as they arrive. The blob takes its name only when its bytes hash to its
digest; until then each reader holds back the blob's last byte, so a corrupt or broken-off source ends every
download short (the client sees an error, never a whole wrong blob) and leaves nothing under the digest: the next
read starts a new fill. A fill goes on when its readers go away, so the cache fills anyway.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import IO

from ecrlab.emulator.blobstore import CHUNK, UploadUnknown, shared_store

# Opens the source of a blob's bytes; raising here (before any byte) fails the read that started the fill.
Opener = Callable[[], AbstractContextManager[IO[bytes]]]

OPENING, FILLING, DONE, FAILED = "opening", "filling", "done", "failed"
# Bytes handed on per step of a fill: small enough that a reader starts soon, large enough to cost little.
FILL_CHUNK = 256 * 1024


class FillFailed(Exception):
    """The blob could not be filled; `cause` is what the source raised (or a digest mismatch)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass
class _Fill:
    digest: str
    size: int
    state: str = OPENING
    upload: str = ""
    written: int = 0
    failure: BaseException | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)


_expected: dict[str, tuple[int, Opener, list[Callable[[], None]]]] = {}  # digest -> (size, source, when filled)
_fills: dict[str, _Fill] = {}  # digest -> the fill under way
_lock = threading.Lock()


def expect(digest: str, size: int, opener: Opener, filled: Callable[[], None]) -> None:
    """Remember where blob `digest` (of `size` bytes) comes from, to fill it when it is read; `filled` is called
    once a fill of it has verified."""
    with _lock:
        waiting = _expected[digest][2] if digest in _expected else []
        _expected[digest] = (size, opener, [*waiting, filled])


def forget() -> None:
    """Forget every blob still to fill (the emulator's reset: the repositories that expected them are gone);
    fills under way finish for the readers they have."""
    with _lock:
        _expected.clear()


def is_expected(digest: str) -> bool:
    """Whether `digest` can be filled (or is being filled) here."""
    with _lock:
        return digest in _expected or digest in _fills


def read(digest: str, start: int = 0, stop: int | None = None, refill: bool = False) -> Iterator[bytes]:
    """Bytes `start:stop` of blob `digest`: from the store, else (or, with `refill`, anyway) from its fill, started
    here if none is under way.

    Raises `LookupError` when nothing says where the blob comes from, and `FillFailed` when its source cannot be
    opened; the iterator raises `FillFailed` when the source breaks off or the bytes do not hash to the digest.
    """
    store = shared_store()
    with _lock:
        fill = _fills.get(digest)
        if fill is None and store.has(digest) and not refill:
            return store.read(digest, start, stop)
        starting = fill is None
        if fill is None:
            size, opener, _ = _expected[digest]  # LookupError: nothing to fill it from
            fill = _fills[digest] = _Fill(digest, size)
    if starting:
        _start(fill, opener)
    with fill.changed:
        fill.changed.wait_for(lambda: fill.state != OPENING)
        if fill.state == FAILED:
            raise FillFailed(fill.failure or RuntimeError("the fill failed"))
    return _follow(fill, start, fill.size if stop is None else stop)


def ensure(digest: str) -> bool:
    """Whether the store holds `digest`, after filling it (or waiting for its fill) when it is expected."""
    if shared_store().has(digest):
        return True
    try:
        for _ in read(digest):
            pass
    except (LookupError, FillFailed):
        return False
    return True


def _start(fill: _Fill, opener: Opener) -> None:
    stack = ExitStack()
    try:
        reader = stack.enter_context(opener())
        fill.upload = shared_store().begin_upload()
    except Exception as exc:  # the source refused: this read fails, and the next one tries again
        stack.close()
        _finish(fill, FAILED, exc)
        return
    with fill.changed:
        fill.state = FILLING
        fill.changed.notify_all()
    threading.Thread(target=_copy, args=(fill, reader, stack), name=f"fill {fill.digest[:19]}", daemon=True).start()


def _copy(fill: _Fill, reader: IO[bytes], stack: ExitStack) -> None:
    store = shared_store()
    try:
        with stack:
            store.append(fill.upload, reader, chunk_size=FILL_CHUNK, written=partial(_arrived, fill))
        # Readers open the staging file under this lock, so none opens it mid-rename; and none gets the last byte
        # before `filled` ran, so a client that has the whole blob finds it filled.
        with fill.changed:
            store.commit(fill.upload, fill.digest)
            with _lock:
                _, _, waiting = _expected.pop(fill.digest, (0, None, []))
            for filled in waiting:
                filled()
            fill.state = DONE
    except Exception as exc:  # a broken-off source, a corrupt blob (DigestMismatch), an expired upload
        with contextlib.suppress(UploadUnknown):
            store.cancel(fill.upload)
        _finish(fill, FAILED, exc)
        return
    _finish(fill, DONE, None)


def _arrived(fill: _Fill, size: int) -> None:
    with fill.changed:
        fill.written += size
        fill.changed.notify_all()


def _finish(fill: _Fill, state: str, failure: BaseException | None) -> None:
    with _lock:
        _fills.pop(fill.digest, None)
    with fill.changed:
        fill.state, fill.failure = state, failure
        fill.changed.notify_all()


def _follow(fill: _Fill, start: int, stop: int) -> Iterator[bytes]:
    """Bytes `start:stop` as the fill writes them; the last byte of the blob only once it verified."""
    store = shared_store()
    with fill.changed:
        if fill.state == FAILED:
            raise FillFailed(fill.failure or RuntimeError("the fill failed"))
        blob = (store.path(fill.digest) if fill.state == DONE else store.upload_path(fill.upload)).open("rb")
    with blob:
        blob.seek(start)
        position = start
        while position < stop:
            with fill.changed:
                fill.changed.wait_for(partial(_can_read, fill, position))
                if fill.state == FAILED:
                    raise FillFailed(fill.failure or RuntimeError("the fill failed"))
                ready = fill.written if fill.state == DONE else _readable(fill)
            limit = min(stop, ready)
            if limit <= position:  # DONE, and the blob is shorter than asked
                return
            while position < limit and (chunk := blob.read(min(CHUNK, limit - position))):
                position += len(chunk)
                yield chunk


def _can_read(fill: _Fill, position: int) -> bool:
    return fill.state != FILLING or _readable(fill) > position


def _readable(fill: _Fill) -> int:
    """How far a reader may go while the fill runs: what arrived, short of the blob's last byte."""
    return min(fill.written, fill.size - 1)
