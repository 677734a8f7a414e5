"""Replication in the emulator: the configuration, copying on push, replicated deletes, statuses and events.

`PutReplicationConfiguration` takes up to 25 rules (moto takes one and never copies). After every push, by either
path, each destination of the matching rules gets one replication, queued on the emulator's background queue
(`background.py`): its status is IN_PROGRESS until `REPLICATION_DELAY` later on the emulator clock, or until
`settle()`. A replication writes through moto's backend exactly as a push does, so the destination's
DescribeImages, `/v2/` and observers see an ordinary image; blobs are only recorded against the destination
repository (the store is content-addressed), never copied. A cached image's layers nobody pulled yet are fetched
into the store before the copy, so the replica holds every byte as on AWS and keeps it whatever becomes of the
source's rule; after a restart, which forgets where unfetched layers come from, through the rule that covers the
cache repository then, as a pull would fetch them. No chaining: what a replication writes is
not replicated again. Images pushed before the configuration stay put until a backfill (`replication_backfill.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from ecrlab.ecr_model import partition_of
from ecrlab.emulator import background, events, observers
from ecrlab.emulator.authorization import denial, root
from ecrlab.emulator.aws_errors import invalid_parameter
from ecrlab.emulator.extension import Call, operation
from ecrlab.emulator.moto_compat import (
    ECRBackend,
    Image,
    ImageNotFoundException,
    Repository,
    ServiceException,
    ecr_backends,
    get_repository,
)
from ecrlab.emulator.state import STATE_LOCK, feature_state, state_of
from ecrlab.emulator.stored_images import blobs_of, children_of, fill_missing_blobs, find_image, parse_manifest
from ecrlab.emulator.templates_operations import TemplateApplicationError, create_repository_from_template
from ecrlab.replication_rules import (
    Destination,
    configuration_problem,
    delete_destinations,
    routes,
    unique_destinations,
)


@feature_state()
@dataclass
class ReplicationState:
    """Per (repository, image digest): each destination's replication status."""

    statuses: dict[tuple[str, str], dict[tuple[str, str], Status]] = field(default_factory=dict)


# AWS: "most images replicate in under 30 minutes"; the emulator takes a fixed, short time on its own clock.
REPLICATION_DELAY = timedelta(seconds=10)
# The model's ReplicationError is a free string and AWS documents no values, so these codes are ecrlab's
# (UNCONFIRMED [U21]), named in the style of the model's ImageFailureCode enum.
ACCESS_DENIED = "ReplicateImageAccessDenied"
REPOSITORY_NOT_FOUND = "RepositoryNotFound"
REPOSITORY_CREATION_FAILED = "RepositoryCreationFailed"


@dataclass(frozen=True)
class Status:
    status: str  # IN_PROGRESS | COMPLETE | FAILED
    failure_code: str | None = None

    def to_api(self, destination: Destination) -> dict[str, str]:
        registry_id, region = destination
        api = {"region": region, "registryId": registry_id, "status": self.status}
        return api | ({"failureCode": self.failure_code} if self.failure_code else {})


def _invalid(rule: str) -> Exception:
    return invalid_parameter("replicationConfiguration", rule)


def _region_problem(rules: list[dict[str, Any]], call: Call) -> str | None:
    """Destinations must be regions of the source's partition (replication does not cross partitions)."""
    known = ecr_backends[call.account_id].regions
    for _, region in unique_destinations(rules):
        if region not in known:
            return f"Replication destination region '{region}' is not a valid region"
        if partition_of(region) != partition_of(call.region):
            return f"Replication destination region '{region}' is in another partition than the source registry"
    return None


@operation(
    "PutReplicationConfiguration",
    "up to 25 rules, 100 destinations and 100 prefix filters per rule (the current model's limits); destination "
    "equal to the source or in another partition rejected; images pushed afterwards really replicate",
    replaces_native=True,
)
def put_replication_configuration(call: Call) -> dict[str, Any]:
    """moto accepts one rule and never replicates; DescribeRegistry (moto's) reads back what is stored here."""
    rules = call.params["replicationConfiguration"]["rules"]
    problem = configuration_problem(rules, call.account_id, call.region)
    # Wording for quota breaches is UNCONFIRMED [U6]; the same-registry sentence is the one AWS (and moto) sends.
    reason = problem.rule if problem else _region_problem(rules, call)
    if reason:
        raise _invalid(reason)
    call.ecr.replication_config = {"rules": rules}
    return {"replicationConfiguration": call.ecr.replication_config}


def alive(backend: ECRBackend) -> bool:
    """False once the emulator was reset: queued work for a forgotten registry is dropped."""
    return dict.get(ecr_backends[backend.account_id], backend.region_name) is backend


def statuses(backend: ECRBackend, repository: str, digest: str) -> dict[Destination, Status]:
    return state_of(backend, ReplicationState).statuses.setdefault((repository, digest), {})


def _put(source: Repository, image: Image, tag: str | None, target: ECRBackend, destination: Repository) -> None:
    """Write `image` (an index's images first) into `destination` through moto, recording blobs, copying none."""
    doc, media_type = parse_manifest(image.image_manifest, image.image_manifest_media_type)
    for child in children_of(doc, media_type):
        child_image = find_image(source, child["digest"])
        if child_image is not None and find_image(destination, child["digest"]) is None:
            _put(source, child_image, None, target, destination)
    for blob in blobs_of(doc, media_type):
        size: int = blob["size"]
        destination.layers.setdefault(blob["digest"], source.layers.get(blob["digest"], size))
    digest = image.get_image_digest()
    existing = find_image(destination, digest)
    if existing is not None and (tag is None or tag in existing.image_tags):
        return
    try:
        target.put_image(destination.name, image.image_manifest, tag, media_type, digest)  # type: ignore[arg-type]  # moto types the tag str; None pushes untagged
    except ServiceException as exc:
        if exc.code != "ImageTagAlreadyExistsException":
            raise
        # The destination's tag is immutable and taken: the image arrives without it (replication page).
        if existing is None:
            target.put_image(destination.name, image.image_manifest, None, media_type, digest)  # type: ignore[arg-type]  # moto types the tag str; None pushes untagged


def _denied(source: ECRBackend, target: ECRBackend, action: str, repository: str) -> bool:
    """Across accounts only the destination's policies decide, for the source account's root (replication.html)."""
    return source.account_id != target.account_id and bool(
        denial(root(source.account_id), target.account_id, target.region_name, action, repository)
    )


def _copy(source: ECRBackend, repository: Repository, image: Image, tag: str | None, target: ECRBackend) -> str | None:
    """Replicate one image into `target`; None on success, else the failure code."""
    name = repository.name
    if _denied(source, target, "ecr:ReplicateImage", name):
        return ACCESS_DENIED
    destination = target.repositories.get(name)
    if destination is None:
        if _denied(source, target, "ecr:CreateRepository", name):
            return REPOSITORY_NOT_FOUND
        try:
            destination = create_repository_from_template(target, name, "REPLICATION")
        except TemplateApplicationError:
            return REPOSITORY_CREATION_FAILED
    assert destination is not None  # REPLICATION always creates one (AWS defaults without a template)
    try:
        _put(repository, image, tag, target, destination)
    except ServiceException as exc:
        return exc.code
    return None


def _event(source: ECRBackend, repository: str, digest: str, tag: str | None, to: Destination, status: Status) -> None:
    """`ECR Replication Action` on the destination's default bus (fields from the ECR EventBridge page)."""
    registry_id, region = to
    detail = {
        "result": "SUCCESS" if status.status == "COMPLETE" else "FAILED",
        "repository-name": repository,
        "image-digest": digest,
        "source-account": source.account_id,
        "action-type": "REPLICATE",
        "source-region": source.region_name,
    }
    if tag:
        detail["image-tag"] = tag
    arn = f"arn:aws:ecr:{region}:{registry_id}:repository/{repository}"
    events.emit(registry_id, region, "ECR Replication Action", detail, [arn])


def replicate(source: ECRBackend, repository: str, digest: str, tag: str | None, to: Destination) -> Status | None:
    """Carry out one replication now: copy, record the status, send the event. None if the image is gone."""
    found = source.repositories.get(repository)
    image = find_image(found, digest) if found is not None else None
    if found is None or image is None:
        state_of(source, ReplicationState).statuses.get((repository, digest), {}).pop(to, None)
        return None
    with STATE_LOCK, observers.replicating():
        failure = _copy(source, found, image, tag, ecr_backends[to[0]][to[1]])
    status = Status("FAILED", failure) if failure else Status("COMPLETE")
    statuses(source, repository, digest)[to] = status
    _event(source, repository, digest, tag, to, status)
    return status


def _replicate_when_due(source: ECRBackend, repository: str, digest: str, tag: str | None, to: Destination) -> None:
    if alive(source):
        replicate(source, repository, digest, tag, to)


@observers.on_push
def replicate_push(backend: ECRBackend, repository: str, image: Image, tag: str | None) -> None:
    """Queue one replication per destination of the rules the repository matches."""
    if observers.is_replicating():
        return
    digest = image.get_image_digest()
    for destination in routes(backend.replication_config["rules"], repository):
        statuses(backend, repository, digest)[destination] = Status("IN_PROGRESS")
        background.schedule(
            partial(_replicate_when_due, backend, repository, digest, tag, destination),
            REPLICATION_DELAY,
            prepare=partial(fill_missing_blobs, image, backend.repositories.get(repository)),
        )


def _delete_when_due(source: ECRBackend, repository: str, digest: str, tag: str | None, to: Destination) -> None:
    """Remove `tag` (or, with no tag, the whole image) in the destination, if it holds that image."""
    target = ecr_backends[to[0]][to[1]]
    # Whether a cross-account delete needs ReplicateImage is UNCONFIRMED [U22]; the same replication service acts.
    if not alive(source) or _denied(source, target, "ecr:ReplicateImage", repository):
        return
    destination = target.repositories.get(repository)
    image = find_image(destination, digest) if destination is not None else None
    if image is None or (tag is not None and tag not in image.image_tags):
        return
    with STATE_LOCK, observers.replicating():
        target.batch_delete_image(repository, None, [{"imageTag": tag} if tag else {"imageDigest": digest}])


@observers.on_delete
def replicate_delete(backend: ECRBackend, repository: str, digest: str, tag: str | None) -> None:
    """With deleteReplication on, a deleted image or a removed tag is deleted or removed in the destinations too."""
    if observers.is_replicating():
        return
    targets = delete_destinations(backend.replication_config["rules"], repository)
    if not targets:
        return
    found = backend.repositories.get(repository)
    kept = found is not None and find_image(found, digest) is not None
    for destination in targets:
        background.schedule(
            partial(_delete_when_due, backend, repository, digest, tag if kept else None, destination),
            REPLICATION_DELAY,
        )


def _image_id_text(image_id: dict[str, str]) -> str:
    return "{" + ", ".join(f"{key}:'{image_id.get(key, 'null')}'" for key in ("imageDigest", "imageTag")) + "}"


@operation(
    "DescribeImageReplicationStatus",
    "IN_PROGRESS from the push until replicated (10 s on the emulator clock, or settle()), then COMPLETE or "
    "FAILED with a failure code (codes UNCONFIRMED [U21])",
)
def describe_image_replication_status(call: Call) -> dict[str, Any]:
    name, image_id = call.params["repositoryName"], call.params["imageId"]
    repository = get_repository(call.ecr, name)
    digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
    image = next(
        (
            i
            for i in repository.images
            if (digest or tag) and digest in (None, i.get_image_digest()) and tag in (None, *i.image_tags)
        ),
        None,
    )
    if image is None:
        raise ImageNotFoundException(_image_id_text(image_id), name, call.account_id)
    digest = image.get_image_digest()
    found = state_of(call.ecr, ReplicationState).statuses.get((name, digest), {})
    return {
        "repositoryName": name,
        "imageId": {"imageDigest": digest, **({"imageTag": tag} if tag else {})},
        "replicationStatuses": [status.to_api(destination) for destination, status in found.items()],
    }
