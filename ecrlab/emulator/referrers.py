"""Referrers in the emulator: manifests whose `subject` names another image (signatures, SBOMs, attestations).

OCI image-spec 1.1: a manifest's `subject` descriptor makes it a referrer of that manifest; its artifact type is
its `artifactType`, else its config's media type. `ListImageReferrers` (ECR API) and the referrers API on `/v2/`
(`GET /v2/<name>/referrers/<digest>`, distribution-spec 1.1) both answer from here. A referrer may be pushed before
its subject (the spec allows it). AWS (user guide, "Sign images"): lifecycle removes the referrers of a deleted
subject "within 24 hours"; the emulator removes them `CLEANUP_DELAY` after the delete on the emulator clock (or on
`settle()`). DescribeImages shows a referrer's `subjectManifestDigest` (model).
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

from ecrlab.emulator import background, observers
from ecrlab.emulator.archive_operations import status_of
from ecrlab.emulator.extension import Call, operation
from ecrlab.emulator.moto_compat import ECRBackend, Image, Repository, ServiceException, get_repository
from ecrlab.emulator.paging import by_number, numbered, page
from ecrlab.emulator.stored_images import INDEX_TYPES, OCI_INDEX, find_image

CLEANUP_DELAY = timedelta(hours=24)


def _document(image: Image) -> dict[str, Any]:
    try:
        doc = json.loads(image.image_manifest)
    except json.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


def subject_of(image: Image) -> str | None:
    """The digest of the manifest `image` refers to, or None when it has no subject."""
    subject = _document(image).get("subject")
    digest = subject.get("digest") if isinstance(subject, dict) else None
    return digest if isinstance(digest, str) else None


def artifact_type(image: Image) -> str | None:
    """OCI 1.1: `artifactType`, else the config's media type (an index has no config)."""
    doc = _document(image)
    if isinstance(doc.get("artifactType"), str):
        return doc["artifactType"]
    config = doc.get("config")
    media_type = image.image_manifest_media_type
    return config.get("mediaType") if isinstance(config, dict) and media_type not in INDEX_TYPES else None


def descriptor(image: Image) -> dict[str, Any]:
    """The OCI descriptor of a referrer, as the referrers API lists it."""
    found: dict[str, Any] = {
        "mediaType": image.image_manifest_media_type,
        "digest": image.get_image_digest(),
        "size": len(image.image_manifest.encode()),
    }
    kind = artifact_type(image)
    if kind:
        found["artifactType"] = kind
    annotations = _document(image).get("annotations")
    if isinstance(annotations, dict) and annotations:
        found["annotations"] = annotations
    return found


def referrers_of(repository: Repository, digest: str, artifact_types: list[str] | None = None) -> list[Image]:
    """The repository's referrers of `digest`, oldest push first, of the given artifact types (all when None)."""
    found = [image for image in repository.images if subject_of(image) == digest]
    if artifact_types:
        found = [image for image in found if artifact_type(image) in artifact_types]
    return found


def referrers_index(repository: Repository, digest: str, artifact_type_filter: str | None) -> dict[str, Any]:
    """The image index `GET /v2/<name>/referrers/<digest>` answers (distribution-spec 1.1)."""
    wanted = [artifact_type_filter] if artifact_type_filter else None
    return {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            descriptor(image) for image in referrers_of(repository, digest, wanted) if status_of(image) == "ACTIVE"
        ],
    }


@operation(
    "ListImageReferrers",
    "referrers by subject digest in push order; artifactTypes and artifactStatus filters (ACTIVE by default); "
    "pages of 20 by default, the model's (maxResults 1-50)",
)
def list_image_referrers(call: Call) -> dict[str, Any]:
    repository = call.repository()
    wanted = call.params.get("filter") or {}
    status = wanted.get("artifactStatus", "ACTIVE")
    found = {
        id(image)
        for image in referrers_of(repository, call.params["subjectId"]["imageDigest"], wanted.get("artifactTypes"))
        if status in ("ANY", status_of(image))
    }
    # Paged by the numbers DescribeImages pages the repository's images by, so a token survives pushes meanwhile.
    listed = [entry for entry in numbered(repository, "images", list(repository.images)) if id(entry[1]) in found]
    shown, token = page(listed, call.params, "ListImageReferrers", key=by_number)
    referrers = [descriptor(image) | {"artifactStatus": status_of(image)} for _, image in shown]
    return {"referrers": referrers} | ({"nextToken": token} if token else {})


@observers.on_push
def _note_subject(backend: ECRBackend, repository_name: str, image: Image, tag: str | None) -> None:
    """DescribeImages shows a referrer's subjectManifestDigest."""
    subject = subject_of(image)
    if subject:
        image.subject_manifest_digest = subject  # type: ignore[attr-defined]  # the emulator's field on moto's Image


def _clean_up(backend: ECRBackend, repository_name: str, digest: str) -> None:
    try:
        repository = get_repository(backend, repository_name)
    except ServiceException:
        return
    if find_image(repository, digest) is not None:
        return  # the subject came back (pushed again): its referrers stay
    orphans = referrers_of(repository, digest)
    if orphans:
        backend.batch_delete_image(repository_name, image_ids=[{"imageDigest": i.get_image_digest()} for i in orphans])


@observers.on_delete
def _schedule_clean_up(backend: ECRBackend, repository_name: str, digest: str, tag: str | None) -> None:
    repository = backend.repositories.get(repository_name)
    if repository is not None and find_image(repository, digest) is None and referrers_of(repository, digest):
        background.schedule(partial(_clean_up, backend, repository_name, digest), CLEANUP_DELAY)
