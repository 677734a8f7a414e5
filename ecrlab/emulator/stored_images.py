"""Images in the emulator: what a manifest references and weighs, and how pushes and deletes behave.

Both paths — `PutImage`/`BatchDeleteImage` over the API and manifests over `/v2/` — end in moto's
`put_image` and `batch_delete_image`, hooked here so they behave as ECR does: the digest is the sha256 of
the manifest bytes, every referenced blob must be in the repository (`LayersNotFoundException`) and every
referenced manifest too (`ReferencedImagesNotFoundException`), an immutable tag is refused with
`ImageTagAlreadyExistsException` (moto's exclusion filters included), a tag moved to a new image leaves the
old one untagged instead of deleting it, `imageSizeInBytes` is config + layers (for an index the largest of
its manifests), and every push and delete sends an `ECR Image Action` event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecrlab.emulator import blob_fills, events, observers
from ecrlab.emulator.aws_errors import aws_error, invalid_parameter
from ecrlab.emulator.extension import backend_hook, model_hook
from ecrlab.emulator.moto_compat import (
    ECRBackend,
    Image,
    ImageAlreadyExistsException,
    Repository,
    ServiceException,
    get_repository,
    resolve_tag_mutability,
)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})

Descriptor = dict[str, Any]


class ManifestInvalid(ValueError):
    """The manifest is not JSON, not schema 2, or not a media type ECR stores."""


def manifest_digest(manifest: str) -> str:
    return "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()


def parse_manifest(manifest: str, media_type: str | None) -> tuple[dict[str, Any], str]:
    """The manifest document and its media type (the given one, else the document's `mediaType`)."""
    try:
        doc = json.loads(manifest)
    except json.JSONDecodeError as exc:
        raise ManifestInvalid("Invalid JSON syntax") from exc
    if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
        raise ManifestInvalid("only schemaVersion 2 manifests and indexes are supported")
    declared = doc.get("mediaType")
    media_type = media_type or declared
    if not media_type:
        raise ManifestInvalid("image manifest mediatype not provided in manifest or parameter")
    if declared and declared != media_type:
        raise ManifestInvalid(f"the manifest declares mediaType {declared}, not {media_type}")
    if media_type not in INDEX_TYPES | MANIFEST_TYPES:
        raise ManifestInvalid(f"unsupported manifest media type {media_type}")
    descriptors = doc.get("manifests") if media_type in INDEX_TYPES else blobs_of(doc, media_type)
    if not isinstance(descriptors, list) or not all(
        isinstance(d, dict) and isinstance(d.get("digest"), str) and isinstance(d.get("size"), int) for d in descriptors
    ):
        raise ManifestInvalid("every descriptor needs a digest and a size")
    return doc, media_type


def blobs_of(doc: dict[str, Any], media_type: str) -> list[Descriptor]:
    """The config and layers of an image manifest (none for an index).

    A manifest without a config is let through (lessons put hand-written manifests through the API).
    """
    if media_type in INDEX_TYPES:
        return []
    config = [doc["config"]] if "config" in doc else []
    layers = doc.get("layers", [])
    return [*config, *layers] if isinstance(layers, list) else [*config, layers]


def children_of(doc: dict[str, Any], media_type: str) -> list[Descriptor]:
    """The manifests an index lists (none for an image manifest)."""
    return list(doc["manifests"]) if media_type in INDEX_TYPES else []


def find_image(repository: Repository, digest: str) -> Image | None:
    return next((image for image in repository.images if image.get_image_digest() == digest), None)


# Asked about a blob of a repository that the store lacks and nothing expects any more (a restart forgets where a
# cached image's unfetched layers come from), each may expect it again (`blob_fills.expect`). The pull through
# cache registers one (`pull_through_fetch`): images know nothing of caches.
Refetcher = Callable[[Repository, Descriptor], None]
_REFETCHERS: list[Refetcher] = []


def refetch_with(refetcher: Refetcher) -> Refetcher:
    """Register `refetcher` for `fill_missing_blobs` (usable as a decorator)."""
    _REFETCHERS.append(refetcher)
    return refetcher


def fill_missing_blobs(image: Image, repository: Repository | None = None) -> None:
    """Fill the blobs of `image` that the store lacks but knows where to get (a cached image's layers nobody pulled
    yet, `blob_fills`), so the work that reads or copies them finds their bytes: a scan, a replication. Given the
    image's `repository`, an index's images are filled too, and a blob nothing expects since a restart is asked of
    the refetchers. Call it outside the state lock: the source may be this emulator. A blob whose fill fails stays
    missing, for that work to report or record as it is."""
    images = [image]
    while images:
        current = images.pop()
        try:
            doc, media_type = parse_manifest(current.image_manifest, current.image_manifest_media_type)
        except ManifestInvalid:
            continue  # the work itself says why it cannot read the manifest
        for blob in blobs_of(doc, media_type):
            if blob_fills.ensure(blob["digest"]) or repository is None or blob_fills.is_expected(blob["digest"]):
                continue
            for refetch in _REFETCHERS:
                refetch(repository, blob)
            blob_fills.ensure(blob["digest"])
        if repository is not None:
            children = (find_image(repository, child["digest"]) for child in children_of(doc, media_type))
            images += [child for child in children if child is not None]


def _size(doc: dict[str, Any], media_type: str, children: list[Image]) -> int:
    """ECR's imageSizeInBytes: compressed config + layers; an index weighs as its largest manifest."""
    if media_type in INDEX_TYPES:
        return max((child.get_image_size_in_bytes() or 0 for child in children), default=0)
    return sum(descriptor["size"] for descriptor in blobs_of(doc, media_type))


def _check_references(repository: Repository, doc: dict[str, Any], media_type: str) -> list[Image]:
    missing = [d["digest"] for d in blobs_of(doc, media_type) if d["digest"] not in repository.layers]
    if missing:
        raise aws_error(
            "LayersNotFoundException",
            f"Layers {missing} not found in the repository with name '{repository.name}' "
            f"in the registry with id '{repository.registry_id}'",
        )
    children = [(d["digest"], find_image(repository, d["digest"])) for d in children_of(doc, media_type)]
    absent = [digest for digest, image in children if image is None]
    if absent:
        raise aws_error(
            "ReferencedImagesNotFoundException",
            f"The manifest list is referencing images {absent} that do not exist in the repository",
        )
    return [image for _, image in children if image is not None]


def _untag_other_images(repository: Repository, tag: str, digest: str) -> None:
    """On ECR a moved tag leaves its old image untagged; moto would delete that image outright."""
    for image in repository.images:
        if tag in image.image_tags and image.get_image_digest() != digest:
            image.remove_tag(tag)
            if not image.image_tags:
                image.image_tag = None  # type: ignore[assignment]  # moto annotates str; its untagged images hold None


def create_on_push(backend: ECRBackend, name: str) -> Repository | None:
    """The repository a CREATE_ON_PUSH creation template makes for a push to `name`, or None (NAME_UNKNOWN)."""
    from ecrlab.emulator.templates_operations import TemplateApplicationError, create_repository_from_template

    try:
        return create_repository_from_template(backend, name, "CREATE_ON_PUSH")
    except TemplateApplicationError:
        return None


def repository_for_push(backend: ECRBackend, name: str) -> Repository:
    """A push's repository: a missing one exists afterwards only if a CREATE_ON_PUSH template applies (as ECR)."""
    try:
        return get_repository(backend, name)
    except ServiceException:
        created = create_on_push(backend, name)
        if created is None:
            raise
        return created


@backend_hook(
    "put_image",
    ("PutImage",),
    "digest = sha256 of the manifest; referenced layers and manifests must exist; immutable tags refused "
    "with ImageTagAlreadyExistsException; a moved tag leaves the old image untagged; PUSH events",
)
def put_image(
    moto_put_image: Callable[..., Image],
    backend: ECRBackend,
    repository_name: str,
    image_manifest: str,
    image_tag: str | None = None,
    image_manifest_mediatype: str | None = None,
    digest: str | None = None,
) -> Image:
    repository = repository_for_push(backend, repository_name)
    actual = manifest_digest(image_manifest)
    if digest and digest != actual:
        raise invalid_parameter(
            "imageDigest",
            f"The digest {digest} does not match the calculated digest {actual}",
            code="ImageDigestDoesNotMatchException",
        )
    try:
        doc, media_type = parse_manifest(image_manifest, image_manifest_mediatype)
    except ManifestInvalid as exc:
        raise invalid_parameter("ImageManifest", str(exc)) from None
    children = _check_references(repository, doc, media_type)
    existing = find_image(repository, actual)
    if image_tag:
        try:
            resolve_tag_mutability(backend, repository, image_tag)
        except ImageAlreadyExistsException:
            raise aws_error(
                "ImageTagAlreadyExistsException",
                f"The image tag '{image_tag}' already exists in the '{repository_name}' repository and cannot "
                "be overwritten because the tag is immutable.",
            ) from None
        _untag_other_images(repository, image_tag, actual)
    elif existing is not None:
        return existing  # re-pushing a manifest by digest changes nothing
    image = moto_put_image(repository_name, image_manifest, image_tag, media_type, actual)
    image.ecrlab_size = _size(doc, media_type, children)  # type: ignore[attr-defined]  # the emulator's field on moto's Image
    if media_type in MANIFEST_TYPES and isinstance(doc.get("config"), dict):
        image.artifact_media_type = doc["config"].get("mediaType")  # type: ignore[attr-defined]  # the emulator's field on moto's Image
    if not observers.is_replicating():
        events.image_action(backend.account_id, backend.region_name, "PUSH", repository_name, actual, image_tag)
    observers.pushed(backend, repository_name, image, image_tag)
    return image


@model_hook(
    Image,
    "get_image_size_in_bytes",
    ("DescribeImages",),
    "imageSizeInBytes is config + layers, and the largest manifest's for an index, as ECR reports it",
)
def image_size(moto_size: Callable[[], int | None], image: Image) -> int | None:
    """moto counts only the config's size."""
    return getattr(image, "ecrlab_size", None) or moto_size()


@dataclass(frozen=True)
class DeletedImage:
    """An image id in BatchDeleteImage's answer, shaped as moto's own."""

    image_digest: str
    image_tag: str | None = None


@backend_hook("batch_delete_image", ("BatchDeleteImage",), "sends an ECR Image Action DELETE event per image id")
def batch_delete_image(
    moto_delete: Callable[..., dict[str, Any]],
    backend: ECRBackend,
    repository_name: str,
    registry_id: str | None = None,
    image_ids: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    repository = backend.repositories.get(repository_name)
    untagged = [image for image in repository.images if not image.image_tags] if repository else []
    result = moto_delete(repository_name, registry_id, image_ids)
    # moto deletes an untagged image without reporting it; ECR lists it by digest.
    if repository is not None:
        result["imageIds"] += [DeletedImage(i.get_image_digest()) for i in untagged if i not in repository.images]
    for deleted in result["imageIds"]:
        events.image_action(
            backend.account_id,
            backend.region_name,
            "DELETE",
            repository_name,
            deleted.image_digest,
            deleted.image_tag,
        )
        observers.deleted(backend, repository_name, deleted.image_digest, deleted.image_tag)
    return result
