"""The emulator's control token: who may move its clock, reset it, inject faults or turn its upstream knobs.

Each emulator server has one token. Its knobs (`/_ecrlab/*`, `/_upstreams/`) answer 403 to a request without it in
the `X-Ecrlab-Control-Token` header; a browser cannot add that header to a cross-origin request without a CORS
preflight, which the emulator does not grant, so a web page open next to a lesson cannot wipe the registry or
revive an expired password by moving the clock. No moto import here: `ecrlab.connect()` uses this module.

Where a client finds the token for a server (`find`): the value it is given, else the token of a server started in
this process, else the `ECRLAB_CONTROL_TOKEN` environment variable. `ecrlab emulator serve` prints it with its URL,
writes it to `DIR/control-token` with `--data-dir DIR` (and keeps it across restarts), and takes
`ECRLAB_CONTROL_TOKEN` from its environment when set, so a CI job can choose it once for server and clients.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

HEADER = "X-Ecrlab-Control-Token"
ENV = "ECRLAB_CONTROL_TOKEN"
FILE_NAME = "control-token"

_known: dict[str, str] = {}  # endpoint URL -> token, for servers started in this process
_lock = threading.Lock()


def new_token() -> str:
    """A fresh unguessable token (256 bits)."""
    return secrets.token_urlsafe(32)


def remember(endpoint_url: str, token: str) -> None:
    """Let `find` answer for a server this process started (the embedded emulator, a benchmark's server)."""
    with _lock:
        _known[endpoint_url.rstrip("/")] = token


def find(endpoint_url: str, given: str | None = None) -> str | None:
    """The token for the server at `endpoint_url`: `given`, this process's own server's, or `$ECRLAB_CONTROL_TOKEN`."""
    if given:
        return given
    with _lock:
        known = _known.get(endpoint_url.rstrip("/"))
    return known or os.environ.get(ENV) or None


def for_data_dir(data_dir: str | Path | None) -> str:
    """The server's token: `$ECRLAB_CONTROL_TOKEN`, else the one kept in `data_dir` (made on first start), else new.

    The file is written atomically and readable by its owner only: it is the key to the registry's knobs.
    """
    chosen = os.environ.get(ENV)
    if data_dir is None:
        return chosen or new_token()
    path = Path(data_dir) / FILE_NAME
    if not chosen and path.is_file():
        kept = path.read_text().strip()
        if kept:
            return kept
    token = chosen or new_token()
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(staged, path)
    return token
