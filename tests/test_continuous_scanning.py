"""Enhanced continuous scanning over the API: an advisory published to the emulator's feed after the images were
scanned shows up in the findings of images Amazon Inspector scans continuously, with no scan call, and nowhere
else until a new scan (on-push repositories, basic scanning)."""

from __future__ import annotations

import copy
import json
import urllib.request
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from ecrlab.errors import ValidationError
from ecrlab.registry import EmulatorControl
from tests.scanning_helpers import ecr, push, scan_on_push

# A made-up advisory (the id says so) about a package alpine-node really has: zlib 1.3-r2 on Alpine 3.19.
TEST_ID = "ECRLAB-TEST-0001"
RECORD = {
    "schema_version": "1.6.0",
    "id": TEST_ID,
    "modified": "2025-06-03T12:00:00Z",
    "published": "2025-06-03T12:00:00Z",
    "summary": "zlib: test advisory published by ecrlab's tests",
    "details": "Not a real vulnerability: a stand-in published to the emulator's feed by the test suite.",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "Alpine:v3.19", "name": "zlib"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.3.1-r0"}]}],
        }
    ],
    "references": [{"type": "ADVISORY", "url": "https://example.com/advisories/ECRLAB-TEST-0001"}],
}


def enhanced(registry, repository: str) -> dict:
    found = registry.client().describe_image_scan_findings(repositoryName=repository, imageId={"imageTag": "18-alpine"})
    return found["imageScanFindings"]


def by_id(findings: dict) -> dict[str, dict]:
    return {f["packageVulnerabilityDetails"]["vulnerabilityId"]: f for f in findings["enhancedFindings"]}


@pytest.fixture
def enhanced_registry(registry):
    """ENHANCED: `live` scanned continuously, `pushed` on push only; alpine-node pushed to both."""
    for name in ("live", "pushed"):
        registry.client().create_repository(repositoryName=name)
    scan_on_push(registry, "pushed", scan_type="ENHANCED", continuous=("live",))
    for name in ("live", "pushed"):
        push(registry, "alpine-node", name)
    return registry


def test_a_published_advisory_reaches_continuously_scanned_images_only(enhanced_registry):
    registry = enhanced_registry
    before = {name: enhanced(registry, name) for name in ("live", "pushed")}
    assert TEST_ID not in by_id(before["live"])
    later = registry.emulator.advance(hours=30)

    assert registry.emulator.publish_advisories([RECORD]) == 1  # the continuous repository's one image

    live = enhanced(registry, "live")
    found = by_id(live)
    new = found[TEST_ID]
    assert new["title"] == f"{TEST_ID} - zlib" and new["severity"] == "CRITICAL"
    assert new["packageVulnerabilityDetails"]["vulnerablePackages"][0]["version"] == "1.3"
    assert new["packageVulnerabilityDetails"]["vulnerablePackages"][0]["fixedInVersion"] == "1.3.1-r0"
    assert new["firstObservedAt"] == new["lastObservedAt"] == new["updatedAt"] == later
    for vid, old in by_id(before["live"]).items():  # every earlier finding is still there, first seen as before
        assert found[vid]["firstObservedAt"] == old["firstObservedAt"] == datetime(2025, 6, 2, 9, tzinfo=UTC)
        assert found[vid]["lastObservedAt"] == found[vid]["updatedAt"] == later
    assert len(found) == len(by_id(before["live"])) + 1
    assert live["imageScanCompletedAt"] == later
    assert live["vulnerabilitySourceUpdatedAt"] == datetime(2025, 6, 3, 12, tzinfo=UTC)
    assert live["findingSeverityCounts"]["CRITICAL"] == before["live"]["findingSeverityCounts"]["CRITICAL"] + 1
    assert enhanced(registry, "pushed") == before["pushed"]  # Inspector scans on-push repositories on push only


def test_a_rescan_sends_no_second_initial_scan_event_but_a_finding_event(enhanced_registry):
    registry = enhanced_registry
    sqs, events = registry.client("sqs"), registry.client("events")
    url = sqs.create_queue(QueueName="inspector")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="inspector", EventPattern=json.dumps({"source": ["aws.inspector2"]}))
    events.put_targets(Rule="inspector", Targets=[{"Id": "q", "Arn": arn}])
    registry.emulator.publish_advisories([RECORD])
    assert TEST_ID in by_id(enhanced(registry, "live"))
    # No second `Inspector2 Scan`; the new finding is announced as an `Inspector2 Finding` ("Amazon Inspector sends
    # events to EventBridge ... when an image scan finding is created, updated, or closed": ECR user guide,
    # image-scanning-enhanced-events).
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    sent = [json.loads(m["Body"]) for m in messages]
    assert [e["detail-type"] for e in sent] == ["Inspector2 Finding"] * len(sent) and sent
    assert {e["detail"]["packageVulnerabilityDetails"]["vulnerabilityId"] for e in sent} == {TEST_ID}
    assert {e["detail"]["status"] for e in sent} == {"ACTIVE"}


def test_a_new_push_after_publishing_sees_the_advisory_and_a_frequency_change_stops_rescans(enhanced_registry):
    registry = enhanced_registry
    registry.emulator.publish_advisories([RECORD])
    push(registry, "alpine-node", "later")  # not matched by any rule: not scanned at all
    registry.client().create_repository(repositoryName="pushed-too")
    push(registry, "alpine-node", "pushed-too")  # scanned on push, against the feed as it is now
    assert TEST_ID in by_id(enhanced(registry, "pushed-too"))

    scan_on_push(registry, "pushed", "live", scan_type="ENHANCED")  # `live` is on-push now
    updated = {**RECORD, "modified": "2025-06-04T00:00:00Z", "summary": "zlib: revised test advisory"}
    assert registry.emulator.publish_advisories([updated]) == 0
    assert by_id(enhanced(registry, "live"))[TEST_ID]["description"] == RECORD["details"]


def test_a_revised_record_replaces_the_earlier_revision(enhanced_registry):
    registry = enhanced_registry
    registry.emulator.publish_advisories([RECORD])
    first = by_id(enhanced(registry, "live"))[TEST_ID]
    registry.emulator.advance(days=2)
    revised = copy.deepcopy(RECORD)
    revised["modified"] = "2025-06-05T00:00:00Z"
    revised["affected"][0]["ranges"][0]["events"][1]["fixed"] = "1.3-r2"  # the installed version is fixed after all
    assert registry.emulator.publish_advisories([revised]) == 1
    live = enhanced(registry, "live")
    assert TEST_ID not in by_id(live)
    assert live["vulnerabilitySourceUpdatedAt"] == datetime(2025, 6, 5, tzinfo=UTC)
    revised["affected"][0]["ranges"][0]["events"][1]["fixed"] = "1.3.1-r0"
    registry.emulator.publish_advisories([revised])
    # Back, as a new finding: Inspector closes a finding that no longer applies (UNCONFIRMED for a reopened one).
    assert by_id(enhanced(registry, "live"))[TEST_ID]["firstObservedAt"] > first["firstObservedAt"]


def test_basic_findings_change_only_with_a_new_scan_a_day_later(registry):
    scan_on_push(registry, "*")
    push(registry, "alpine-node", "node")
    before = registry.client().describe_image_scan_findings(repositoryName="node", imageId={"imageTag": "18-alpine"})
    assert registry.emulator.publish_advisories([RECORD]) == 0
    after = registry.client().describe_image_scan_findings(repositoryName="node", imageId={"imageTag": "18-alpine"})
    assert after["imageScanFindings"] == before["imageScanFindings"]
    with pytest.raises(ClientError, match="LimitExceededException"):  # the scan on push was less than 24 h ago
        ecr(registry).start_image_scan(repositoryName="node", imageId={"imageTag": "18-alpine"})

    registry.emulator.advance(hours=25)
    ecr(registry).start_image_scan(repositoryName="node", imageId={"imageTag": "18-alpine"})
    registry.emulator.settle()
    rescanned = registry.client().describe_image_scan_findings(repositoryName="node", imageId={"imageTag": "18-alpine"})
    names = [f["name"] for f in rescanned["imageScanFindings"]["findings"]]
    assert names.count(TEST_ID) == 1 and len(names) == len(before["imageScanFindings"]["findings"]) + 1
    zlib = next(f for f in rescanned["imageScanFindings"]["findings"] if f["name"] == TEST_ID)
    assert {"key": "package_name", "value": "zlib"} in zlib["attributes"] and zlib["severity"] == "CRITICAL"


def test_basic_records_are_not_touched_under_enhanced(registry):
    scan_on_push(registry, "*")
    push(registry, "alpine-node", "node")
    scan_on_push(registry, scan_type="ENHANCED", continuous=("node",))
    registry.emulator.publish_advisories([RECORD])
    assert TEST_ID in by_id(enhanced(registry, "node"))
    scan_on_push(registry, "*")  # back to basic: the basic scan from the push, without the advisory
    findings = registry.client().describe_image_scan_findings(repositoryName="node", imageId={"imageTag": "18-alpine"})
    assert TEST_ID not in {f["name"] for f in findings["imageScanFindings"]["findings"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"affected": [{"package": {"ecosystem": "Alpine:v3.19", "name": "zlib"}, "ranges": "x"}]}, "ranges"),
        ({"modified": "yesterday"}, "records[0].modified"),
        ({"id": None}, "records[0].id"),
        ({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N"}]}, "records[0].severity[0].score"),
        ({"affected": [{"package": {"ecosystem": "Go", "name": "x"}}]}, "records[0].affected"),
    ],
)
def test_a_malformed_record_is_refused_naming_its_field(registry, change, field):
    scan_on_push(registry, scan_type="ENHANCED", continuous=("node",))
    push(registry, "alpine-node", "node")
    with pytest.raises(ValidationError) as refused:
        registry.emulator.publish_advisories([RECORD, {**RECORD, "id": "ECRLAB-TEST-0002", **change}])
    assert refused.value.field.replace("records[1]", "records[0]").endswith(field)
    assert TEST_ID not in by_id(enhanced(registry, "node"))  # nothing of the batch was published


def test_an_unparsable_version_names_the_event():
    from ecrlab.emulator.scanning_operations import publish_advisories

    broken = copy.deepcopy(RECORD)
    broken["affected"][0]["ranges"][0]["events"][1]["fixed"] = "1.3.1-r0!"
    with pytest.raises(ValidationError) as refused:
        publish_advisories([broken])
    assert refused.value.field == "records[0].affected[0].ranges[0].events[1].fixed"


def test_the_control_endpoint_over_http_from_a_separate_server(server):
    control = EmulatorControl(server)
    request = urllib.request.Request(
        f"{server}/_ecrlab/advisories", data=json.dumps([{"id": "x"}]).encode(), method="POST", headers=control.headers
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
    body = json.loads(refused.value.read())
    assert body["field"] == "records[0].modified" and "modified" in body["message"]
    assert control.publish_advisories([RECORD]) == 0  # nothing is scanned in a new registry
    with pytest.raises(ValidationError, match="records"):
        control.publish_advisories({"id": TEST_ID})  # type: ignore[arg-type]  # a record, not a list


def test_continuous_scanning_skips_archived_images(enhanced_registry):
    registry = enhanced_registry
    registry.client().update_image_storage_class(
        repositoryName="live", imageId={"imageTag": "18-alpine"}, targetStorageClass="ARCHIVE"
    )
    registry.emulator.advance(hours=30)
    assert registry.emulator.publish_advisories([RECORD]) == 0  # "Archived images cannot be scanned" (user guide)
