"""How ecrlab extends moto without forking it: register missing operations, hook backend behaviour.

moto dispatches a JSON action to the method of `ECRResponse` whose name is the action in snake case, so a
missing operation is registered by attaching a method. Behaviour moto has but gets wrong is hooked on
`ECRBackend` methods. Both happen once per process in `install()`, so the in-process and the served
emulator run exactly the same code. Wire format stays here; behaviour lives in plain modules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecrlab.ecr_model import ecr_model, validation_message
from ecrlab.emulator.aws_errors import aws_error
from ecrlab.emulator.moto_compat import (
    ActionResult,
    ECRBackend,
    ECRResponse,
    Image,
    Repository,
    attach_response_method,
    camelcase_to_underscores,
    ecr_backends,
    get_repository,
    install_dispatch_caches,
    replace_authorization,
)
from ecrlab.emulator.state import READ_ONLY, STATE_LOCK

# Operations moto answers itself, captured before anything is attached (the coverage table's "moto native").
NATIVE_METHODS = frozenset(name for name, value in vars(ECRResponse).items() if callable(value))


@dataclass(frozen=True)
class Call:
    """One API call as an extension sees it: who, where, and the request parameters."""

    account_id: str
    region: str
    params: dict[str, Any]
    host: str = ""  # the Host header the client used: the emulator's own address for URLs it hands out
    access_key: str = ""

    @property
    def ecr(self) -> ECRBackend:
        return ecr_backends[self.account_id][self.region]

    @property
    def principal(self) -> str:
        """The caller's ARN, as `sts get-caller-identity` would answer it."""
        from ecrlab.emulator.moto_compat import sts_backends

        return sts_backends[self.account_id]["global"].get_caller_identity(self.access_key, self.region)[1]

    def repository(self) -> Repository:
        """The repository the call names (`repositoryName`, in `registryId`'s registry when given), or AWS's
        RepositoryNotFoundException: the first step of most handlers, written once."""
        return get_repository(self.ecr, self.params["repositoryName"], self.params.get("registryId"))

    def image(self) -> tuple[Repository, Image]:
        """The repository and the image the call's `imageId` names (its digest and tag, when both are given, must
        match one image), or AWS's RepositoryNotFoundException or ImageNotFoundException."""
        repository = self.repository()
        image_id = self.params["imageId"]
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        for image in repository.images:
            if (digest is None or image.get_image_digest() == digest) and (tag is None or tag in image.image_tags):
                return repository, image
        shown = ", ".join(f"{key}={value}" for key, value in image_id.items()) or "no digest or tag"
        raise aws_error(
            "ImageNotFoundException",
            f"The image with imageId {{{shown}}} does not exist within the repository with name "
            f"'{repository.name}' in the registry with id '{repository.registry_id}'",
        )


@dataclass(frozen=True)
class Extension:
    operation: str
    # "operation": moto lacks it; "override": moto answers it, ecrlab answers instead;
    # "hook": moto answers it, ecrlab corrects the backend behaviour behind it.
    kind: str
    note: str


EXTENSIONS: dict[str, Extension] = {}
_OPERATIONS: dict[str, Callable[[Call], dict[str, Any]]] = {}
_HOOKS: list[tuple[type, str, Callable[..., Any]]] = []


def operation(
    name: str, note: str = "", *, replaces_native: bool = False
) -> Callable[[Callable[[Call], dict[str, Any]]], Any]:
    """Register a handler for ECR operation `name`: it gets a validated `Call` and returns the result.

    `replaces_native=True` says moto answers `name` too and ecrlab's answer must win; install() checks both
    claims against moto, so an upgrade that implements an operation ecrlab adds fails loudly.
    """

    def register(handler: Callable[[Call], dict[str, Any]]) -> Callable[[Call], dict[str, Any]]:
        _OPERATIONS[name] = handler
        kind = "override" if replaces_native else "operation"
        EXTENSIONS[name] = Extension(name, kind, note or (handler.__doc__ or "").strip())
        return handler

    return register


def backend_hook(method: str, operations: tuple[str, ...], note: str) -> Callable[[Callable[..., Any]], Any]:
    """Replace `ECRBackend.<method>`; the replacement receives moto's original as its first argument."""
    return model_hook(ECRBackend, method, operations, note)


def model_hook(model: type, method: str, operations: tuple[str, ...], note: str) -> Callable[[Callable[..., Any]], Any]:
    """Replace `<model>.<method>` of any moto class (e.g. `Image`), as `backend_hook` does for the backend."""

    def register(replacement: Callable[..., Any]) -> Callable[..., Any]:
        _HOOKS.append((model, method, replacement))
        for name in operations:
            if name not in _OPERATIONS:  # an operation ecrlab answers itself stays listed as such
                EXTENSIONS[name] = Extension(name, "hook", note)
        return replacement

    return register


def _response_method(name: str, handler: Callable[[Call], dict[str, Any]]) -> Callable[[ECRResponse], Any]:
    def method(self: ECRResponse) -> ActionResult:
        params = json.loads(self.body or "{}")
        problem = validation_message(name, params)
        if problem:
            raise aws_error("ValidationException", problem)
        host = self.headers.get("Host", "") if self.headers else ""
        call = Call(self.current_account, self.region, params, host, self.get_access_key())
        if READ_ONLY.match(name):
            return ActionResult(handler(call))
        with STATE_LOCK:  # the locking rule: see ecrlab.emulator.state
            return ActionResult(handler(call))

    method.__name__ = camelcase_to_underscores(name)
    return method


def _validated(name: str, native: Callable[[ECRResponse], Any]) -> Callable[[ECRResponse], Any]:
    """moto's own handler for `name`, behind the same model check (limits, enums, patterns) as ecrlab's."""

    def method(self: ECRResponse) -> Any:
        problem = validation_message(name, json.loads(self.body or "{}"))
        if problem:
            raise aws_error("ValidationException", problem)
        if READ_ONLY.match(name):
            return native(self)
        with STATE_LOCK:  # the locking rule: see ecrlab.emulator.state
            return native(self)

    method.__name__ = native.__name__
    return method


def _hooked(original: Callable[..., Any], replacement: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return replacement(lambda *a, **k: original(self, *a, **k), self, *args, **kwargs)

    return method


_installed = False


def install() -> None:
    """Attach every registered extension to moto, once per process."""
    global _installed
    if _installed:
        return
    # Importing the feature modules registers their extensions.
    from ecrlab.emulator import (  # noqa: F401
        account_settings_operations,
        archive_operations,
        layers,
        lifecycle_policies,
        lifecycle_runs,
        listing,
        pull_through_cache_operations,
        pull_through_fetch,
        pull_times,
        referrers,
        replication_backfill_operations,
        replication_operations,
        scan_config,
        scanning_operations,
        signing_operations,
        stored_images,
        templates_operations,
        tokens,
    )

    for name, handler in _OPERATIONS.items():
        method_name = camelcase_to_underscores(name)
        overrides = EXTENSIONS[name].kind == "override"
        if (method_name in NATIVE_METHODS) != overrides:
            raise RuntimeError(f"moto's support for {name} changed; revisit ecrlab's extension and its fidelity")
        attach_response_method(method_name, _response_method(name, handler))
    # Every other operation moto answers natively gets the model check at the door too (docs/fidelity.md S6).
    for name in ecr_model().operation_names:
        method_name = camelcase_to_underscores(name)
        if name not in _OPERATIONS and method_name in NATIVE_METHODS:
            attach_response_method(method_name, _validated(name, getattr(ECRResponse, method_name)))
    for model, method, replacement in _HOOKS:
        setattr(model, method, _hooked(getattr(model, method), replacement))
    from ecrlab.emulator.authorization import authorize_api_request

    replace_authorization(authorize_api_request)
    from ecrlab.emulator import service_authorization

    service_authorization.install()  # EventBridge, SQS, SNS, Secrets Manager and IAM decide the same way
    install_dispatch_caches()
    _installed = True
