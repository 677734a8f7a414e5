"""Where runbook runs keep their records: a local folder or an `s3://bucket/prefix`, behind one small interface.

As papermill picks an I/O handler by the path's scheme (papermill.iorw), `storage(root)` picks a `RunStorage` by
the root's prefix; a path with no registered prefix is a local folder. This is the one module that knows `s3://`:
running, listing, showing and rolling back runs go through it.
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from ecrlab.errors import EcrlabError, ValidationError

AUDIT_FILE = "audit.json"


class RunStorageError(EcrlabError):
    """The storage refused a run's files (a denied PutObject, a full disk); the message is the storage's own."""


class RunStorage(Protocol):
    """One root of run records: each run is a folder `<root>/<run id>/` holding its files."""

    root: str

    def check(self) -> None:
        """`ValidationError` (field `output`) when runs cannot be written here, before anything runs."""

    def write(self, run_id: str, files: Mapping[str, str]) -> None:
        """Write a run's files (name → text); `RunStorageError` when the storage refuses them."""

    def records(self) -> list[dict[str, Any]]:
        """Every run's audit record, in no particular order; `ValidationError` (field `runs`) when unreadable."""

    def record(self, run_id: str) -> dict[str, Any] | None:
        """One run's audit record; None when there is no such run."""

    def run_path(self, run_location: str) -> str | None:
        """What `record` takes for a record's `location`: its path under this root (a demo's runs are one level
        deeper, `<timestamp>/<feature>`); None when the record was written elsewhere."""


def location(storage: RunStorage, run_id: str) -> str:
    """Where a run's files go, as the user wrote the root (a trailing `/` or not)."""
    return f"{storage.root.rstrip('/')}/{run_id}"


def _path_under(run_location: str, base: str) -> str | None:
    return run_location[len(base) + 1 :] if run_location.startswith(base + "/") else None


class LocalRunStorage:
    """Runs in a local folder: `ecrlab run` writes `<root>/<run id>/`, `ecrlab demo` `<root>/<timestamp>/<feature>/`."""

    def __init__(self, root: str) -> None:
        self.root = root

    def check(self) -> None:
        """The folder can be made and written to."""
        try:
            Path(self.root).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValidationError("output", self.root, f"cannot be created: {error.strerror}") from None
        if not os.access(self.root, os.W_OK):
            raise ValidationError("output", self.root, "is not a writable folder")

    def write(self, run_id: str, files: Mapping[str, str]) -> None:
        """The files into `<root>/<run id>/`, made if missing."""
        folder = Path(location(self, run_id))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name, content in files.items():
                (folder / name).write_text(content)
        except OSError as error:
            raise RunStorageError(str(error)) from error

    def records(self) -> list[dict[str, Any]]:
        """The records of runs one or two folders deep (run and demo layouts)."""
        paths = [*Path(self.root).glob(f"*/{AUDIT_FILE}"), *Path(self.root).glob(f"*/*/{AUDIT_FILE}")]
        return [json.loads(p.read_text()) for p in paths]

    def record(self, run_id: str) -> dict[str, Any] | None:
        """`<root>/<run id>/audit.json`, None when missing."""
        path = Path(self.root) / run_id / AUDIT_FILE
        return json.loads(path.read_text()) if path.exists() else None

    def run_path(self, run_location: str) -> str | None:
        """Compared as normalised paths: `runs/./x` and `runs/x` are one folder."""
        return _path_under(posixpath.normpath(run_location), posixpath.normpath(self.root.rstrip("/")))


class S3RunStorage:
    """Runs under an `s3://bucket/prefix`, one prefix per run, so a scheduled runbook keeps every run's record.

    Not papermill's S3 handler: it keeps the first session it makes for the life of the process, so a second run
    with another profile or AWS_ENDPOINT_URL (fleet threads, a notebook, the tests) would write with the first.
    Each call here resolves credentials and endpoint as boto3 does now.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        bucket, _, key = root[len("s3://") :].partition("/")
        self.bucket, self.prefix = bucket, key.strip("/")

    def _client(self) -> Any:
        from ecrlab.registry import new_session

        return new_session().client("s3")

    def check(self) -> None:
        """The bucket exists and credentials are there; a 403 passes (these credentials may write but not list)."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        if not self.bucket:
            raise ValidationError("output", self.root, "must be s3://BUCKET or s3://BUCKET/PREFIX")
        try:
            self._client().head_bucket(Bucket=self.bucket)
        except NoCredentialsError:
            raise ValidationError(
                "output", self.root, "needs AWS credentials (a profile or AWS_* variables) to write to S3"
            ) from None
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
                raise ValidationError(
                    "output", self.root, f"names a bucket that does not exist: {self.bucket}"
                ) from None
        except BotoCoreError as error:
            raise ValidationError("output", self.root, f"cannot reach S3: {error}") from None

    def write(self, run_id: str, files: Mapping[str, str]) -> None:
        """One object per file under `<prefix>/<run id>/`."""
        from botocore.exceptions import BotoCoreError, ClientError

        key = f"{self.prefix}/{run_id}"
        try:
            client = self._client()
            for name, content in files.items():
                client.put_object(Bucket=self.bucket, Key=f"{key}/{name}", Body=content.encode())
        except (BotoCoreError, ClientError) as error:
            raise RunStorageError(str(error)) from error

    def records(self) -> list[dict[str, Any]]:
        """The record of each run prefix directly under the root."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client()
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else "", Delimiter="/"
        )
        try:
            runs = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
            return [r for run in runs if (r := self._record(client, run))]
        except (BotoCoreError, ClientError) as error:
            raise ValidationError("runs", self.root, f"cannot be read: {error}") from None

    def record(self, run_id: str) -> dict[str, Any] | None:
        """`<prefix>/<run id>/audit.json`, None when missing."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._record(self._client(), f"{self.prefix}/{run_id}")
        except (BotoCoreError, ClientError) as error:
            raise ValidationError("runs", self.root, f"cannot be read: {error}") from None

    def run_path(self, run_location: str) -> str | None:
        """Compared as written: S3 keys are not paths, `a//b` and `a/b` are two keys."""
        return _path_under(run_location, self.root.rstrip("/"))

    def _record(self, client: Any, run_prefix: str) -> dict[str, Any] | None:
        try:
            body = client.get_object(Bucket=self.bucket, Key=f"{run_prefix.strip('/')}/{AUDIT_FILE}")["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        record: dict[str, Any] = json.loads(body)
        return record


_HANDLERS: dict[str, Callable[[str], RunStorage]] = {}


def register(prefix: str, handler: Callable[[str], RunStorage]) -> None:
    """Serve roots starting with `prefix` (e.g. `s3://`) with `handler(root)`."""
    _HANDLERS[prefix] = handler


def storage(root: str) -> RunStorage:
    """The storage for a root: the handler registered for its prefix, else a local folder."""
    for prefix, handler in _HANDLERS.items():
        if root.startswith(prefix):
            return handler(root)
    return LocalRunStorage(root)


register("s3://", S3RunStorage)
