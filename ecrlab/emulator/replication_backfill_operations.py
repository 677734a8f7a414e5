"""Replication backfill in the emulator: replicating what was pushed before the configuration, as a tracked job.

A backfill starts PREPARING; `REPLICATION_DELAY` later on the emulator clock (or on `settle()`) it lists the
replications to do — every image and tag of the repositories whose matching rules name its destination, an
index with its images — and turns IN_PROGRESS; each replication then runs like one triggered by a push, and the
backfill is COMPLETE once all have run (failed ones are counted, not fatal). It is FAILED only when its destination
left the configuration before it started. The emulator copies each image atomically, so a stop never finds a copy
in flight: StopReplicationBackfill answers STOPPED at once (never STOPPING) and the copies not yet made are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ecrlab.emulator import background
from ecrlab.emulator.aws_errors import aws_error, invalid_parameter
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.extension import Call, operation
from ecrlab.emulator.moto_compat import ECRBackend, Image, Repository, new_id
from ecrlab.emulator.paging import page
from ecrlab.emulator.replication_operations import REPLICATION_DELAY, alive, replicate
from ecrlab.emulator.state import feature_state, state_of
from ecrlab.emulator.stored_images import INDEX_TYPES, children_of, fill_missing_blobs, parse_manifest
from ecrlab.replication_rules import Destination, destinations_of, rule_matches, unique_destinations


@feature_state()
@dataclass
class BackfillState:
    """The registry's replication backfills, by id."""

    backfills: dict[str, Backfill] = field(default_factory=dict)


TERMINAL = ("COMPLETE", "FAILED", "STOPPED")
MAX_IN_PROGRESS = 10
RETENTION = timedelta(days=90)
# ecrlab's codes (UNCONFIRMED [U21]: the model's ReplicationBackfillError and ReplicationError are free strings).
DESTINATION_NOT_CONFIGURED = "DestinationNotConfigured"
IMAGE_NOT_FOUND = "ImageNotFound"


@dataclass(frozen=True)
class Result:
    """One replication of a backfill: an image and one of its tags (or the untagged image)."""

    repository: str
    digest: str
    tag: str | None
    status: str  # COMPLETE | FAILED
    failure_code: str | None
    manifest_list: bool

    def to_api(self) -> dict[str, Any]:
        api: dict[str, Any] = {
            "repositoryName": self.repository,
            "imageId": {"imageDigest": self.digest, **({"imageTag": self.tag} if self.tag else {})},
            "status": self.status,
        }
        if self.failure_code:
            api["failureCode"] = self.failure_code
        if self.manifest_list:
            api["subImageFailureCodes"] = []  # an index and its images are copied (or refused) as one
        return api


@dataclass
class Backfill:
    id: str
    destination: Destination
    status: str
    started_at: datetime
    ended_at: datetime | None = None
    failure_code: str | None = None
    total: int | None = None  # None while PREPARING, as `progress` is null then
    results: list[Result] = field(default_factory=list)

    def end(self, status: str, failure_code: str | None = None) -> None:
        self.status, self.failure_code, self.ended_at = status, failure_code, emulator_now()

    def summary(self) -> dict[str, Any]:
        """The fields every backfill operation returns (ReplicationBackfillSummary)."""
        registry_id, region = self.destination
        api: dict[str, Any] = {
            "replicationBackfillId": self.id,
            "destination": {"region": region, "registryId": registry_id},
            "status": self.status,
            "startedAt": self.started_at,
        }
        if self.failure_code:
            api["failureCode"] = self.failure_code
        if self.total is not None:
            failed = [r for r in self.results if r.status == "FAILED"]
            api["progress"] = {
                "totalReplicationCount": self.total,
                "completedReplicationCount": len(self.results) - len(failed),
                "failedReplicationCount": len(failed),
                "failureCodes": sorted({r.failure_code for r in failed if r.failure_code}),
            }
        return api | ({"endedAt": self.ended_at} if self.ended_at else {})


def _backfills(call: Call) -> dict[str, Backfill]:
    return state_of(call.ecr, BackfillState).backfills


def _top_level(repository: Repository) -> list[Image]:
    """The repository's images other than those an index lists (they travel with their index)."""
    listed = {
        child["digest"]
        for image in repository.images
        for child in children_of(*parse_manifest(image.image_manifest, image.image_manifest_media_type))
    }
    return [image for image in repository.images if image.get_image_digest() not in listed]


def _replicate_one(source: ECRBackend, backfill: Backfill, repository: str, image: Image, tag: str | None) -> None:
    if backfill.status != "IN_PROGRESS" or not alive(source):
        return
    digest = image.get_image_digest()
    status = replicate(source, repository, digest, tag, backfill.destination)
    manifest_list = parse_manifest(image.image_manifest, image.image_manifest_media_type)[1] in INDEX_TYPES
    backfill.results.append(
        Result(
            repository,
            digest,
            tag,
            status.status if status else "FAILED",
            status.failure_code if status else IMAGE_NOT_FOUND,
            manifest_list,
        )
    )
    if len(backfill.results) == backfill.total:
        backfill.end("COMPLETE")


def _prepare(source: ECRBackend, backfill: Backfill) -> None:
    """List the replications to do, then queue them."""
    if backfill.status != "PREPARING" or not alive(source):
        return
    rules = [rule for rule in source.replication_config["rules"] if backfill.destination in destinations_of(rule)]
    if not rules:
        backfill.end("FAILED", DESTINATION_NOT_CONFIGURED)
        return
    work = [
        (repository, image, tag)
        for repository in sorted(source.repositories.values(), key=lambda r: r.name)
        if any(rule_matches(rule, repository.name) for rule in rules)
        for image in _top_level(repository)
        for tag in image.image_tags or (None,)  # an untagged image is replicated by digest
    ]
    backfill.total = len(work)
    if not work:
        backfill.end("COMPLETE")
        return
    backfill.status = "IN_PROGRESS"
    for repository, image, tag in work:
        background.schedule(
            partial(_replicate_one, source, backfill, repository.name, image, tag),
            REPLICATION_DELAY,
            prepare=partial(fill_missing_blobs, image, repository),  # a cached image's layers, its index's images'
        )


@operation(
    "StartReplicationBackfill",
    "PREPARING, then IN_PROGRESS, then COMPLETE (10 s steps on the emulator clock, or settle()); one per "
    "destination region and 10 at a time",
)
def start_replication_backfill(call: Call) -> dict[str, Any]:
    wanted = call.params["destination"]
    destination = (wanted["registryId"], wanted["region"])
    if destination not in unique_destinations(call.ecr.replication_config["rules"]):
        # Wording UNCONFIRMED [U6]; the model says the destination must already be in the configuration.
        raise invalid_parameter(
            "destination", "The destination must already be configured in the registry's replication configuration"
        )
    running = [b for b in _backfills(call).values() if b.status not in TERMINAL]
    if any(b.destination[1] == destination[1] for b in running):
        raise aws_error(
            "ReplicationBackfillInProgressException",
            f"A replication backfill is already in progress for the destination Region '{destination[1]}'",
        )
    if len(running) >= MAX_IN_PROGRESS:
        raise aws_error(
            "LimitExceededException",
            f"The maximum number of replication backfills in progress ({MAX_IN_PROGRESS}) has been reached.",
        )
    backfill = Backfill(new_id(), destination, "PREPARING", emulator_now())
    _backfills(call)[backfill.id] = backfill
    background.schedule(partial(_prepare, call.ecr, backfill), REPLICATION_DELAY)
    return _answer(call, backfill)


def _answer(call: Call, backfill: Backfill) -> dict[str, Any]:
    """What Start and Stop return: the backfill's id, destination, status and start."""
    summary = backfill.summary()
    return {"registryId": call.account_id} | {
        key: summary[key] for key in ("replicationBackfillId", "destination", "status", "startedAt")
    }


def _backfill(call: Call) -> Backfill:
    backfill_id = call.params["replicationBackfillId"]
    backfill = _backfills(call).get(backfill_id)
    if backfill is None:
        raise aws_error(
            "ReplicationBackfillNotFoundException",
            f"The replication backfill with id '{backfill_id}' does not exist in the registry with id "
            f"'{call.account_id}'",
        )
    return backfill


@operation(
    "DescribeReplicationBackfillResults",
    "progress null while PREPARING; per-image results (resultStatusFilter, pages) only after a terminal status",
)
def describe_replication_backfill_results(call: Call) -> dict[str, Any]:
    backfill = _backfill(call)
    result = {"registryId": call.account_id, **backfill.summary()}
    if backfill.status not in TERMINAL:
        return result | {"results": []}
    wanted = call.params.get("resultStatusFilter")
    found = [r.to_api() for r in backfill.results if wanted in (None, r.status)]
    found, token = page(found, call.params, "DescribeReplicationBackfillResults")
    return result | {"results": found} | ({"nextToken": token} if token else {})


@operation("ListReplicationBackfills", "newest first; terminal ones kept 90 days on the emulator clock; pages of 25")
def list_replication_backfills(call: Call) -> dict[str, Any]:
    oldest = emulator_now() - RETENTION
    # Keyed by minus the position in start order (backfills are never forgotten, only hidden), so newest first.
    kept = [(-i, b) for i, b in enumerate(_backfills(call).values()) if b.ended_at is None or b.ended_at >= oldest]
    shown, token = page(kept[::-1], call.params, "ListReplicationBackfills", key=lambda entry: entry[0])
    backfills = [b.summary() for _, b in shown]
    return {"registryId": call.account_id, "backfills": backfills} | ({"nextToken": token} if token else {})


@operation("StopReplicationBackfill", "STOPPED at once (copies are atomic here, so never STOPPING); terminal refused")
def stop_replication_backfill(call: Call) -> dict[str, Any]:
    backfill = _backfill(call)
    if backfill.status in TERMINAL:
        raise aws_error(
            "ReplicationBackfillInvalidStatusException",
            f"The replication backfill with id '{backfill.id}' has status {backfill.status} and cannot be stopped",
        )
    backfill.end("STOPPED")
    return _answer(call, backfill)
