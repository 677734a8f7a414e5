"""Waiting for an image scan to finish, the way AWS users wait, with the same code on AWS and the emulator.

ECR scans in the background: right after a push or StartImageScan, DescribeImageScanFindings answers IN_PROGRESS
(PENDING under ENHANCED) and has no findings yet. boto3's `image_scan_complete` waiter (`aws ecr wait
image-scan-complete`) polls it every 5 s up to 60 times but succeeds only on COMPLETE, so an enhanced scan (ACTIVE)
or an UNSUPPORTED_IMAGE one would keep it polling for 5 minutes. The waiter here takes botocore's delay and attempts
and stops at any status that is not in progress.

On the emulator the lessons' frozen clock never finishes a scan by itself: the work due within the waiter's limit is
settled first, so the waiter's first check finds the scan finished and nothing sleeps.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.waiter import Waiter, WaiterModel, create_waiter_with_client

if TYPE_CHECKING:
    from ecrlab.registry import Registry

UNFINISHED = ("IN_PROGRESS", "PENDING")


def scan_finished_waiter(ecr: Any) -> Waiter:
    """botocore's ImageScanComplete waiter (its delay and attempts) that succeeds on every finished status, and
    when the image has no scan at all (nothing to wait for)."""
    complete = ecr.get_waiter("image_scan_complete").config
    finished = [s for s in ecr.meta.service_model.shape_for("ScanStatus").enum if s not in UNFINISHED]
    acceptors = [
        {"state": "success", "matcher": "path", "argument": "imageScanStatus.status", "expected": status}
        for status in finished
    ]
    acceptors.append({"state": "success", "matcher": "error", "expected": "ScanNotFoundException"})
    config = {
        "operation": "DescribeImageScanFindings",
        "delay": complete.delay,
        "maxAttempts": complete.max_attempts,
        "acceptors": acceptors,
    }
    return create_waiter_with_client(
        "ScanFinished", WaiterModel({"version": 2, "waiters": {"ScanFinished": config}}), ecr
    )


def wait_for_scan(registry: Registry, repository: str, image_id: dict[str, str]) -> None:
    """Return once the image's scan is no longer in progress (or it has none); botocore's WaiterError after the
    waiter's 5 minutes."""
    ecr = registry.client()
    try:
        answer = ecr.describe_image_scan_findings(repositoryName=repository, imageId=image_id, maxResults=1)
    except ecr.exceptions.ScanNotFoundException:
        return
    if answer["imageScanStatus"]["status"] not in UNFINISHED:
        return
    wait_for_running_scan(registry, repository, image_id)


def wait_for_running_scan(registry: Registry, repository: str, image_id: dict[str, str]) -> None:
    """`wait_for_scan` for a caller that has just read the scan in progress (no second look first).

    On the emulator only the work due within the waiter's own limit is settled: what AWS would finish while a client
    waits, not a lifecycle run due tomorrow (reading findings must not expire images)."""
    waiter = scan_finished_waiter(registry.client())
    if registry.emulator is not None:
        registry.emulator.settle(within=timedelta(seconds=waiter.config.delay * waiter.config.max_attempts))
    waiter.wait(repositoryName=repository, imageId=image_id)
