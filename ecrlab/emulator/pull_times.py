"""Pull times in the emulator: `lastRecordedPullTime` on every pull, except pulls by excluded principals.

AWS (user guide, "Pull-time update exclusions"): ECR updates an image's lastRecordedPullTime on every pull except
Amazon Inspector's; principals on the registry's exclusion list (for example third-party scanners) leave it
unchanged, so their pulls do not keep images alive under pull-age lifecycle rules. Up to 100 exclusions per
account; a duplicate is ExclusionAlreadyExistsException, a missing one ExclusionNotFoundException (model).

A pull is a BatchGetImage or a manifest GET on `/v2/` (a HEAD only checks, UNCONFIRMED [U30]). The emulator records
every pull; AWS says it refreshes the time "at least once every 24 hours" (model text), so it may record fewer. An
assumed-role session counts as its role, matched by account and role name (its ARN has no path).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecrlab.emulator.archive_operations import ACTIVE, status_of
from ecrlab.emulator.aws_errors import aws_error
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.extension import Call, backend_hook, model_hook, operation
from ecrlab.emulator.moto_compat import ECRBackend, ECRResponse
from ecrlab.emulator.paging import by_number, numbered, page

MAX_EXCLUSIONS = 100


@dataclass(frozen=True)
class Puller:
    """Who is pulling, and whether this request counts as a pull."""

    principal: str
    records: bool = True


_PULLER: ContextVar[Puller | None] = ContextVar("ecrlab_puller", default=None)
_EXCLUSIONS: weakref.WeakKeyDictionary[ECRBackend, dict[str, datetime]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def exclusions(backend: ECRBackend) -> dict[str, datetime]:
    """The registry's exclusion list: principal ARN -> when it was registered (lives and dies with the backend)."""
    with _LOCK:
        return _EXCLUSIONS.setdefault(backend, {})


@contextmanager
def pulling(principal: str, records: bool = True) -> Iterator[None]:
    """Within this block, BatchGetImage is a pull by `principal` (records=False: it only checks, as a HEAD)."""
    token = _PULLER.set(Puller(principal, records))
    try:
        yield
    finally:
        _PULLER.reset(token)


def _identity(arn: str) -> tuple[str, str, str]:
    """(account, kind, name) of an IAM role, user or assumed-role session ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return ("", "", arn)
    kind, _, rest = parts[5].partition("/")
    if kind == "assumed-role":
        return (parts[4], "role", rest.split("/")[0])
    return (parts[4], kind, rest.rsplit("/", 1)[-1])


def is_excluded(backend: ECRBackend, principal: str) -> bool:
    who = _identity(principal)
    return any(_identity(arn) == who for arn in exclusions(backend))


@model_hook(ECRResponse, "batch_get_image", (), "")
def batch_get_image_caller(moto_get: Callable[[], Any], response: ECRResponse) -> Any:
    """Tell the backend who pulls through BatchGetImage."""
    caller = Call(response.current_account, response.region, {}, access_key=response.get_access_key()).principal
    with pulling(caller):
        return moto_get()


@backend_hook(
    "batch_get_image",
    ("BatchGetImage",),
    "sets lastRecordedPullTime unless the caller is on the pull-time update exclusion list; ARCHIVED and "
    "ACTIVATING images are failures (ImageNotFound, UNCONFIRMED [U30])",
)
def record_pull(moto_get: Callable[..., dict[str, Any]], backend: ECRBackend, *args: Any, **kwargs: Any) -> Any:
    result = moto_get(*args, **kwargs)
    puller = _PULLER.get()
    if puller is not None and (not puller.records or is_excluded(backend, puller.principal)):
        return result
    now = emulator_now()
    for image in result["images"]:
        if status_of(image) == ACTIVE:
            image.last_recorded_pull_time = now
    return result


@operation("RegisterPullTimeUpdateExclusion", "up to 100 per registry; a duplicate is ExclusionAlreadyExists")
def register_pull_time_update_exclusion(call: Call) -> dict[str, Any]:
    arn = call.params["principalArn"]
    listed = exclusions(call.ecr)
    if arn in listed:
        raise aws_error(
            "ExclusionAlreadyExistsException",
            f"The principal '{arn}' is already in the pull time update exclusion list of the registry with id "
            f"'{call.account_id}'",
        )
    if len(listed) >= MAX_EXCLUSIONS:
        raise aws_error(
            "LimitExceededException",
            f"The maximum number of pull time update exclusions ({MAX_EXCLUSIONS}) has been reached.",
        )
    listed[arn] = emulator_now()
    return {"principalArn": arn, "createdAt": listed[arn]}


@operation("DeregisterPullTimeUpdateExclusion", "a principal not on the list is ExclusionNotFound")
def deregister_pull_time_update_exclusion(call: Call) -> dict[str, Any]:
    arn = call.params["principalArn"]
    if exclusions(call.ecr).pop(arn, None) is None:
        raise aws_error(
            "ExclusionNotFoundException",
            f"The principal '{arn}' is not in the pull time update exclusion list of the registry with id "
            f"'{call.account_id}'",
        )
    return {"principalArn": arn}


@operation("ListPullTimeUpdateExclusions", "in order of registration; pages of 100 by default (maxResults 1-1000)")
def list_pull_time_update_exclusions(call: Call) -> dict[str, Any]:
    listed = numbered(call.ecr, "pull time update exclusions", list(exclusions(call.ecr)))
    shown, token = page(listed, call.params, "ListPullTimeUpdateExclusions", key=by_number)
    return {"pullTimeUpdateExclusions": [arn for _, arn in shown]} | ({"nextToken": token} if token else {})
