"""A registry's state before a write, so a write that fails unexpectedly leaves the registry as it was.

AWS either applies a request or answers an error; it never half-applies one and answers ServerException. The
emulator copies the addressed registry (moto's ECR backend and ecrlab's state next to it) before each write
and puts the copy back when the handler fails with an unexpected error. A write that names a repository copies
only that repository and its tags (and which repositories exist), so its cost does not grow with the registry:
such a write changes no other repository synchronously (replication, lifecycle and scans of others run later, in the
background). A registry-level write copies every repository, since some rewrite them all (moto's
PutRegistryScanningConfiguration does). Copies skip what cannot be copied
(moto's locks): those are not state. Other services' state (IAM, EventBridge) and the blob store (content
addressed, so an extra blob changes nothing a client sees) are not copied.
"""

from __future__ import annotations

import copy
import os
import pickle
import re
from dataclasses import dataclass
from typing import Any

from ecrlab.emulator.state import READ_ONLY, registry_state

# Operations that only read: no copy needed (the model's verbs for reads).
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]*/([^/]+)/")


@dataclass
class Snapshot:
    backend: Any
    attributes: dict[str, Any]
    state: dict[type, Any]  # feature state class -> its copy
    repository: tuple[str, Any] | None = None  # a repository-scoped write: (name, its copy, or None if absent)


def _registry(environ: dict[str, Any]) -> Any | None:
    """The ECR backend a request addresses, as moto picks it (account from the access key, region from the scope)."""
    from ecrlab.emulator.moto_compat import ecr_backends, get_account_id_from

    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        return None
    access_key, region = match.groups()
    account = (
        os.environ.get("MOTO_ACCOUNT_ID") or environ.get("HTTP_X_MOTO_ACCOUNT_ID") or get_account_id_from(access_key)
    )
    try:
        return ecr_backends[account][region]
    except KeyError:
        return None


def _copy(value: Any) -> Any:
    """A deep copy; pickling is twice as fast as copy.deepcopy on moto's models, which it cannot always take."""
    try:
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(value)


def _copies(values: dict[Any, Any]) -> dict[Any, Any]:
    copied = {}
    for name, value in values.items():
        try:
            copied[name] = _copy(value)
        except (TypeError, copy.Error, RecursionError):  # a lock: not state
            continue
    return copied


def before_write(environ: dict[str, Any], operation: str, params: dict[str, Any]) -> Snapshot | None:
    """A copy of the registry `operation` may change, or None for reads and unaddressable requests."""
    if READ_ONLY.match(operation):
        return None
    backend = _registry(environ)
    if backend is None:
        return None
    from ecrlab.emulator.moto_compat import tags_copy_for

    state = _copies(dict(registry_state(backend).parts))
    name = params.get("repositoryName")
    if not isinstance(name, str):
        return Snapshot(backend, _copies(vars(backend)), state)
    attributes = _copies({k: v for k, v in vars(backend).items() if k not in ("repositories", "tagger")})
    attributes["repositories"] = dict(backend.repositories)  # which exist; only the addressed one is copied
    attributes["tagger"] = tags_copy_for(backend, name)  # likewise its tags
    addressed = backend.repositories.get(name)
    return Snapshot(backend, attributes, state, (name, None if addressed is None else _copy(addressed)))


def restore(snapshot: Snapshot) -> None:
    """Put the registry back as it was when the snapshot was taken."""
    for name, value in snapshot.attributes.items():
        setattr(snapshot.backend, name, value)
    if snapshot.repository is not None:
        name, copied = snapshot.repository
        if copied is None:
            snapshot.backend.repositories.pop(name, None)
        else:
            snapshot.backend.repositories[name] = copied
    registry_state(snapshot.backend).parts = dict(snapshot.state)
