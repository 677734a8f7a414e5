"""Scanning in the emulator over the API: configuration semantics and limits, scans on push by both paths, the rolling
24-hour limit, real findings for every sample image (data/vulndb/README.md), enhanced shapes, paging and events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from ecrlab import images
from ecrlab.ecr_model import constraint_violations, operation
from ecrlab.oci_layout import read_blob, read_layout
from ecrlab.scan_rules import filter_matches
from tests.findings_helpers import check_findings_shape
from tests.sample_image_helpers import TAGS
from tests.scanning_helpers import IMAGES, ecr, push, scan_on_push, wildcard

ALL = [{"filter": "*", "filterType": "WILDCARD"}]
ALPINE_COUNTS = {"CRITICAL": 2, "HIGH": 2, "MEDIUM": 16, "UNDEFINED": 2}


def describe(registry, repository: str, **image_id: str) -> dict:
    return registry.client().describe_image_scan_findings(repositoryName=repository, imageId=image_id)


def frequencies(registry, *names: str) -> dict[str, str]:
    found = registry.client().batch_get_repository_scanning_configuration(repositoryNames=list(names))
    return {c["repositoryName"]: c["scanFrequency"] for c in found["scanningConfigurations"]}


# --- configuration -----------------------------------------------------------------------------------------


def test_a_new_registry_scans_basic_without_rules_and_images_are_not_scanned(registry):
    got = registry.client().get_registry_scanning_configuration()
    assert got["registryId"] == "123456789012"
    assert got["scanningConfiguration"] == {"scanType": "BASIC", "rules": []}
    push(registry, "alpine-node", "node")
    with pytest.raises(ClientError) as caught:
        describe(registry, "node", imageTag="18-alpine")
    assert caught.value.response["Error"]["Code"] == "ScanNotFoundException"
    assert "Image scan does not exist for the image with '{imageDigest:'null', imageTag:'18-alpine'}'" in str(
        caught.value
    )
    assert frequencies(registry, "node") == {"node": "MANUAL"}


def test_at_most_two_rules_and_only_the_frequencies_a_scan_type_takes(registry):
    client = registry.client()
    rule = {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": ALL}
    with pytest.raises(ClientError) as caught:
        client.put_registry_scanning_configuration(scanType="ENHANCED", rules=[rule] * 3)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "length less than or equal to 2" in str(caught.value)
    for scan_type, frequency in (("BASIC", "CONTINUOUS_SCAN"), ("BASIC", "MANUAL"), ("ENHANCED", "MANUAL")):
        with pytest.raises(ClientError) as caught:
            client.put_registry_scanning_configuration(
                scanType=scan_type, rules=[{"scanFrequency": frequency, "repositoryFilters": ALL}]
            )
        assert caught.value.response["Error"]["Code"] == "InvalidParameterException", (scan_type, frequency)
    assert client.get_registry_scanning_configuration()["scanningConfiguration"]["rules"] == []


def test_a_near_miss_filter_is_refused_at_once(registry):
    """The model's filter pattern backtracks exponentially in `re` on this near miss; the emulator answers, at once
    and without retries (no clock here: a regression shows as a hang, not a flaky threshold)."""
    with pytest.raises(ClientError) as caught:
        scan_on_push(registry, "a" * 40 + "!")
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "repositoryFilters.1.member.filter" in str(caught.value)


DOCUMENTED = [  # docs/fidelity.md S5, from the ECR user guide
    ("prod", {"prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"}),
    ("*prod", {"prod", "repo-prod"}),
    ("prod*", {"prod", "prod-repo", "prodrepo"}),
    ("*prod*", {"prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"}),
    ("prod*repo", {"prod-repo", "prodrepo"}),
]
NAMES = ("prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo")


@pytest.mark.parametrize(("pattern", "matched"), DOCUMENTED, ids=[p for p, _ in DOCUMENTED])
def test_the_documented_wildcard_table(registry, pattern, matched):
    assert {name for name in NAMES if filter_matches(pattern, name)} == matched
    for name in NAMES:
        registry.client().create_repository(repositoryName=name)
    scan_on_push(registry, pattern)
    found = registry.client().batch_get_repository_scanning_configuration(repositoryNames=list(NAMES))
    on_push = {c["repositoryName"] for c in found["scanningConfigurations"] if c["scanOnPush"]}
    assert on_push == matched
    applied = {c["repositoryName"]: c["appliedScanFilters"] for c in found["scanningConfigurations"]}
    assert all(applied[name] == [wildcard(pattern)] for name in matched)


def test_wildcards_do_not_backtrack_and_dots_are_literal():
    assert not filter_matches("*a" * 60 + "*b", "a" * 255)  # exponential for a backtracking matcher: a hang
    assert filter_matches("*a" * 60 + "*b", "a" * 60 + "b")
    assert not filter_matches("a.b*", "axb-c")  # a regex reading would let '.' match any character
    assert filter_matches("*", "anything/at/all") and filter_matches("a*a", "aa") and not filter_matches("a*a", "a")


def test_enhanced_continuous_wins_and_unmatched_repositories_are_not_scanned(registry):
    for name in ("prod-api", "prod-web", "sandbox"):
        registry.client().create_repository(repositoryName=name)
    scan_on_push(registry, "prod", scan_type="ENHANCED", continuous=("*-api",))
    assert frequencies(registry, "prod-api", "prod-web", "sandbox") == {
        "prod-api": "CONTINUOUS_SCAN",
        "prod-web": "SCAN_ON_PUSH",
        "sandbox": "MANUAL",
    }
    api = registry.client().batch_get_repository_scanning_configuration(repositoryNames=["prod-api"])
    assert api["scanningConfigurations"][0]["appliedScanFilters"] == [wildcard("*-api")]
    for name in ("prod-api", "prod-web", "sandbox"):
        push(registry, "alpine-node", name)
    assert describe(registry, "prod-api", imageTag="18-alpine")["imageScanStatus"] == {
        "status": "ACTIVE",
        "description": "Continuous scan is selected for image.",
    }
    assert describe(registry, "prod-web", imageTag="18-alpine")["imageScanStatus"]["status"] == "ACTIVE"
    with pytest.raises(ClientError, match="ScanNotFoundException"):
        describe(registry, "sandbox", imageTag="18-alpine")
    with pytest.raises(ClientError) as caught:  # manual scans are basic scanning's
        ecr(registry).start_image_scan(repositoryName="sandbox", imageId={"imageTag": "18-alpine"})
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_a_repository_created_later_follows_the_rules_and_failures_name_missing_repositories(registry):
    scan_on_push(registry, "team-*")
    registry.client().create_repository(repositoryName="team-a")
    found = registry.client().batch_get_repository_scanning_configuration(repositoryNames=["team-a", "ghost"])
    assert found["scanningConfigurations"][0]["scanFrequency"] == "SCAN_ON_PUSH"
    assert found["failures"] == [
        {"repositoryName": "ghost", "failureCode": "REPOSITORY_NOT_FOUND", "failureReason": "REPOSITORY_NOT_FOUND"}
    ]


def test_the_deprecated_repository_scan_on_push_still_scans_under_basic_only(registry):
    push(registry, "alpine-node", "legacy", imageScanningConfiguration={"scanOnPush": True})
    assert describe(registry, "legacy", imageTag="18-alpine")["imageScanStatus"]["status"] == "COMPLETE"
    scan_on_push(registry, scan_type="ENHANCED", continuous=("other",))
    push(registry, "debian-app", "legacy")
    with pytest.raises(ClientError, match="ScanNotFoundException"):
        describe(registry, "legacy", imageTag="bookworm")


# --- scans -------------------------------------------------------------------------------------------------


def _put_image_over_the_api(registry, layout_name: str, repository: str) -> str:
    """Push like the AWS SDKs do: layer upload APIs, then PutImage."""
    client = registry.client()
    layout = read_layout(IMAGES / layout_name)
    tag = TAGS[layout_name]
    descriptor = layout.refs[tag]
    manifest = read_blob(layout, descriptor["digest"])
    for digest in [d["digest"] for d in [json.loads(manifest)["config"], *json.loads(manifest)["layers"]]]:
        data = read_blob(layout, digest)
        upload = client.initiate_layer_upload(repositoryName=repository)["uploadId"]
        client.upload_layer_part(repositoryName=repository, uploadId=upload, partFirstByte=0,
                                 partLastByte=len(data) - 1, layerPartBlob=data)  # fmt: skip
        client.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[digest])
    image = client.put_image(repositoryName=repository, imageManifest=manifest.decode(), imageTag=tag)["image"]
    return image["imageId"]["imageDigest"]


def test_scan_on_push_by_both_paths_gives_the_same_findings(registry):
    scan_on_push(registry, "*")
    by_oci = push(registry, "alpine-node", "over-oci")
    registry.client().create_repository(repositoryName="over-api")
    by_api = _put_image_over_the_api(registry, "alpine-node", "over-api")
    registry.emulator.settle()
    assert by_oci == by_api
    oci = describe(registry, "over-oci", imageDigest=by_oci)
    api = describe(registry, "over-api", imageDigest=by_api)
    assert oci["imageScanStatus"] == {"status": "COMPLETE", "description": "The scan was completed successfully."}
    assert oci["imageScanFindings"] == api["imageScanFindings"]
    assert oci["imageScanFindings"]["findingSeverityCounts"] == ALPINE_COUNTS
    assert oci["imageScanFindings"]["imageScanCompletedAt"] == datetime(2025, 6, 2, 9, tzinfo=UTC)
    assert oci["imageScanFindings"]["vulnerabilitySourceUpdatedAt"] == datetime(2025, 6, 1, tzinfo=UTC)


def test_start_image_scan_is_allowed_once_per_rolling_24_hours(registry):
    """Rolling, not per calendar day: a scan at 23:00 blocks the next one until 23:00 the day after."""
    registry.emulator.freeze(datetime(2025, 6, 2, 23, 0, tzinfo=UTC))
    push(registry, "debian-app", "app")
    client = ecr(registry)
    started = client.start_image_scan(repositoryName="app", imageId={"imageTag": "bookworm"})
    assert started["imageScanStatus"] == {"status": "IN_PROGRESS"}
    assert started["imageId"]["imageTag"] == "bookworm"
    registry.emulator.settle()
    assert describe(registry, "app", imageTag="bookworm")["imageScanStatus"]["status"] == "COMPLETE"
    for advance in (timedelta(hours=2), timedelta(hours=21, minutes=59)):  # the next calendar day, then 23:59
        registry.emulator.advance(seconds=advance.total_seconds())
        with pytest.raises(ClientError) as caught:
            client.start_image_scan(repositoryName="app", imageId={"imageTag": "bookworm"})
        assert caught.value.response["Error"]["Code"] == "LimitExceededException"
        assert caught.value.response["Error"]["Message"] == (
            "The scan quota per image has been exceeded. Wait and try again."
        )
    registry.emulator.advance(minutes=1)
    assert client.start_image_scan(repositoryName="app", imageId={"imageTag": "bookworm"})["imageScanStatus"] == {
        "status": "IN_PROGRESS"
    }
    registry.emulator.settle()
    completed = describe(registry, "app", imageTag="bookworm")["imageScanFindings"]["imageScanCompletedAt"]
    assert completed == datetime(2025, 6, 3, 23, 0, tzinfo=UTC)


def test_scan_on_push_counts_towards_the_24_hours(registry):
    scan_on_push(registry, "*")
    push(registry, "alpine-node", "node")
    with pytest.raises(ClientError, match="LimitExceededException"):
        ecr(registry).start_image_scan(repositoryName="node", imageId={"imageTag": "18-alpine"})


@pytest.mark.parametrize(
    ("layout", "basic", "enhanced"),
    [
        ("alpine-node", ALPINE_COUNTS, {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 8, "UNDEFINED": 1}),
        ("alpine-node-fixed", {"UNDEFINED": 2}, {"UNDEFINED": 1}),
        # The app's npm semver 7.5.1 (CVE-2022-25883, HIGH) is a language package: enhanced scanning only.
        ("alpine-node-app", ALPINE_COUNTS, {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 8, "UNDEFINED": 1}),
        ("debian-app", {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 5}, {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 3}),
        ("distroless-static", {"MEDIUM": 2}, {"MEDIUM": 2}),
    ],
)
def test_every_sample_image_yields_what_the_feed_readme_says(registry, layout, basic, enhanced):
    scan_on_push(registry, "basic")
    digest = push(registry, layout, "basic")
    assert describe(registry, "basic", imageDigest=digest)["imageScanFindings"]["findingSeverityCounts"] == basic
    scan_on_push(registry, scan_type="ENHANCED", continuous=("enhanced",))
    push(registry, layout, "enhanced")
    found = describe(registry, "enhanced", imageDigest=digest)["imageScanFindings"]
    assert found["findingSeverityCounts"] == enhanced


def test_the_fixed_image_keeps_only_the_openssl_cve_fixed_later(registry):
    scan_on_push(registry, "*")
    push(registry, "alpine-node-fixed", "node")
    found = describe(registry, "node", imageTag="18-alpine-fixed")["imageScanFindings"]["findings"]
    assert sorted((f["name"], f["attributes"][1]["value"]) for f in found) == [
        ("CVE-2024-9143", "libcrypto3"),
        ("CVE-2024-9143", "libssl3"),
    ]


def test_an_image_without_a_known_os_is_unsupported(registry):
    scan_on_push(registry, "*")
    push(registry, "scratch-binary", "tool")
    found = describe(registry, "tool", imageTag="latest")
    assert found["imageScanStatus"] == {
        "status": "UNSUPPORTED_IMAGE",
        "description": "UnsupportedImageError: The operating system and/or package manager are not supported.",
    }
    assert "imageScanFindings" not in found


def test_an_index_is_scanned_per_image_manifest(registry):
    scan_on_push(registry, "*")
    push(registry, "alpine-multiarch", "alpine")
    described = registry.client().describe_images(repositoryName="alpine")["imageDetails"]
    index = next(d for d in described if d.get("imageTags") == ["3.19"])
    platforms = [d["imageDigest"] for d in described if d is not index]
    assert len(platforms) == 2
    for digest in platforms:
        assert describe(registry, "alpine", imageDigest=digest)["imageScanFindings"]["findingSeverityCounts"] == (
            ALPINE_COUNTS
        )
    with pytest.raises(ClientError, match="ScanNotFoundException"):
        describe(registry, "alpine", imageTag="3.19")
    with pytest.raises(ClientError) as caught:
        ecr(registry).start_image_scan(repositoryName="alpine", imageId={"imageTag": "3.19"})
    assert caught.value.response["Error"]["Code"] == "UnsupportedImageTypeException"


def test_findings_are_paged_with_counts_on_every_page(registry):
    scan_on_push(registry, "*")
    push(registry, "alpine-node", "node")
    client = registry.client()
    pages, token = [], None
    while True:
        extra = {"nextToken": token} if token else {}
        page = client.describe_image_scan_findings(
            repositoryName="node", imageId={"imageTag": "18-alpine"}, maxResults=5, **extra
        )
        assert page["imageScanFindings"]["findingSeverityCounts"] == ALPINE_COUNTS
        pages.append(page["imageScanFindings"]["findings"])
        token = page.get("nextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [5, 5, 5, 5, 2]
    whole = describe(registry, "node", imageTag="18-alpine")["imageScanFindings"]["findings"]
    assert [f for p in pages for f in p] == whole
    paginated = client.get_paginator("describe_image_scan_findings").paginate(
        repositoryName="node", imageId={"imageTag": "18-alpine"}, PaginationConfig={"PageSize": 7}
    )
    assert sum(len(p["imageScanFindings"]["findings"]) for p in paginated) == 22
    with pytest.raises(ClientError, match="InvalidParameterException"):
        client.describe_image_scan_findings(
            repositoryName="node", imageId={"imageTag": "18-alpine"}, nextToken="not a token"
        )


@pytest.mark.parametrize("scan_type", ["BASIC", "ENHANCED"])
def test_responses_fit_the_model(registry, scan_type):
    scan_on_push(registry, *(("*",) if scan_type == "BASIC" else ()), scan_type=scan_type,
                 continuous=("*",) if scan_type == "ENHANCED" else ())  # fmt: skip
    push(registry, "debian-app", "app")
    response = describe(registry, "app", imageTag="bookworm")
    del response["ResponseMetadata"]
    shape = operation("DescribeImageScanFindings").output_shape
    check_findings_shape(shape, response, "DescribeImageScanFindingsResponse")
    assert constraint_violations(shape, response, "") == []
    key = "findings" if scan_type == "BASIC" else "enhancedFindings"
    assert key in response["imageScanFindings"] and len(response["imageScanFindings"]) == 4


def test_enhanced_findings_name_the_image_as_inspector_does(registry):
    scan_on_push(registry, scan_type="ENHANCED", continuous=("app",))
    digest = push(registry, "debian-app", "app")
    found = describe(registry, "app", imageTag="bookworm")["imageScanFindings"]["enhancedFindings"]
    first = found[0]
    assert first["title"] == "CVE-2023-6779 - libc6" and first["severity"] == "CRITICAL"
    image = first["resources"][0]["details"]["awsEcrContainerImage"]
    assert image == {
        "architecture": "amd64",
        "imageHash": digest,
        "imageTags": ["bookworm"],
        "platform": "DEBIAN_12",
        "pushedAt": datetime(2025, 6, 2, 9, tzinfo=UTC),
        "registry": "123456789012",
        "repositoryName": "app",
    }
    assert first["packageVulnerabilityDetails"]["vulnerablePackages"][0]["fixedInVersion"] == "2.36-9+deb12u4"


def test_switching_scan_types_hides_and_restores_earlier_scans(registry):
    scan_on_push(registry, "*")
    push(registry, "alpine-node", "node")
    scan_on_push(registry, scan_type="ENHANCED", continuous=("node",))  # Inspector's initial scan of what is there
    assert "enhancedFindings" in describe(registry, "node", imageTag="18-alpine")["imageScanFindings"]
    scan_on_push(registry, "*")
    found = describe(registry, "node", imageTag="18-alpine")["imageScanFindings"]
    assert "findings" in found and found["findingSeverityCounts"] == ALPINE_COUNTS


# --- events ------------------------------------------------------------------------------------------------


def _queue_for(registry, pattern: dict) -> str:
    sqs, events = registry.client("sqs"), registry.client("events")
    url = sqs.create_queue(QueueName="scans")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="scans", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="scans", Targets=[{"Id": "q", "Arn": arn}])
    return url


def _received(registry, url: str) -> list[dict]:
    messages = registry.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_a_basic_scan_sends_the_documented_ecr_image_scan_event(registry):
    url = _queue_for(registry, {"source": ["aws.ecr"], "detail-type": ["ECR Image Scan"]})
    scan_on_push(registry, "*")
    digest = push(registry, "debian-app", "app")
    (event,) = _received(registry, url)
    assert (event["source"], event["detail-type"], event["region"]) == ("aws.ecr", "ECR Image Scan", "us-east-1")
    assert event["time"] == "2025-06-02T09:00:00Z"
    assert event["resources"] == ["arn:aws:ecr:us-east-1:123456789012:repository/app"]
    assert event["detail"] == {
        "scan-status": "COMPLETE",
        "repository-name": "app",
        "finding-severity-counts": {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 5},
        "image-digest": digest,
        "image-tags": ["bookworm"],
    }


def test_enhanced_scanning_sends_inspector_and_resource_change_events(registry):
    registry.client().create_repository(repositoryName="app")
    url = _queue_for(
        registry,
        {"source": ["aws.inspector2", "aws.ecr"], "detail-type": ["Inspector2 Scan", "ECR Scan Resource Change"]},
    )
    scan_on_push(registry, scan_type="ENHANCED", continuous=("app",))
    digest = push(registry, "debian-app", "app")
    change, inspector = _received(registry, url)
    assert change["detail-type"] == "ECR Scan Resource Change"
    assert change["detail"]["repositories"] == [
        {
            "repository-name": "app",
            "repository-arn": "arn:aws:ecr:us-east-1:123456789012:repository/app",
            "scan-frequency": "CONTINUOUS_SCAN",
            "previous-scan-frequency": "MANUAL",
        }
    ]
    assert (inspector["source"], inspector["detail-type"]) == ("aws.inspector2", "Inspector2 Scan")
    assert inspector["detail"] == {
        "scan-status": "INITIAL_SCAN_COMPLETE",
        "repository-name": "arn:aws:ecr:us-east-1:123456789012:repository/app",
        "finding-severity-counts": {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 3, "TOTAL": 7},
        "image-digest": digest,
        "image-tags": ["bookworm"],
    }


def test_a_numeric_pattern_on_critical_counts_routes_only_critical_scans(registry):
    pattern = {"detail": {"finding-severity-counts": {"CRITICAL": [{"numeric": [">", 0]}]}}}
    url = _queue_for(registry, {"source": ["aws.ecr"], "detail-type": ["ECR Image Scan"], **pattern})
    scan_on_push(registry, "*")
    push(registry, "distroless-static", "static")
    push(registry, "alpine-node-fixed", "node")
    assert _received(registry, url) == []
    push(registry, "alpine-node", "node")
    (event,) = _received(registry, url)
    assert event["detail"]["finding-severity-counts"]["CRITICAL"] == 2


def test_another_session_in_another_region_sees_its_own_configuration(registry):
    other = boto3.Session(region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y").client(
        "ecr", endpoint_url=registry.endpoint_url
    )
    scan_on_push(registry, "*")
    assert other.get_registry_scanning_configuration()["scanningConfiguration"]["rules"] == []


def test_enhanced_scanning_sends_one_inspector2_finding_per_finding(registry):
    """ECR user guide, image-scanning-enhanced-events: "Amazon Inspector sends events to EventBridge when an initial
    scan is completed and when an image scan finding is created, updated, or closed"; Inspector user guide,
    eventbridge-integration: detail-type `Inspector2 Finding`, source `aws.inspector2`, the finding as detail."""
    registry.client().create_repository(repositoryName="app")
    url = _queue_for(registry, {"source": ["aws.inspector2"], "detail-type": ["Inspector2 Finding"]})
    scan_on_push(registry, "app", scan_type="ENHANCED")
    digest = push(registry, "debian-app", "app")
    sent = _received(registry, url)
    found = describe(registry, "app", imageDigest=digest)["imageScanFindings"]["enhancedFindings"]
    assert sorted(e["detail"]["findingArn"] for e in sent) == sorted(f["findingArn"] for f in found)
    for event in sent:
        detail = event["detail"]
        assert detail["status"] == "ACTIVE" and detail["type"] == "PACKAGE_VULNERABILITY"
        assert detail["resources"][0]["type"] == "AWS_ECR_CONTAINER_IMAGE"
        assert event["resources"] == [detail["resources"][0]["id"]]
        assert "score" not in detail  # Inspector names it inspectorScore


def test_basic_results_are_read_from_describe_image_scan_findings_not_describe_images(registry):
    """botocore model, DescribeImages: "The new version of Amazon ECR Basic Scanning doesn't use the
    ImageDetail$imageScanFindingsSummary and ImageDetail$imageScanStatus attributes from the API response to return
    scan results. Use the DescribeImageScanFindings API instead." (Clair-era reports, containers-roadmap#1662, showed
    them filled; Clair was retired on 2 February 2026.)"""
    assert "doesn't use the <a>ImageDetail$imageScanFindingsSummary</a>" in operation("DescribeImages").documentation
    assert registry.client().get_account_setting(name="BASIC_SCAN_TYPE_VERSION")["value"] == "AWS_NATIVE"
    scan_on_push(registry, "*")
    digest = push(registry, "debian-app", "app")
    [detail] = registry.client().describe_images(repositoryName="app", imageIds=[{"imageDigest": digest}])[
        "imageDetails"
    ]
    assert not {"imageScanStatus", "imageScanFindingsSummary"} & set(detail)
    assert describe(registry, "app", imageDigest=digest)["imageScanStatus"]["status"] == "COMPLETE"


def test_waiting_for_complete_under_enhanced_stops_at_the_waiters_limit(registry):
    """botocore's ImageScanComplete waiter (the one behind `aws ecr wait image-scan-complete`) checks 60 times 5 s
    apart and accepts only COMPLETE (FAILED fails it); an enhanced scan is ACTIVE, so the wait ends with
    "Max attempts exceeded" after about 5 minutes rather than waiting forever (lesson 05)."""
    from botocore.exceptions import WaiterError

    waiter = registry.client().get_waiter("image_scan_complete")
    assert (waiter.config.delay, waiter.config.max_attempts) == (5, 60)
    registry.client().create_repository(repositoryName="app")
    scan_on_push(registry, "app", scan_type="ENHANCED")
    digest = push(registry, "debian-app", "app")
    with pytest.raises(WaiterError, match="Max attempts exceeded"):
        waiter.wait(repositoryName="app", imageId={"imageDigest": digest}, WaiterConfig={"Delay": 0, "MaxAttempts": 2})


def test_an_image_rebuilt_with_only_a_new_config_is_matched_without_reading_its_layers_again(registry, monkeypatch):
    """What a scan reads depends on the layers alone (issue 17): a new image on the same layers reuses it."""
    from ecrlab.emulator import scanner

    push(registry, "alpine-node", "app")
    client = ecr(registry)
    client.start_image_scan(repositoryName="app", imageId={"imageTag": TAGS["alpine-node"]})
    registry.emulator.settle()
    first = describe(registry, "app", imageTag=TAGS["alpine-node"])["imageScanFindings"]
    layout = read_layout(IMAGES / "alpine-node")
    manifest = json.loads(read_blob(layout, layout.refs[TAGS["alpine-node"]]["digest"]))
    config = json.loads(read_blob(layout, manifest["config"]["digest"]))
    config.setdefault("config", {})["Labels"] = {"rebuilt": "yes"}
    data = json.dumps(config).encode()
    upload = client.initiate_layer_upload(repositoryName="app")["uploadId"]
    client.upload_layer_part(repositoryName="app", uploadId=upload, partFirstByte=0, partLastByte=len(data) - 1,
                             layerPartBlob=data)  # fmt: skip
    digest = client.complete_layer_upload(repositoryName="app", uploadId=upload, layerDigests=[_sha256(data)])
    manifest["config"] = {**manifest["config"], "digest": digest["layerDigest"], "size": len(data)}
    client.put_image(repositoryName="app", imageManifest=json.dumps(manifest), imageTag="rebuilt")
    built: list[object] = []
    monkeypatch.setattr(scanner, "FsView", lambda layers: built.append(layers))  # reading layers would fail now
    client.start_image_scan(repositoryName="app", imageId={"imageTag": "rebuilt"})
    registry.emulator.settle()
    again = describe(registry, "app", imageTag="rebuilt")
    assert again["imageScanStatus"]["status"] == "COMPLETE" and built == []
    assert again["imageScanFindings"]["findingSeverityCounts"] == first["findingSeverityCounts"] == ALPINE_COUNTS


def _sha256(data: bytes) -> str:
    import hashlib

    return f"sha256:{hashlib.sha256(data).hexdigest()}"


# --- scans in the background ---------------------------------------------------------------------------------


def test_a_scan_on_push_is_in_progress_until_its_time_comes_on_the_emulator_clock(registry):
    """AWS scans after the push returns: DescribeImageScanFindings answers IN_PROGRESS without findings, and the
    `ECR Image Scan` event comes when the scan is done. The emulator takes one interval of the CLI's waiter."""
    delay = registry.client().get_waiter("image_scan_complete").config.delay
    url = _queue_for(registry, {"source": ["aws.ecr"], "detail-type": ["ECR Image Scan"]})
    scan_on_push(registry, "*")
    registry.client().create_repository(repositoryName="app")
    digest = images.push(registry, IMAGES / "debian-app", "app")
    started = describe(registry, "app", imageDigest=digest)
    assert started["imageScanStatus"] == {"status": "IN_PROGRESS"} and "imageScanFindings" not in started
    assert _received(registry, url) == []
    registry.emulator.advance(seconds=delay - 1)
    assert describe(registry, "app", imageDigest=digest)["imageScanStatus"]["status"] == "IN_PROGRESS"
    registry.emulator.advance(seconds=1)
    done = describe(registry, "app", imageDigest=digest)
    assert done["imageScanStatus"]["status"] == "COMPLETE"
    assert done["imageScanFindings"]["imageScanCompletedAt"] == datetime(2025, 6, 2, 9, 0, delay, tzinfo=UTC)
    (event,) = _received(registry, url)
    assert event["detail"]["scan-status"] == "COMPLETE" and event["time"] == f"2025-06-02T09:00:{delay:02d}Z"


def test_a_scan_in_progress_counts_towards_the_24_hours_and_an_enhanced_one_is_pending(registry):
    """The quota counts from when a scan started; ENHANCED's not-yet-scanned status is one of its enum's
    (PENDING, botocore model ScanStatus) and a finished one is ACTIVE."""
    scan_on_push(registry, "*")
    registry.client().create_repository(repositoryName="node")
    images.push(registry, IMAGES / "alpine-node", "node")
    with pytest.raises(ClientError, match="LimitExceededException"):
        ecr(registry).start_image_scan(repositoryName="node", imageId={"imageTag": "18-alpine"})
    registry.client().put_registry_scanning_configuration(
        scanType="ENHANCED", rules=[{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": ALL}]
    )
    pending = describe(registry, "node", imageTag="18-alpine")["imageScanStatus"]["status"]
    assert (
        pending == "PENDING"
        and pending
        in operation("DescribeImageScanFindings").output_shape.members["imageScanStatus"].members["status"].enum
    )
    registry.emulator.settle()
    assert describe(registry, "node", imageTag="18-alpine")["imageScanStatus"]["status"] == "ACTIVE"


def test_a_scan_of_an_image_deleted_meanwhile_is_dropped(registry):
    scan_on_push(registry, "*")
    registry.client().create_repository(repositoryName="app")
    digest = images.push(registry, IMAGES / "debian-app", "app")
    registry.client().batch_delete_image(repositoryName="app", imageIds=[{"imageDigest": digest}])
    assert registry.emulator.settle() == 1  # the queued scan ran and found nothing to scan
