"""Image scans in the emulator: scan on push, StartImageScan, DescribeImageScanFindings and their events.

A scan runs as AWS runs it, in the background: the call that starts it (a push, StartImageScan, turning ENHANCED
on) records it IN_PROGRESS (PENDING under ENHANCED) and queues it on the emulator's background queue
(`background.py`); `SCAN_DELAY` later on the emulator clock, or at once on `settle()`, it reads the image's layers,
records COMPLETE, UNSUPPORTED_IMAGE or FAILED (ACTIVE under ENHANCED) with its findings, and sends its
`ECR Image Scan` (BASIC) or `Inspector2 Scan` (ENHANCED) event. Until then DescribeImageScanFindings answers the
in-progress status without findings. Under the frozen workshop clock a scan waits for the lesson to settle it, so
every run shows the same thing; with a running clock (`ecrlab emulator serve`) `aws ecr wait image-scan-complete`
sees it COMPLETE on its second check.

Scans are kept per image and per scan type, on moto's image (they go when it goes): switching the registry
between BASIC and ENHANCED hides the other type's scans and switching back shows them again, as AWS documents.
A basic scan, manual or on push, is allowed once per image per rolling 24 hours on the emulator clock. An image
index is not scanned itself: each of its image manifests is an image of its own, scanned as it is pushed
(StartImageScan on the index raises UnsupportedImageTypeException; UNCONFIRMED [U17]).

Continuous scanning: when advisories are published to the feed (`publish_advisories`, the emulator's stand-in for
a feed update), Amazon Inspector rescans at once every image it scans continuously and replaces its findings,
keeping when each one was first observed. Images in SCAN_ON_PUSH repositories keep their findings (Inspector scans
those on push only), and basic scans never change by themselves: only a new scan shows what the feed learned.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from ecrlab.emulator import background, event_targets, events, observers, stored_images  # noqa: F401 (event_targets)
from ecrlab.emulator.archive_operations import ACTIVE, status_of
from ecrlab.emulator.aws_errors import aws_error
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.extension import Call, operation
from ecrlab.emulator.moto_compat import (
    ECRBackend,
    Image,
    Repository,
    ScanNotFoundException,
    ecr_backends,
    find_image,
)
from ecrlab.emulator.paging import page
from ecrlab.emulator.replication_operations import alive
from ecrlab.emulator.scan_findings import ImageContext, basic_scan_findings, enhanced_scan_findings, first_observed
from ecrlab.emulator.scanner import feed, is_index, publish, scan_image
from ecrlab.emulator.state import feature_state, state_of
from ecrlab.emulator.stored_images import fill_missing_blobs
from ecrlab.scan_rules import RepositoryScanning, resolve


@feature_state()
@dataclass
class ScanningConfigurationState:
    """PutRegistryScanningConfiguration as put (scanType + rules); a new registry scans BASIC without rules."""

    configuration: dict[str, Any] = field(default_factory=lambda: {"scanType": "BASIC", "rules": []})


SCAN_INTERVAL = timedelta(hours=24)  # "Rate of image scans: 1" per image per 24 hours, on-push scans included
QUOTA_MESSAGE = "The scan quota per image has been exceeded. Wait and try again."
# The API reference's enhanced example says "Continuous scan is selected for image."; the on-push wording is
# UNCONFIRMED [U6].
ENHANCED_DESCRIPTIONS = {
    "CONTINUOUS_SCAN": "Continuous scan is selected for image.",
    "SCAN_ON_PUSH": "Scan on push is selected for image.",
}
# How long a scan takes on the emulator clock: one interval of botocore's ImageScanComplete waiter (5 s), so
# `aws ecr wait image-scan-complete` finds it COMPLETE on its second check. AWS's duration is UNCONFIRMED [U40].
SCAN_DELAY = timedelta(seconds=5)
# A scan not finished yet: IN_PROGRESS is in the basic statuses; PENDING, among the enhanced ones (ScanStatus), is
# UNCONFIRMED [U40] as what Amazon Inspector shows before its first scan of an image completes.
STARTED = {"BASIC": "IN_PROGRESS", "ENHANCED": "PENDING"}
SCAN_LOCK = threading.RLock()  # one scan decision at a time: the 24-hour check and the record it makes


@dataclass(frozen=True)
class ScanRecord:
    """One scan of one image: when it started, its status, and `imageScanFindings` with every finding once done."""

    scan_type: str
    started_at: datetime
    status: str
    description: str
    findings: dict[str, Any] | None


def scan_records(image: Image) -> dict[str, ScanRecord]:
    """The image's scans by scan type, kept on moto's image so they live exactly as long as it does."""
    records = getattr(image, "ecrlab_scans", None)
    if records is None:
        records = image.ecrlab_scans = {}  # type: ignore[attr-defined]  # the emulator's field on moto's Image
    return records


def scan_type(backend: ECRBackend) -> str:
    return state_of(backend, ScanningConfigurationState).configuration.get("scanType") or "BASIC"


def repository_arn(backend: ECRBackend, repository_name: str) -> str:
    return f"arn:aws:ecr:{backend.region_name}:{backend.account_id}:repository/{repository_name}"


def repository_scanning(backend: ECRBackend, repository_name: str) -> RepositoryScanning:
    """How one existing repository is scanned now: the registry's rules, and its deprecated scanOnPush."""
    repository = backend.repositories[repository_name]
    return resolve(
        state_of(backend, ScanningConfigurationState).configuration,
        repository_name,
        repository_scan_on_push=bool((repository.image_scanning_configuration or {}).get("scanOnPush")),  # type: ignore[union-attr]  # moto annotates it str too; it holds the dict
    )


def in_progress(record: ScanRecord) -> bool:
    return record.status == STARTED[record.scan_type]


def start_scan(backend: ECRBackend, repository_name: str, image: Image, kind: str, frequency: str) -> ScanRecord:
    """Record a scan of `image` as `kind` (BASIC or ENHANCED) started now, and queue it to finish `SCAN_DELAY`
    later on the emulator clock (or on `settle()`)."""
    record = ScanRecord(kind, emulator_now(), STARTED[kind], "", None)
    scan_records(image)[kind] = record
    finish = partial(_finish_when_due, backend, repository_name, image.get_image_digest(), kind, frequency)
    prepare = partial(fill_missing_blobs, image, backend.repositories.get(repository_name))
    background.schedule(finish, SCAN_DELAY, prepare=prepare)
    return record


def _finish_when_due(backend: ECRBackend, repository_name: str, digest: str, kind: str, frequency: str) -> None:
    """Scan, record the result and announce it on EventBridge; nothing if the image or the registry is gone."""
    repository = backend.repositories.get(repository_name) if alive(backend) else None
    image = stored_images.find_image(repository, digest) if repository is not None else None
    with SCAN_LOCK:
        started = scan_records(image).get(kind) if image is not None else None
        if image is None or started is None or not in_progress(started):
            return
        # Only enhanced findings carry over (their first-observed times), and an enhanced scan is started only where
        # the image has none: nothing to carry over here, and no finding of an earlier scan to close.
        record = replace(_scan_now(backend, repository_name, image, kind, frequency), started_at=started.started_at)
        scan_records(image)[kind] = record
    _announce(backend, repository_name, image, record)
    _announce_findings(backend, None, record)


def _scan_now(
    backend: ECRBackend,
    repository_name: str,
    image: Image,
    kind: str,
    frequency: str,
    previous: ScanRecord | None = None,
) -> ScanRecord:
    """Scan and record, without events; `previous`: the enhanced scan a rescan replaces (its first-observed times)."""
    now = emulator_now()
    result = scan_image(image)
    status, description, findings = result.status, result.description, None
    if result.status == "COMPLETE" and result.os is not None:
        updated = feed.db().updated_at
        matches = result.matches_for(kind)
        if kind == "BASIC":
            findings = basic_scan_findings(matches, completed_at=now, source_updated_at=updated)
        else:
            context = ImageContext(
                backend.account_id,
                backend.region_name,
                repository_name,
                image.get_image_digest(),
                result.os,
                tuple(image.image_tags),
                datetime.fromtimestamp(image.image_pushed_at, UTC),
                result.architecture,
            )
            findings = enhanced_scan_findings(
                matches,
                context,
                completed_at=now,
                source_updated_at=updated,
                first_observed_at=now,
                observed_before=first_observed(previous.findings) if previous else None,
            )
            status, description = "ACTIVE", ENHANCED_DESCRIPTIONS[frequency]
    record = ScanRecord(kind, now, status, description, findings)
    scan_records(image)[kind] = record
    return record


def publish_advisories(records: list[dict[str, Any]]) -> int:
    """Add OSV records to the feed, then rescan what Amazon Inspector scans continuously; returns how many images.

    Every registry (account and region) under ENHANCED scanning is visited: each image with an enhanced scan in a
    repository whose frequency is now CONTINUOUS_SCAN gets a new one. No `Inspector2 Scan` event: that one reports
    the initial scan only; each new finding gets an `Inspector2 Finding` event, each dropped one a CLOSED one.
    UNCONFIRMED [U12]: how soon after a feed update Inspector rescans (the emulator: at once), and what ECR lists for a
    finding that no longer applies (Inspector closes it; the emulator drops it, and a reopened one is new).
    """
    rescanned = 0
    with SCAN_LOCK:
        publish(records)
        for regions in list(dict.values(ecr_backends)):
            for backend in list(dict.values(regions)):
                if scan_type(backend) != "ENHANCED":
                    continue
                for name in sorted(backend.repositories):
                    if repository_scanning(backend, name).scan_frequency != "CONTINUOUS_SCAN":
                        continue
                    for image in list(backend.repositories[name].images):
                        previous = scan_records(image).get("ENHANCED")
                        # "Archived images cannot be scanned" (user guide, image-scanning.html).
                        # One still in progress finishes against the updated feed anyway.
                        if previous is not None and not in_progress(previous) and status_of(image) == ACTIVE:
                            record = _scan_now(backend, name, image, "ENHANCED", "CONTINUOUS_SCAN", previous)
                            _announce_findings(backend, previous, record)
                            rescanned += 1
    return rescanned


def _announce(backend: ECRBackend, repository_name: str, image: Image, record: ScanRecord) -> None:
    """`ECR Image Scan` for a basic scan; Amazon Inspector's `Inspector2 Scan` for the first enhanced one."""
    arn = repository_arn(backend, repository_name)
    counts = dict(record.findings["findingSeverityCounts"]) if record.findings else {}
    digest, tags = image.get_image_digest(), list(image.image_tags)
    if record.scan_type == "BASIC":
        # Documented for a COMPLETE scan; other outcomes sending it with their status is UNCONFIRMED [U19].
        detail = {
            "scan-status": record.status,
            "repository-name": repository_name,
            "finding-severity-counts": counts,
            "image-digest": digest,
            "image-tags": tags,
        }
        events.emit(backend.account_id, backend.region_name, "ECR Image Scan", detail, [arn])
    elif record.status == "ACTIVE":
        detail = {
            "scan-status": "INITIAL_SCAN_COMPLETE",
            "repository-name": arn,  # Inspector names the repository by its ARN
            "finding-severity-counts": {**counts, "TOTAL": sum(counts.values())},
            "image-digest": digest,
            "image-tags": tags,
        }
        events.emit(backend.account_id, backend.region_name, "Inspector2 Scan", detail, [arn], source="aws.inspector2")


def _announce_findings(backend: ECRBackend, previous: ScanRecord | None, record: ScanRecord) -> None:
    """Amazon Inspector's `Inspector2 Finding` for each enhanced finding a scan created, and CLOSED for each it no
    longer reports (image-scanning-enhanced-events: "when an image scan finding is created, updated, or closed").
    A finding that is still there is not announced again (UNCONFIRMED [U20]: Inspector may send an update)."""
    if record.scan_type != "ENHANCED":
        return
    before = {f["findingArn"]: f for f in ((previous.findings if previous else None) or {}).get("enhancedFindings", ())}
    now = {f["findingArn"]: f for f in (record.findings or {}).get("enhancedFindings", ())}
    for arn, finding in now.items():
        if arn not in before:
            events.inspector_finding(backend.account_id, backend.region_name, finding)
    for arn, finding in before.items():
        if arn not in now:
            events.inspector_finding(backend.account_id, backend.region_name, finding, status="CLOSED")


@observers.on_push
def scan_on_push(backend: ECRBackend, repository_name: str, image: Image, tag: str | None) -> None:
    """Scan a pushed image when the registry's rules (or the repository's deprecated scanOnPush) say so."""
    if repository_name not in backend.repositories or is_index(image):
        return
    decision = repository_scanning(backend, repository_name)
    if not decision.scanned_on_push:
        return
    kind = decision.scan_type
    with SCAN_LOCK:
        previous = scan_records(image).get(kind)
        # Re-pushing a manifest (a new tag) is not a new image: no second scan inside the 24-hour window.
        if previous is not None and (kind == "ENHANCED" or emulator_now() - previous.started_at < SCAN_INTERVAL):
            return
        start_scan(backend, repository_name, image, kind, decision.scan_frequency)


def _target(call: Call) -> tuple[Repository, Image]:
    repository = call.repository()
    image_id = call.params["imageId"]
    return repository, find_image(repository, image_id.get("imageTag"), image_id.get("imageDigest"))


def _image_id(call: Call, image: Image) -> dict[str, str]:
    tag = call.params["imageId"].get("imageTag") or image.image_tag
    image_id = {"imageDigest": image.get_image_digest()}
    if tag:
        image_id["imageTag"] = tag
    return image_id


@operation(
    "StartImageScan",
    "a real basic scan of the image's layers against the feed, IN_PROGRESS until it finishes 5 s later on the "
    "emulator clock (or on settle()); once per image per rolling 24 h on the emulator "
    "clock (on-push scans included); unknown OS: UNSUPPORTED_IMAGE; an index: UnsupportedImageTypeException; an "
    "archived image: ImageArchivedException",
    replaces_native=True,
)
def start_image_scan(call: Call) -> dict[str, Any]:
    repository, image = _target(call)
    backend = call.ecr
    if scan_type(backend) == "ENHANCED":
        # The error AWS returns for a manual scan under ENHANCED is UNCONFIRMED [U16].
        raise aws_error(
            "ValidationException",
            "StartImageScan starts basic scans; this registry uses ENHANCED scanning, where Amazon Inspector scans "
            "images on push or continuously as its rules say.",
        )
    if status_of(image) != ACTIVE:
        # "Archived images cannot be scanned" (user guide, image-scanning.html); the message is the model's text for
        # ImageArchivedException. That an ACTIVATING image is refused the same way is UNCONFIRMED [U32].
        raise aws_error("ImageArchivedException", "The specified image is archived and cannot be scanned.")
    if is_index(image):
        raise aws_error(
            "UnsupportedImageTypeException",
            "An image index is not scanned itself: start a scan of each image manifest it lists, by digest.",
        )
    with SCAN_LOCK:
        previous = scan_records(image).get("BASIC")
        if previous is not None and emulator_now() - previous.started_at < SCAN_INTERVAL:
            raise aws_error("LimitExceededException", QUOTA_MESSAGE)
        start_scan(backend, repository.name, image, "BASIC", "MANUAL")
    return {
        "registryId": repository.registry_id,
        "repositoryName": repository.name,
        "imageId": _image_id(call, image),
        "imageScanStatus": {"status": "IN_PROGRESS"},
    }


@operation(
    "DescribeImageScanFindings",
    "the image's real findings: basic `findings[]`, or Inspector's `enhancedFindings[]` under ENHANCED; "
    "paged by maxResults/nextToken; the in-progress status without findings until the scan finishes; "
    "ScanNotFoundException until scanned",
    replaces_native=True,
)
def describe_image_scan_findings(call: Call) -> dict[str, Any]:
    repository, image = _target(call)
    kind = scan_type(call.ecr)
    record = scan_records(image).get(kind)
    if record is None:
        asked = call.params["imageId"]
        digest, tag = asked.get("imageDigest") or "null", asked.get("imageTag") or "null"
        shown = f"{{imageDigest:'{digest}', imageTag:'{tag}'}}"
        raise ScanNotFoundException(shown, repository.name, repository.registry_id)
    response: dict[str, Any] = {
        "registryId": repository.registry_id,
        "repositoryName": repository.name,
        "imageId": _image_id(call, image),
        "imageScanStatus": {
            "status": record.status,
            **({"description": record.description} if record.description else {}),
        },
    }
    if record.findings is not None:
        key = "findings" if kind == "BASIC" else "enhancedFindings"
        items, token = page(record.findings[key], call.params, "DescribeImageScanFindings")
        response["imageScanFindings"] = {**record.findings, key: items}
        if token:
            response["nextToken"] = token
    return response
