"""DescribeRepositories, DescribeImages and ListImages in pages, as AWS answers them (moto answers all in one).

Order is moto's (creation order); each repository and image gets a sequence number the first time it is listed,
in that order, and a page continues after the sequence number in its token. Only the page's items are serialised,
so a page costs about the same whatever the number of repositories or images left out of it.
"""

from __future__ import annotations

import copy
import itertools
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from moto.ecr.models import Image, Repository

from ecrlab.emulator.extension import Call, aws_error, operation
from ecrlab.emulator.paging import page

_SEQUENCE = itertools.count(1)  # from 1: a number is never falsy


@dataclass
class _Numbering:
    """A collection as last listed, and its items with their sequence numbers in ascending order."""

    listed: list[Any]
    numbered: list[tuple[int, Any]]


# Per owner of a collection (a backend's repositories, a repository's images); weak, so reset forgets them.
_NUMBERINGS: weakref.WeakKeyDictionary[object, _Numbering] = weakref.WeakKeyDictionary()
_NUMBERING_LOCK = threading.Lock()


def _in_creation_order(owner: object, items: list[Any]) -> list[tuple[int, Any]]:
    """`items` (all of `owner`'s, in moto's order) with their sequence numbers, ascending.

    Unchanged since the last listing, the answer is the last one (one identity comparison per item, in C);
    otherwise items seen before keep their numbers and new ones are numbered as they appear.
    """
    with _NUMBERING_LOCK:
        known = _NUMBERINGS.get(owner)
        if known is not None and known.listed == items:
            return known.numbered
        # `known.listed` keeps its items alive here, so an id in `numbers` cannot belong to a new item.
        numbers = {id(item): number for number, item in known.numbered} if known else {}
        numbered = [(numbers.get(id(item)) or next(_SEQUENCE), item) for item in items]
        numbered.sort(key=_first)  # already sorted unless moto reordered; timsort makes that check linear
        _NUMBERINGS[owner] = _Numbering(items, numbered)
        return numbered


def _first(entry: tuple[Any, ...]) -> Any:
    return entry[0]


def _not_with(field: str) -> Exception:
    # The model says maxResults and nextToken "cannot be used" with this field; the wording is UNCONFIRMED.
    return aws_error(
        "InvalidParameterException",
        f"Invalid parameter at '{field}' failed to satisfy constraint: "
        f"'{field} cannot be used together with maxResults or nextToken'",
    )


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
        return {"repositories": call.ecr.describe_repositories(registry_id, names), "failures": []}
    repositories = _in_creation_order(call.ecr, list(call.ecr.repositories.values()))
    if registry_id:
        repositories = [(n, r) for n, r in repositories if r.registry_id == registry_id]
    shown, token = page(repositories, call.params, "DescribeRepositories", key=_first)
    return {"repositories": [r for _, r in shown]} | ({"nextToken": token} if token else {})


def _tagged(image: Image, tag_status: str) -> bool:
    return tag_status == "ANY" or bool(image.image_tags) == (tag_status == "TAGGED")


def _images(call: Call) -> tuple[Repository, list[tuple[int, Image]]]:
    repository = call.ecr._get_repository(call.params["repositoryName"], call.params.get("registryId"))
    tag_status = (call.params.get("filter") or {}).get("tagStatus", "ANY")
    images = _in_creation_order(repository, list(repository.images))
    return repository, images if tag_status == "ANY" else [(n, i) for n, i in images if _tagged(i, tag_status)]


def _detail(image: Image) -> Image:
    """AWS leaves imageTags out of an untagged image's details (moto's DescribeImages does the same)."""
    shown = copy.copy(image)
    if not shown.image_tags:
        del shown.image_tags
    return shown


@operation(
    "DescribeImages",
    "imageSizeInBytes is config + layers, and the largest manifest's for an index, as ECR reports it; "
    "filter.tagStatus; maxResults/nextToken pages (default 100) in push order; not with imageIds",
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
    shown, token = page(images, call.params, "DescribeImages", key=_first)
    return {"imageDetails": [_detail(image) for _, image in shown]} | ({"nextToken": token} if token else {})


@operation(
    "ListImages",
    "filter.tagStatus; maxResults/nextToken pages (default 100) in push order, an image's tags sorted",
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
