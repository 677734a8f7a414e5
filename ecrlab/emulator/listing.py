"""DescribeRepositories, DescribeImages and ListImages in pages, as AWS answers them (moto answers all in one).

Order is moto's (creation order); each repository and image gets a sequence number the first time it is listed,
in that order, and a page continues after the sequence number in its token. Only the page's items are serialised,
so a page costs about the same whatever the number of repositories or images left out of it.
"""

from __future__ import annotations

import copy
from typing import Any

from ecrlab.emulator.archive_operations import ACTIVE, status_of
from ecrlab.emulator.aws_errors import NOT_WITH_PAGING, invalid_parameter
from ecrlab.emulator.extension import Call, operation
from ecrlab.emulator.moto_compat import Image, Repository
from ecrlab.emulator.paging import by_number, numbered, page


def _not_with(field: str) -> Exception:
    # The model says maxResults and nextToken "cannot be used" with this field; the wording is UNCONFIRMED [U34].
    return invalid_parameter(field, NOT_WITH_PAGING.format(field=field))


def _paged(call: Call) -> bool:
    return "maxResults" in call.params or "nextToken" in call.params


@operation(
    "DescribeRepositories",
    "maxResults/nextToken pages (default 100) in creation order; not with repositoryNames",
    replaces_native=True,
)
def describe_repositories(call: Call) -> dict[str, Any]:
    names = call.params.get("repositoryNames")
    registry_id = call.params.get("registryId")
    if names:
        if _paged(call):
            raise _not_with("repositoryNames")
        return {"repositories": call.ecr.describe_repositories(registry_id, names)}
    repositories = numbered(call.ecr, "repositories", list(call.ecr.repositories.values()))
    if registry_id:
        repositories = [(n, r) for n, r in repositories if r.registry_id == registry_id]
    shown, token = page(repositories, call.params, "DescribeRepositories", key=by_number)
    return {"repositories": [r for _, r in shown]} | ({"nextToken": token} if token else {})


def _tagged(image: Image, tag_status: str) -> bool:
    return tag_status == "ANY" or bool(image.image_tags) == (tag_status == "TAGGED")


def _images(call: Call) -> tuple[Repository, list[tuple[int, Image]]]:
    """The repository's images the filter keeps (tagStatus ANY, imageStatus ACTIVE by default), numbered: filtered
    before paging, so a page holds maxResults of them."""
    repository = call.repository()
    wanted = call.params.get("filter") or {}
    tag_status, image_status = wanted.get("tagStatus", "ANY"), wanted.get("imageStatus", ACTIVE)
    return repository, [
        (n, image)
        for n, image in numbered(repository, "images", list(repository.images))
        if _tagged(image, tag_status) and image_status in ("ANY", status_of(image))
    ]


def _detail(image: Image) -> Image:
    """AWS leaves imageTags out of an untagged image's details (moto's DescribeImages does the same)."""
    shown = copy.copy(image)
    if not shown.image_tags:
        del shown.image_tags
    return shown


@operation(
    "DescribeImages",
    "imageSizeInBytes is config + layers, and the largest manifest's for an index, as ECR reports it; "
    "filter.tagStatus and imageStatus; maxResults/nextToken pages (default 100) in push order; not with imageIds",
    replaces_native=True,
)
def describe_images(call: Call) -> dict[str, Any]:
    image_ids = call.params.get("imageIds")
    if image_ids:
        if _paged(call):
            raise _not_with("imageIds")
        found = call.ecr.describe_images(call.params["repositoryName"], call.params.get("registryId"), image_ids)
        return {"imageDetails": [_detail(image) for image in found]}
    _, images = _images(call)
    shown, token = page(images, call.params, "DescribeImages", key=by_number)
    return {"imageDetails": [_detail(image) for _, image in shown]} | ({"nextToken": token} if token else {})


@operation(
    "ListImages",
    "filter.tagStatus and imageStatus; maxResults/nextToken pages (default 100) in push order, an image's tags sorted",
    replaces_native=True,
)
def list_images(call: Call) -> dict[str, Any]:
    _, images = _images(call)
    # One id per tag (one without a tag for an untagged image), keyed (image number, tag) so a page can end
    # between two tags of one image and a tag moved meanwhile is neither lost nor repeated within that image.
    ids = [(number, tag) for number, image in images for tag in sorted(image.image_tags or [""])]
    digests = {number: image.image_digest for number, image in images}
    shown, token = page(ids, call.params, "ListImages", key=lambda entry: entry)
    image_ids = [{"imageDigest": digests[n]} | ({"imageTag": tag} if tag else {}) for n, tag in shown]
    return {"imageIds": image_ids} | ({"nextToken": token} if token else {})
