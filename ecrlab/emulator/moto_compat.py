"""The one place ecrlab meets moto: every moto import and every use of moto's private API goes through here.

Why: ecrlab pins moto below 5.3 and extends it in place (operations attached to ECR's response class, hooks on its
models, its request authorisation replaced, its dispatch and botocore data cached, its instance tracker off, its
clock and id generator driven by the lab). A moto upgrade is then this module plus `tests/test_coverage.py`;
`tests/test_moto_seam.py` keeps it so.

The names re-exported below are moto's own classes and backend dictionaries, unchanged. Services ecrlab reaches only
now and then (SNS, SQS, Secrets Manager, the WSGI server) are imported on first use, as before, to keep the
emulator's import light.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import moto.backends
import moto.core.responses
import moto.core.utils
import moto.ecr.models as _ecr_models
from moto.core.base_backend import AccountSpecificBackend
from moto.core.common_models import BaseModel
from moto.core.exceptions import JsonRESTError, ServiceException
from moto.core.responses import ActionResult
from moto.core.utils import camelcase_to_underscores, iso_8601_datetime_without_milliseconds, utcfromtimestamp
from moto.ecr.exceptions import (
    ImageAlreadyExistsException,
    ImageNotFoundException,
    InvalidLayerPartException,
    LifecyclePolicyNotFoundException,
    ScanNotFoundException,
    UploadNotFoundException,
)
from moto.ecr.models import DEFAULT_LAYER_PART_SIZE, ECRBackend, Image, Repository, ecr_backends
from moto.ecr.responses import ECRResponse
from moto.events.models import Rule, events_backends
from moto.events.utils import EventMessageType
from moto.iam.access_control import CreateAccessKeyFailure, create_access_key
from moto.iam.models import get_account_id_from, iam_backends
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.models import moto_api_backend
from moto.sts.models import sts_backends

from ecrlab.ecr_model import service_names, service_regions

if TYPE_CHECKING:
    from werkzeug.serving import WSGIRequestHandler

__all__ = [
    "DEFAULT_LAYER_PART_SIZE",
    "ActionResult",
    "CreateAccessKeyFailure",
    "ECRBackend",
    "ECRResponse",
    "EventMessageType",
    "Image",
    "ImageAlreadyExistsException",
    "ImageNotFoundException",
    "InvalidLayerPartException",
    "JsonRESTError",
    "LifecyclePolicyNotFoundException",
    "Repository",
    "Rule",
    "ScanNotFoundException",
    "ServiceException",
    "UploadNotFoundException",
    "attach_response_method",
    "backend_dicts",
    "camelcase_to_underscores",
    "create_access_key",
    "ecr_backends",
    "events_backends",
    "find_image",
    "get_account_id_from",
    "get_repository",
    "iam_backends",
    "install_dispatch_caches",
    "iso_8601_datetime_without_milliseconds",
    "new_id",
    "random_state",
    "replace_authorization",
    "request_action",
    "request_handler_class",
    "request_param",
    "reset_all_backends",
    "resolve_tag_mutability",
    "secret_default_kms_alias",
    "secretsmanager_backends",
    "seed_ids",
    "set_random_state",
    "set_time_source",
    "sns_backends",
    "sts_backends",
    "utcfromtimestamp",
    "wsgi_application",
]


# --- moto's private API, named once -------------------------------------------------------------------------------


def get_repository(backend: ECRBackend, name: str, registry_id: str | None = None) -> Repository:
    """The repository, or moto's RepositoryNotFoundException (AWS's error) when it does not exist."""
    return backend._get_repository(name, registry_id)


def find_image(repository: Repository, tag: str | None, digest: str | None) -> Image:
    """The image by tag or digest, or moto's ImageNotFoundException."""
    return repository._get_image(tag, digest)


def resolve_tag_mutability(backend: ECRBackend, repository: Repository, tag: str) -> None:
    """moto's check that `tag` may move in `repository` (ImageTagAlreadyExistsException otherwise)."""
    backend._resolve_image_tag_mutability(repository, tag)


def request_action(response: Any) -> str:
    """The action name of the request `response` is answering (e.g. `PutImage`, `SendMessage`)."""
    return str(response._get_action())


def request_param(response: Any, name: str) -> Any:
    """One top-level parameter of the request `response` is answering, None when absent."""
    return response._get_param(name)


def attach_response_method(name: str, method: Callable[..., Any]) -> None:
    """Make `ECRResponse.<name>` answer a request: how ecrlab adds or overrides an ECR operation."""
    setattr(ECRResponse, name, method)


def replace_authorization(authorize: Callable[..., None]) -> None:
    """Put `authorize(response)` where moto authorises each ECR API request."""
    ECRResponse._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign]  # ecrlab authorises, not moto


# Each service's moto response class, by the service's endpoint prefix (what ecrlab authorises beside ECR).
SERVICE_RESPONSES = {
    "sqs": ("moto.sqs.responses", "SQSResponse"),
    "events": ("moto.events.responses", "EventsHandler"),
    "secretsmanager": ("moto.secretsmanager.responses", "SecretsManagerResponse"),
    "sns": ("moto.sns.responses", "SNSResponse"),
    "iam": ("moto.iam.responses", "IamResponse"),
}


def replace_service_authorization(service: str, authorize: Callable[..., None]) -> None:
    """Put `authorize(response)` where moto authorises each request of `service` (a key of SERVICE_RESPONSES)."""
    import importlib

    module, name = SERVICE_RESPONSES[service]
    cls = getattr(importlib.import_module(module), name)
    cls._authenticate_and_authorize_normal_action = authorize


def access_denied_error(user: str, operation: str) -> Exception:
    """moto's query-protocol AccessDenied error (HTTP 403), for IAM and SNS."""
    from moto.core.exceptions import AccessDeniedError

    return AccessDeniedError(user, operation)


def set_time_source(utcnow: Callable[[], datetime], datetime_type: type[datetime]) -> None:
    """Point moto's ECR time sources (module globals: `utcnow` and `datetime`) at the lab's clock."""
    _ecr_models.utcnow = utcnow
    _ecr_models.datetime = datetime_type  # type: ignore[misc]  # a class global, replaced by a subclass on purpose


def seed_ids(seed: int = 0) -> None:
    """Restart moto's id generator (uuids, ids) so a frozen-clock run repeats its ids."""
    mock_random.seed(seed)


def new_id() -> str:
    """A uuid from moto's id generator: seeded with the clock frozen, so ids repeat run to run."""
    return str(mock_random.uuid4())


def random_state() -> Any:
    """moto's id generator's state, for a snapshot."""
    return mock_random.getstate()


def set_random_state(state: Any) -> None:
    """Restore moto's id generator's state from a snapshot."""
    mock_random.setstate(state)


def reset_all_backends() -> None:
    """Forget every service's state in every account, as moto's `/moto-api/reset` does."""
    moto_api_backend.reset()


def tags_copy_for(backend: ECRBackend, repository_name: str) -> Any:
    """A copy of the registry's tags (moto's TaggingService) in which only one repository's tags are copied deeply:
    a write that names a repository changes no other resource's tags, and the others are many."""
    import copy

    arn = f"arn:aws:ecr:{backend.region_name}:{backend.account_id}:repository/{repository_name}"
    copied = copy.copy(backend.tagger)
    copied.tags = dict(backend.tagger.tags)
    if arn in copied.tags:
        copied.tags[arn] = dict(copied.tags[arn])
    return copied


# --- services and the server, imported on first use --------------------------------------------------------------


def sns_backends() -> Any:
    """SNS backends {account: {region: backend}}."""
    from moto.sns.models import sns_backends as backends

    return backends


def secretsmanager_backends() -> Any:
    """Secrets Manager backends {account: {region: backend}}."""
    from moto.secretsmanager.models import secretsmanager_backends as backends

    return backends


def secret_default_kms_alias() -> str:
    """The KMS key alias Secrets Manager encrypts with when none is named."""
    from moto.secretsmanager.models import SecretsManagerBackend

    return str(SecretsManagerBackend.DEFAULT_KMS_KEY_ALIAS)


def backend_dicts() -> dict[str, Any]:
    """moto's state per service ecrlab uses: {service: {account: {region: backend}}}, what persistence keeps."""
    from moto.sqs.models import sqs_backends

    return {
        "ecr": ecr_backends,
        "iam": iam_backends,
        "sts": sts_backends,
        "secretsmanager": secretsmanager_backends(),
        "events": events_backends,
        "sqs": sqs_backends,
        "sns": sns_backends(),
    }


def wsgi_application() -> Any:
    """moto's WSGI application, dispatching each request to its service by host and headers."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def request_handler_class(quiet: bool = False) -> type[WSGIRequestHandler]:
    """moto's werkzeug request handler class; a `quiet` one logs no line per request."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    if not quiet:
        return MotoRequestHandler

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return QuietHandler


# --- moto's request dispatch without the work it repeats on every request (issue 17) ------------------------------
# Measured in a profile of the emulator: for each request moto's dispatcher lists its own package folder twice to tell
# a service name from a host (`moto.backends.list_of_moto_modules`: a `listdir` and about 175 `stat` calls, inside
# the dispatcher's lock; a third of the server's time), and moto's response class collects its method names with
# `inspect.getmembers` to find the action's handler. Neither answer changes while the process runs, except the method
# names when ecrlab attaches an operation, which the cache notices. Behaviour is moto's.

_dispatch_cached = False
_moto_create_loader = moto.core.utils.create_loader
_dispatch_lock = threading.Lock()


def _once(list_modules: Callable[[], Iterable[str]]) -> Callable[[], frozenset[str]]:
    """moto's package folders are fixed once moto is installed: list them once."""
    names = frozenset(list_modules())

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


def _untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
    """moto's `BaseModel.__new__` without its instance tracker: moto lists every instance of its models
    (`instances_tracked`, for its dashboard) until a reset, so every copy of a model stayed alive for good (a rollback
    snapshot before each write, DescribeImages' copies of the images it answers): memory, and each full garbage
    collection, grew with the requests served. ecrlab serves no dashboard."""
    return super(BaseModel, cls).__new__(cls)  # type: ignore[misc]  # cls is a BaseModel subclass: __new__ gets the class


# --- botocore data moto reads again for each backend, model and error (issue 17, P1) --------------------------------
# Measured in the demo's kernels (thread CPU, 10 notebooks): moto makes a fresh botocore loader for each model it
# loads (each lists botocore's ~400 service folders before reading one file), a fresh boto3 session for its partitions
# (endpoints.json parsed again beside ecrlab's own copy) and for each error's service name, and works out a service's
# regions again for every account's backend (its `lru_cache` is per backend instance): about 0.05 s of a kernel's
# CPU per lesson, 0.5 s over the demo's ten. The data is botocore's and fixed while the process runs: the regions and
# services come from `ecr_model`'s one copy of it, the answers are moto's own.


@cache
def _moto_loader() -> Any:
    """One moto loader (botocore's with moto's model extras), so each folder listing and model file is read once."""
    return _moto_create_loader()


def _generate_regions(backend: object, service_name: str) -> list[str]:
    """moto's `AccountSpecificBackend._generate_regions`, worked out once per service instead of once per backend."""
    return list(service_regions(service_name))


@cache
def _service_names() -> dict[str, str]:
    return {name.replace("-", ""): name for name in service_names()}


def _service_name_from_moto_package_name(package: str) -> str:
    """moto's lookup (its package names drop the hyphens of the service names) over one list of services."""
    return _service_names().get(package, package)


def install_dispatch_caches() -> None:
    """Replace the per-request computations with their cached answers and stop moto tracking every model instance
    (idempotent)."""
    global _dispatch_cached
    with _dispatch_lock:
        if _dispatch_cached:
            return
        BaseModel.__new__ = _untracked  # type: ignore[method-assign]  # see _untracked
        moto.backends.list_of_moto_modules = _once(moto.backends.list_of_moto_modules)
        moto.core.utils.create_loader = _moto_loader  # same loader class, made once
        AccountSpecificBackend._generate_regions = _generate_regions  # type: ignore[assignment,method-assign]
        # moto's is a per-name cache; this one reads a table made once.
        moto.core.utils.service_name_from_moto_package_name = _service_name_from_moto_package_name  # type: ignore[assignment]
        original = moto.core.responses.method_names_from_class
        # moto only asks whether an action is among the names, which a frozenset answers as its list did.
        moto.core.responses.method_names_from_class = _per_class(original)  # type: ignore[assignment]  # a frozenset (see above)
        _dispatch_cached = True
