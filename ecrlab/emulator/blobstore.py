"""The emulator's one content-addressed blob store on disk, shared by every repository, region and account.

Bytes live once under `<root>/blobs/sha256/<hex>`, whoever pushed them; which repositories *have* a blob is
per-repository metadata kept next to moto's repository (`Repository.layers`), so access stays per repository
while a layer pushed to two repositories in two regions is one file. Uploads stream into a staging file under
`<root>/uploads/` while their digest is computed, so memory stays flat whatever the blob size, and a blob
only appears under its name after its bytes hashed to it: a crash (even `kill -9`) mid-upload leaves at most a
staging file, never a partial blob under a digest. With `durable=True` the bytes are also fsynced before the
rename, so a power loss cannot leave a named blob with missing bytes either.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from ecrlab.emulator.clock import emulator_now

CHUNK = 1 << 20
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class UploadUnknown(LookupError):
    """No upload in progress has this id (never started, finished or cancelled)."""


class DigestMismatch(ValueError):
    """The uploaded bytes do not hash to the digest the client claimed."""


@dataclass
class _Upload:
    path: Path
    hasher: Any
    touched: datetime  # last time bytes arrived, on the emulator clock: an upload idle for a day is abandoned
    owner: str = ""  # who opened it (the caller's ARN): nobody else may use it
    size: int = 0


def is_digest(value: str) -> bool:
    """Only sha256 digests, as ECR accepts."""
    return bool(DIGEST.match(value))


class BlobStore:
    """Blobs by digest under `root` (a temporary directory, removed at exit, when none is given)."""

    def __init__(self, root: str | Path | None = None, durable: bool = False) -> None:
        self.durable = durable
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if root:
            self.root = Path(root)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="ecrlab-blobs-")
            self.root = Path(self._tmp.name)
        self._blobs = self.root / "blobs" / "sha256"
        self._staging = self.root / "uploads"
        self._blobs.mkdir(parents=True, exist_ok=True)
        # Uploads live in memory, so staged bytes left by an earlier emulator on this root are abandoned.
        shutil.rmtree(self._staging, ignore_errors=True)
        self._staging.mkdir(parents=True, exist_ok=True)
        self._uploads: dict[str, _Upload] = {}
        self._lock = threading.Lock()

    def path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise ValueError(f"{digest!r} is not a sha256 digest")
        return self._blobs / digest.removeprefix("sha256:")

    def has(self, digest: str) -> bool:
        return is_digest(digest) and self.path(digest).is_file()

    def size(self, digest: str) -> int:
        return self.path(digest).stat().st_size

    def read(self, digest: str, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The blob's bytes `start:stop` in chunks, for streaming a response without loading it."""
        with self.path(digest).open("rb") as blob:
            blob.seek(start)
            left = (stop - start) if stop is not None else None
            while left != 0 and (chunk := blob.read(CHUNK if left is None else min(CHUNK, left))):
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def begin_upload(self, owner: str = "") -> str:
        upload_id = str(uuid.uuid4())
        staged = self._staging / upload_id
        staged.touch()
        with self._lock:
            self._uploads[upload_id] = _Upload(staged, hashlib.sha256(), emulator_now(), owner)
        return upload_id

    def has_upload(self, upload_id: str) -> bool:
        with self._lock:
            return upload_id in self._uploads

    def upload_owner(self, upload_id: str) -> str:
        return self._upload(upload_id).owner

    def expire_uploads(self, idle: timedelta) -> list[str]:
        """Cancel the uploads no bytes reached for longer than `idle` on the emulator clock; returns their ids."""
        cutoff = emulator_now() - idle
        with self._lock:
            expired = [upload_id for upload_id, upload in self._uploads.items() if upload.touched < cutoff]
        for upload_id in expired:
            with contextlib.suppress(UploadUnknown):  # finished or cancelled meanwhile
                self.cancel(upload_id)
        return expired

    def _upload(self, upload_id: str) -> _Upload:
        with self._lock:
            upload = self._uploads.get(upload_id)
        if upload is None:
            raise UploadUnknown(upload_id)
        return upload

    def upload_size(self, upload_id: str) -> int:
        return self._upload(upload_id).size

    def upload_path(self, upload_id: str) -> Path:
        """The staging file of an upload, for a reader that follows it while it grows (a pull through fill)."""
        return self._upload(upload_id).path

    def upload_digest(self, upload_id: str) -> str:
        return "sha256:" + self._upload(upload_id).hasher.hexdigest()

    def append(
        self,
        upload_id: str,
        stream: IO[bytes],
        length: int | None = None,
        *,
        chunk_size: int = CHUNK,
        written: Callable[[int], None] | None = None,
    ) -> int:
        """Stream `length` bytes (or all until EOF) of `stream` onto the upload; returns its new size.

        `written(n)` is told of each chunk as soon as it is in the staging file (`upload_path`), before it is
        hashed, so readers following the file do not wait for the hash.
        """
        upload = self._upload(upload_id)
        remaining = length
        with upload.path.open("ab") as staged:
            while remaining is None or remaining > 0:
                chunk = stream.read(chunk_size if remaining is None else min(chunk_size, remaining))
                if not chunk:
                    break
                staged.write(chunk)
                upload.size += len(chunk)
                upload.touched = emulator_now()
                if written:
                    staged.flush()
                    written(len(chunk))
                upload.hasher.update(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
        return upload.size

    def commit(self, upload_id: str, digest: str) -> int:
        """Finish an upload as blob `digest`; raises `DigestMismatch` (and keeps the upload) if it is not."""
        upload = self._upload(upload_id)
        actual = "sha256:" + upload.hasher.hexdigest()
        if actual != digest:
            raise DigestMismatch(f"the uploaded content hashes to {actual}, not {digest}")
        with self._lock:
            self._uploads.pop(upload_id, None)
        if self.durable:
            with upload.path.open("rb") as staged:
                os.fsync(staged.fileno())
        # Same digest, same bytes: a concurrent commit of the same blob may win the rename harmlessly.
        os.replace(upload.path, self.path(digest))
        if self.durable:  # the blob's name too: a journal record may point at it
            directory = os.open(self._blobs, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        return upload.size

    def clear_staging(self) -> None:
        """Drop unfinished uploads' files: at a restart their sessions are gone, as on any registry restart."""
        with self._lock:
            self._uploads.clear()
            for staged in self._staging.iterdir():
                staged.unlink(missing_ok=True)

    def cancel(self, upload_id: str) -> None:
        with self._lock:
            upload = self._uploads.pop(upload_id, None)
        if upload is None:
            raise UploadUnknown(upload_id)
        upload.path.unlink(missing_ok=True)


_shared: BlobStore | None = None
_shared_lock = threading.Lock()


def configure(root: str | Path | None, durable: bool = False) -> BlobStore:
    """Make the process's store live under `root` (a temp dir if None); moto's state is per process too."""
    global _shared
    with _shared_lock:
        if root is not None or _shared is None:
            _shared = BlobStore(root, durable)
        return _shared


def shared_store() -> BlobStore:
    """The process's blob store, created in a temporary directory on first use."""
    return _shared or configure(None)
