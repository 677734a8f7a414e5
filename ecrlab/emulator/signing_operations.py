"""Managed signing in the emulator: a registry signing configuration that signs images on push.

AWS (user guide, "Managed signing"; API reference): up to 10 rules, each an AWS Signer profile ARN with optional
WILDCARD_MATCH repository filters (none: every repository); a pushed image is signed once per profile whose rule
matches, so several matching profiles give several signatures; signing profiles must be in the registry's region;
signatures themselves are not signed; deleting the configuration leaves existing signatures. A signature is a
Notary Project signature artifact pushed to the image's repository, referring to the image by `subject`.

Images are signed "using the identity of the entity pushing the image", which needs signer:SignPayload on the
profile: the emulator decides that from the pusher's identity policies (ecrlab.permissions.simulate; Signer's own
profile policies are not modelled) and marks the profile FAILED with failureCode AccessDenied otherwise (the code is
UNCONFIRMED [U31]: the model leaves it a free string). Pushes the emulator makes itself (replication, pull through
cache) sign as the registry's account. The emulator has no AWS Signer: the signature envelope is a JSON record of
subject, profile, signer and signing time, not a verifiable signature. Signing is IN_PROGRESS after the push and
COMPLETE `SIGNING_DELAY` later on the emulator clock (or on `settle()`); the delay, the envelope's media type and its
annotations are UNCONFIRMED [U31].
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from ecrlab.emulator import background, observers
from ecrlab.emulator.authorization import effective_principal, identity_policies
from ecrlab.emulator.aws_errors import aws_error, invalid_parameter
from ecrlab.emulator.blobstore import shared_store
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.extension import Call, model_hook, operation
from ecrlab.emulator.moto_compat import ECRBackend, ECRResponse, Image, Repository
from ecrlab.emulator.referrers import subject_of
from ecrlab.emulator.stored_images import OCI_MANIFEST, manifest_digest
from ecrlab.permissions.simulate import simulate

SIGNING_DELAY = timedelta(seconds=10)
SIGNATURE_TYPE = "application/vnd.cncf.notary.signature"  # Notary Project signature artifact type
ENVELOPE_TYPE = "application/jose+json"  # Notation's default envelope (AWS Signer's choice UNCONFIRMED [U31])
EMPTY_CONFIG = b"{}"
EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json"


@dataclass
class Signing:
    """A registry's signing configuration and the signing status of each signed image, per profile."""

    configuration: dict[str, Any] | None = None
    # (repository, image digest) -> {signing profile ARN -> {"status": ..., maybe "failureCode", "failureReason"}}
    statuses: dict[tuple[str, str], dict[str, dict[str, str]]] = field(default_factory=dict)


_STATES: weakref.WeakKeyDictionary[ECRBackend, Signing] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_PUSHER: ContextVar[Callable[[], str] | None] = ContextVar("ecrlab_pusher", default=None)


@contextmanager
def pushing(principal: Callable[[], str]) -> Iterator[None]:
    """Within this block, pushes are made by the principal `principal()` names (whose identity signs them); it is
    resolved only when a signing rule matches, so a push nobody signs does not pay for the lookup."""
    token = _PUSHER.set(principal)
    try:
        yield
    finally:
        _PUSHER.reset(token)


@model_hook(ECRResponse, "put_image", (), "")
def put_image_caller(moto_put: Callable[[], object], response: ECRResponse) -> object:
    """Tell signing who pushes through PutImage."""
    call = Call(response.current_account, response.region, {}, access_key=response.get_access_key())
    with pushing(lambda: call.principal):
        return moto_put()


def sign_denial(principal: str, profile: str) -> str | None:
    """None when `principal` may sign with `profile` (signer:SignPayload), else why not."""
    effective = effective_principal(principal)
    if effective.endswith(":root"):
        return None
    decision = simulate(
        effective,
        "signer:SignPayload",
        profile,
        identity_policies=identity_policies(effective),
        resource_account=profile.split(":")[4],
    )
    if decision.allowed:
        return None
    return f"User: {principal} is not authorized to perform: signer:SignPayload on resource: {profile}"


def signing_state(backend: ECRBackend) -> Signing:
    """The registry's signing state; it lives and dies with moto's backend."""
    with _LOCK:
        return _STATES.setdefault(backend, Signing())


def _not_found(call: Call) -> Exception:
    return aws_error(
        "SigningConfigurationNotFoundException",
        f"The signing configuration for the registry with id '{call.account_id}' does not exist",
    )


def _check_regions(call: Call, rules: list[dict[str, Any]]) -> None:
    for index, rule in enumerate(rules):
        region = rule["signingProfileArn"].split(":")[3]
        if region != call.region:
            # AWS: "Cross-region signing is not supported"; refusing it here (not at signing time) is UNCONFIRMED [U31].
            raise invalid_parameter(
                f"signingConfiguration.rules.{index + 1}.member.signingProfileArn",
                f"The signing profile must be in the registry's region {call.region}",
            )


@operation("PutSigningConfiguration", "up to 10 rules (model); profiles must be in the registry's region")
def put_signing_configuration(call: Call) -> dict[str, Any]:
    configuration = call.params["signingConfiguration"]
    _check_regions(call, configuration["rules"])
    signing_state(call.ecr).configuration = configuration
    return {"signingConfiguration": configuration}


@operation("GetSigningConfiguration", "SigningConfigurationNotFoundException until one is put")
def get_signing_configuration(call: Call) -> dict[str, Any]:
    configuration = signing_state(call.ecr).configuration
    if configuration is None:
        raise _not_found(call)
    return {"registryId": call.account_id, "signingConfiguration": configuration}


@operation("DeleteSigningConfiguration", "returns what it deleted; existing signatures stay")
def delete_signing_configuration(call: Call) -> dict[str, Any]:
    state = signing_state(call.ecr)
    if state.configuration is None:
        raise _not_found(call)
    deleted, state.configuration = state.configuration, None
    return {"registryId": call.account_id, "signingConfiguration": deleted}


def rule_matches(rule: dict[str, Any], repository: str) -> bool:
    """WILDCARD_MATCH: `*` matches any run of characters (model text); no filters matches every repository."""
    filters = rule.get("repositoryFilters")
    if not filters:
        return True
    return any(fnmatch.fnmatchcase(repository, f["filter"]) for f in filters)


def profiles_for(configuration: dict[str, Any] | None, repository: str) -> list[str]:
    """The distinct signing profiles whose rules match `repository`, in rule order."""
    found: list[str] = []
    for rule in (configuration or {}).get("rules", []):
        if rule_matches(rule, repository) and rule["signingProfileArn"] not in found:
            found.append(rule["signingProfileArn"])
    return found


def _blob(repository: Repository, data: bytes) -> dict[str, Any]:
    """Store `data` as a blob of `repository`; returns its digest and size."""
    store = shared_store()
    upload = store.begin_upload()
    store.append(upload, io.BytesIO(data))
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    size = store.commit(upload, digest)
    repository.layers[digest] = size
    return {"digest": digest, "size": size}


def signature_manifest(repository: Repository, image: Image, profile: str, signer: str) -> str:
    """A Notary Project signature artifact for `image` by `profile` as `signer`, its blobs stored in `repository`."""
    subject = {
        "mediaType": image.image_manifest_media_type,
        "digest": image.get_image_digest(),
        "size": len(image.image_manifest.encode()),
    }
    signed_at = emulator_now().isoformat()
    envelope = json.dumps(
        {"subject": subject, "signingProfileArn": profile, "signedBy": signer, "signedAt": signed_at}, sort_keys=True
    )
    thumbprint = hashlib.sha256(profile.encode()).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": SIGNATURE_TYPE,
        "config": {"mediaType": EMPTY_CONFIG_TYPE, **_blob(repository, EMPTY_CONFIG)},
        "layers": [{"mediaType": ENVELOPE_TYPE, **_blob(repository, envelope.encode())}],
        "subject": subject,
        "annotations": {
            "io.cncf.notary.x509chain.thumbprint#S256": json.dumps([thumbprint]),
            "org.opencontainers.image.created": signed_at,
        },
    }
    return json.dumps(manifest, separators=(",", ":"))


def _sign(backend: ECRBackend, repository: Repository, image: Image, profile: str, pusher: str) -> None:
    """Push the signature (as ECR does, into the image's repository) and mark the profile's status COMPLETE."""
    key = (repository.name, image.get_image_digest())
    status = signing_state(backend).statuses.get(key, {}).get(profile)
    if status is None or status["status"] != "IN_PROGRESS":
        return
    if image not in repository.images or backend.repositories.get(repository.name) is not repository:
        status.update(
            status="FAILED", failureCode="ImageNotFound", failureReason="The image was deleted before it was signed"
        )
        return
    problem = sign_denial(pusher, profile)
    if problem:
        status.update(status="FAILED", failureCode="AccessDenied", failureReason=problem)
        return
    manifest = signature_manifest(repository, image, profile, pusher)
    backend.put_image(repository.name, manifest, None, OCI_MANIFEST, manifest_digest(manifest))  # type: ignore[arg-type]  # moto types the tag str; None pushes untagged
    status["status"] = "COMPLETE"


@observers.on_push
def _sign_on_push(backend: ECRBackend, repository_name: str, image: Image, tag: str | None) -> None:
    if subject_of(image):
        return  # "Signatures cannot be signed": referrers are not signed (UNCONFIRMED [U31] for other artifacts)
    profiles = profiles_for(signing_state(backend).configuration, repository_name)
    if not profiles:
        return
    repository = backend.repositories[repository_name]
    principal = _PUSHER.get()
    pusher = principal() if principal is not None else f"arn:aws:iam::{backend.account_id}:root"
    statuses = signing_state(backend).statuses.setdefault((repository_name, image.get_image_digest()), {})
    for profile in profiles:
        if statuses.get(profile, {}).get("status") in ("IN_PROGRESS", "COMPLETE"):
            continue  # a new tag on a signed image is not signed again (UNCONFIRMED [U31])
        statuses[profile] = {"status": "IN_PROGRESS"}
        background.schedule(partial(_sign, backend, repository, image, profile, pusher), SIGNING_DELAY)


@operation(
    "DescribeImageSigningStatus",
    "one status per matching profile: IN_PROGRESS, then COMPLETE 10 s later on the emulator clock (or settle()); "
    "empty for images no rule matched",
)
def describe_image_signing_status(call: Call) -> dict[str, Any]:
    repository, image = call.image()
    digest = image.get_image_digest()
    statuses = signing_state(call.ecr).statuses.get((repository.name, digest), {})
    image_id = {"imageDigest": digest} | (
        {"imageTag": call.params["imageId"]["imageTag"]} if "imageTag" in call.params["imageId"] else {}
    )
    return {
        "repositoryName": repository.name,
        "imageId": image_id,
        "registryId": repository.registry_id,
        "signingStatuses": [{"signingProfileArn": arn, **status} for arn, status in statuses.items()],
    }
