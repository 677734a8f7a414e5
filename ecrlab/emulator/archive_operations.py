"""Image archiving in the emulator: the ARCHIVE storage class, archived status in listings, refused pulls, restores.

AWS (user guide, "Archiving an image"): an archived image cannot be pulled (404) but is still listed and described
with status ARCHIVED; it comes back by a restore or by pushing it again. `UpdateImageStorageClass` to ARCHIVE
archives at once; to STANDARD it answers ACTIVATING and the image is ACTIVE again `RESTORE_DELAY` later on the
emulator clock (AWS: "within 20 minutes"), or at once on `settle()`. ListImages and DescribeImages return only
ACTIVE images unless their `imageStatus` filter asks for others (model text); DescribeImages by image id returns
the image whatever its status (UNCONFIRMED [U32]). An archive, and a restore when it completes, send `ECR Image
Action` with `action-type UPDATE_STORAGE_CLASS` (EventBridge page; docs/fidelity.md S6).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from ecrlab.ecr_model import validation_message
from ecrlab.emulator import background, events
from ecrlab.emulator.aws_errors import aws_error
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.extension import Call, backend_hook, model_hook, operation
from ecrlab.emulator.moto_compat import ECRBackend, ECRResponse, Image, Repository, request_param
from ecrlab.emulator.stored_images import find_image, manifest_digest

ACTIVE, ARCHIVED, ACTIVATING = "ACTIVE", "ARCHIVED", "ACTIVATING"
RESTORE_DELAY = timedelta(minutes=20)  # "restored within 20 minutes" (user guide); the emulator takes all of it


def status_of(image: Image) -> str:
    """The image's status (ImageStatus): ACTIVE unless it was archived."""
    return getattr(image, "image_status", ACTIVE)


def archive(image: Image) -> None:
    image.image_status = ARCHIVED  # type: ignore[attr-defined]  # the emulator's field on moto's Image
    image.last_archived_at = emulator_now()  # type: ignore[attr-defined]  # the emulator's field on moto's Image


def activate(image: Image) -> None:
    image.image_status = ACTIVE  # type: ignore[attr-defined]  # the emulator's field on moto's Image
    image.last_activated_at = emulator_now()  # type: ignore[attr-defined]  # the emulator's field on moto's Image


def storage_class_event(backend: ECRBackend, repository: Repository, image: Image, target: str) -> None:
    """`ECR Image Action` with `action-type UPDATE_STORAGE_CLASS`, as the EventBridge page documents an archive
    (target ARCHIVE) or a completed restore (target STANDARD, with `last-activated-at`)."""
    detail: dict[str, Any] = {
        "result": "SUCCESS",
        "repository-name": repository.name,
        "image-digest": image.get_image_digest(),
        "action-type": "UPDATE_STORAGE_CLASS",
        "target-storage-class": target,
        "manifest-media-type": image.image_manifest_media_type,
    }
    if image.image_tags:
        detail["image-tag"] = image.image_tags[0]
    if artifact_media_type := getattr(image, "artifact_media_type", None):
        detail["artifact-media-type"] = artifact_media_type
    if target == "STANDARD":
        detail["last-activated-at"] = image.last_activated_at  # type: ignore[attr-defined]  # the emulator's field on moto's Image
    events.emit(backend.account_id, backend.region_name, "ECR Image Action", detail, [])


def _finish_restore(backend: ECRBackend, repository: Repository, image: Image) -> None:
    if image in repository.images and status_of(image) == ACTIVATING:
        activate(image)
        storage_class_event(backend, repository, image, "STANDARD")


def _unsupported(image: Image, target: str) -> Exception:
    # Which transitions AWS refuses, and its wording, are UNCONFIRMED [U32]: the model names only the exception.
    return aws_error(
        "ImageStorageClassUpdateNotSupportedException",
        f"The image with digest '{image.get_image_digest()}' has status {status_of(image)} and cannot be "
        f"transitioned to the {target} storage class",
    )


@operation(
    "UpdateImageStorageClass",
    "ARCHIVE at once; STANDARD answers ACTIVATING, ACTIVE 20 min later on the emulator clock (or settle()); "
    "a transition to the class the image is in, or while ACTIVATING, is ImageStorageClassUpdateNotSupported",
)
def update_image_storage_class(call: Call) -> dict[str, Any]:
    repository, image = call.image()
    target, status = call.params["targetStorageClass"], status_of(image)
    if status == ACTIVATING or (target == "ARCHIVE") == (status == ARCHIVED):
        raise _unsupported(image, target)
    if target == "ARCHIVE":
        archive(image)
        storage_class_event(call.ecr, repository, image, "ARCHIVE")
    else:
        image.image_status = ACTIVATING  # type: ignore[attr-defined]  # the emulator's field on moto's Image
        background.schedule(partial(_finish_restore, call.ecr, repository, image), RESTORE_DELAY)
    image_id = {"imageDigest": image.get_image_digest()}
    if "imageTag" in call.params["imageId"]:
        image_id["imageTag"] = call.params["imageId"]["imageTag"]
    return {
        "registryId": repository.registry_id,
        "repositoryName": repository.name,
        "imageId": image_id,
        "imageStatus": status_of(image),
    }


def _wanted(response: ECRResponse, operation_name: str) -> str:
    """The imageStatus the request's filter asks for (ACTIVE by default); AWS's ValidationException for a bad one."""
    problem = validation_message(operation_name, json.loads(response.body or "{}"))
    if problem:
        raise aws_error("ValidationException", problem)
    return (request_param(response, "filter") or {}).get("imageStatus", ACTIVE)


@model_hook(
    ECRResponse,
    "list_images",
    ("ListImages",),
    "ACTIVE images only unless the imageStatus filter asks for ARCHIVED, ACTIVATING or ANY",
)
def list_images(moto_list: Callable[[], Any], response: ECRResponse) -> Any:
    """ListImages answers ACTIVE images only, unless its filter's imageStatus asks for others (or ANY)."""
    wanted = _wanted(response, "ListImages")
    result = moto_list()
    if wanted == "ANY":
        return result
    repository = response.ecr_backend.repositories[request_param(response, "repositoryName")]
    statuses = {image.get_image_digest(): status_of(image) for image in repository.images}
    ids = result.result["imageIds"]
    ids[:] = [i for i in ids if statuses.get(i["imageDigest"], ACTIVE) == wanted]
    return result


@model_hook(ECRResponse, "describe_images", (), "")
def describe_images(moto_describe: Callable[[], Any], response: ECRResponse) -> Any:
    """DescribeImages without image ids answers ACTIVE images only, unless its filter's imageStatus says otherwise."""
    wanted = _wanted(response, "DescribeImages")
    result = moto_describe()
    details = result.result["imageDetails"]
    for detail in details:
        detail.image_status = status_of(detail)
    if wanted != "ANY" and not request_param(response, "imageIds"):
        details[:] = [detail for detail in details if detail.image_status == wanted]
    return result


@backend_hook("batch_get_image", (), "")
def refuse_archived(moto_get: Callable[..., dict[str, Any]], backend: ECRBackend, *args: Any, **kwargs: Any) -> Any:
    """An archived (or restoring) image cannot be pulled: BatchGetImage reports it as not found, /v2/ answers 404.

    The failure code is UNCONFIRMED [U32] (ImageFailureCode also has ImageInaccessible; the guide says only "404").
    """
    result = moto_get(*args, **kwargs)
    kept = []
    for image in result["images"]:
        if status_of(image) == ACTIVE:
            kept.append(image)
            continue
        result["failures"].append(
            {
                "imageId": {"imageDigest": image.get_image_digest()},
                "failureCode": "ImageNotFound",
                "failureReason": f"Requested image is {status_of(image)} and cannot be pulled",
            }
        )
    result["images"] = kept
    return result


@backend_hook("put_image", (), "")
def restore_on_push(
    moto_put: Callable[..., Image], backend: ECRBackend, repository_name: str, image_manifest: str, *args: Any
) -> Image:
    """Pushing an archived image again restores it at once (user guide: "or by re-pushing the image")."""
    repository = backend.repositories.get(repository_name)
    existing = find_image(repository, manifest_digest(image_manifest)) if repository else None
    if existing is not None and status_of(existing) != ACTIVE:
        activate(existing)
    return moto_put(repository_name, image_manifest, *args)
