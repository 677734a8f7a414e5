"""Waiting for a background scan from the client, as AWS users wait: botocore's ImageScanComplete timing, any
finished status, and on the emulator `settle()` instead of real seconds."""

from __future__ import annotations

import dataclasses
import json

import botocore.waiter
import pytest

from ecrlab import images, scan_results
from ecrlab.scan_waits import scan_finished_waiter, wait_for_scan
from tests.conftest import ROOT

IMAGES = ROOT / "data" / "images"
ON_PUSH = [{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]


def _push_scanned(registry, layout: str, repository: str, scan_type: str = "BASIC") -> str:
    registry.client().put_registry_scanning_configuration(scanType=scan_type, rules=ON_PUSH)
    registry.client().create_repository(repositoryName=repository)
    return images.push(registry, IMAGES / layout, repository)


def _status(registry, repository: str, digest: str) -> str:
    answer = registry.client().describe_image_scan_findings(repositoryName=repository, imageId={"imageDigest": digest})
    return answer["imageScanStatus"]["status"]


def test_the_waiter_keeps_botocores_timing_and_stops_at_every_finished_status(registry):
    """botocore's ImageScanComplete: 5 s apart, 60 checks, success only on COMPLETE. This one keeps the timing and
    succeeds on each ScanStatus that is not in progress (the model's enum), and on a missing scan."""
    ecr = registry.client()
    complete = ecr.get_waiter("image_scan_complete")
    waiter = scan_finished_waiter(ecr)
    assert (waiter.config.delay, waiter.config.max_attempts) == (complete.config.delay, complete.config.max_attempts)
    assert (waiter.config.delay, waiter.config.max_attempts) == (5, 60)
    statuses = ecr.meta.service_model.shape_for("ScanStatus").enum
    accepted = {a.expected for a in waiter.config.acceptors if a.matcher == "path"}
    assert accepted == set(statuses) - {"IN_PROGRESS", "PENDING"}
    assert {"COMPLETE", "ACTIVE", "UNSUPPORTED_IMAGE", "FAILED"} <= accepted


def test_findings_right_after_a_push_wait_for_the_scan_without_sleeping(registry, monkeypatch):
    monkeypatch.setattr(botocore.waiter.time, "sleep", lambda seconds: pytest.fail(f"slept {seconds} s"))
    digest = _push_scanned(registry, "alpine-node", "node")
    assert _status(registry, "node", digest) == "IN_PROGRESS"
    frame = scan_results.findings(registry, "node", tag="18-alpine")
    assert scan_results.severity_counts(frame) == {"CRITICAL": 2, "HIGH": 2, "MEDIUM": 16, "UNDEFINED": 2}


def test_without_the_emulators_knobs_the_waiter_polls_as_on_aws(registry, monkeypatch):
    """A client with no control over the emulator (as against AWS) polls every 5 s: here each sleep moves the
    emulator's clock instead, so the scan finishes on the waiter's second check, and an enhanced scan's ACTIVE ends
    the wait where botocore's own waiter would poll on for 5 minutes."""
    control = registry.emulator
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        control.advance(seconds=seconds)

    monkeypatch.setattr(botocore.waiter.time, "sleep", sleep)
    as_on_aws = dataclasses.replace(registry, emulator=None)
    digest = _push_scanned(registry, "debian-app", "app", scan_type="ENHANCED")
    assert _status(registry, "app", digest) == "PENDING"
    wait_for_scan(as_on_aws, "app", {"imageDigest": digest})
    assert slept == [5] and _status(registry, "app", digest) == "ACTIVE"


def test_an_image_never_scanned_is_not_waited_for(registry, monkeypatch):
    monkeypatch.setattr(botocore.waiter.time, "sleep", lambda seconds: pytest.fail(f"slept {seconds} s"))
    registry.client().create_repository(repositoryName="app")
    digest = images.push(registry, IMAGES / "debian-app", "app")
    wait_for_scan(dataclasses.replace(registry, emulator=None), "app", {"imageDigest": digest})
    with pytest.raises(scan_results.NotScannedError, match="never scanned"):
        scan_results.findings(registry, "app", digest=digest)


def test_findings_read_a_finished_scan_in_one_request_per_page_and_a_running_one_once_more(registry):
    """DescribeImageScanFindings answers the scan's status with its findings (botocore's model): a finished scan
    whose findings fit one page is one request; a running one is that look, the waiter's check, and the read."""
    asked = []
    registry.client().meta.events.register("before-call.ecr.DescribeImageScanFindings", lambda **_: asked.append(1))
    _push_scanned(registry, "alpine-node", "node")
    running = scan_results.findings(registry, "node", tag="18-alpine")
    assert len(asked) == 3
    asked.clear()
    finished = scan_results.findings(registry, "node", tag="18-alpine")
    assert len(finished) == len(running) == 22 and len(asked) == 1


def test_waiting_for_a_scan_runs_no_lifecycle_policy_that_is_not_due(registry):
    """A scan finishes in seconds; a lifecycle policy runs within 24 hours of being set (user guide,
    LifecyclePolicies.html). Waiting for the scan settles only what AWS would finish during the wait, so reading
    findings never expires an image."""
    scanned = _push_scanned(registry, "alpine-node", "team/app")  # its scan on push is in progress
    other = images.push(registry, IMAGES / "scratch-binary", "team/app", "other")
    keep_one = {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}
    policy = {"rules": [{"rulePriority": 1, "selection": keep_one, "action": {"type": "expire"}}]}
    ecr = registry.client()
    ecr.put_lifecycle_policy(repositoryName="team/app", lifecyclePolicyText=json.dumps(policy))
    assert _status(registry, "team/app", scanned) == "IN_PROGRESS"
    wait_for_scan(registry, "team/app", {"imageDigest": scanned})
    assert _status(registry, "team/app", scanned) != "IN_PROGRESS"
    kept = {d["imageDigest"] for d in ecr.describe_images(repositoryName="team/app")["imageDetails"]}
    assert kept == {scanned, other}
    registry.emulator.settle()  # the policy's run brought forward, as a lesson does: it does expire one of them
    assert len(ecr.describe_images(repositoryName="team/app")["imageDetails"]) == 1
