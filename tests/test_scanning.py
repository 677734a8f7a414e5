"""ecrlab.scanning, scan_results, scan_gate and scan_alerts against the emulator: the spec and its plan, which
repositories a filter matches, findings as a DataFrame, the CI gate (function and command), manual scans, and the
CRITICAL alert through SQS and SNS."""

from __future__ import annotations

import json

import pytest

from ecrlab import images, scan_alerts, scan_gate, scan_results, scanning, severity_chart
from ecrlab.cli import main
from ecrlab.errors import ValidationError
from ecrlab.plan import apply, restore
from ecrlab.scanning import ScanningSpec
from tests.conftest import ROOT

IMAGES = ROOT / "data" / "images"


def push(registry, layout: str, repository: str) -> str:
    registry.client().create_repository(repositoryName=repository)
    return images.push(registry, IMAGES / layout, repository)


def scan_everything_on_push(registry) -> None:
    apply(scanning.plan(registry, ScanningSpec("BASIC", on_push=["*"])), registry, dry_run=False)


# --- the spec ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "field", "rule"),
    [
        ({"scan_type": "DEEP"}, "scan_type", "enum value set: [BASIC, ENHANCED]"),
        ({"on_push": ["Prod"]}, "on_push", "lowercase letters, digits and '*' wildcards"),
        ({"on_push": ["a" * 40 + "!"]}, "on_push", "no capitals or spaces"),
        ({"on_push": ["x"] * 101}, "on_push", "at most 100"),
        ({"continuous": ["*"]}, "continuous", "needs scan_type ENHANCED"),
    ],
)
def test_spec_errors_name_the_field(arguments, field, rule):
    with pytest.raises(ValidationError) as caught:
        ScanningSpec(**arguments)
    assert caught.value.field == field and rule in caught.value.rule


def test_the_models_filter_pattern_is_checked_in_linear_time_with_the_same_answers():
    """ecr_model swaps the model's backtracking-prone filter pattern for an equivalent linear one."""
    import itertools
    import re

    from ecrlab.ecr_model import _pattern, ecr_model

    model = ecr_model().shape_for("ScanningRepositoryFilterValue").metadata["pattern"]
    original, linear = re.compile(model), _pattern(model)
    for length in range(1, 7):
        for letters in itertools.product("a*.-/_", repeat=length):
            text = "".join(letters)
            assert bool(original.fullmatch(text)) == bool(linear.fullmatch(text)), text
    # The model's own pattern backtracks exponentially on this near miss (it would not return); the linear one
    # answers. No clock: a regression shows as a hang, not as a flaky threshold on busy cores.
    assert linear.fullmatch("a" * 250 + "!") is None
    assert linear.fullmatch("a" * 250) is not None


def test_spec_to_and_from_the_api():
    spec = ScanningSpec("ENHANCED", on_push="prod", continuous=["*-api", "core"])
    assert spec.on_push == ("prod",)
    assert spec.to_api() == {
        "scanType": "ENHANCED",
        "rules": [
            {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "prod", "filterType": "WILDCARD"}]},
            {
                "scanFrequency": "CONTINUOUS_SCAN",
                "repositoryFilters": [
                    {"filter": "*-api", "filterType": "WILDCARD"},
                    {"filter": "core", "filterType": "WILDCARD"},
                ],
            },
        ],
    }
    assert ScanningSpec.from_api(spec.to_api()) == spec
    two_on_push = {
        "scanType": "BASIC",
        "rules": [
            {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"}]}
            for f in ("a", "b")
        ],
    }
    assert ScanningSpec.from_api(two_on_push) == ScanningSpec("BASIC", on_push=["a", "b"])
    with pytest.raises(ValidationError, match="at most 2"):
        ScanningSpec.from_api({"scanType": "BASIC", "rules": two_on_push["rules"] * 2})


def test_plan_apply_replan_and_restore(registry):
    spec = ScanningSpec("BASIC", on_push=["prod*"])
    plan = scanning.plan(registry, spec)
    assert [(c.action, c.setting.address) for c in plan.changes] == [("update", "scanning-configuration/registry")]
    result = apply(plan, registry, dry_run=False)
    assert scanning.read(registry) == spec
    assert scanning.plan(registry, spec).empty
    # Two rules of one frequency scan the same repositories as one merged rule: no change to plan.
    registry.client().put_registry_scanning_configuration(
        scanType="BASIC",
        rules=[{"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "prod*", "filterType": "WILDCARD"}]}]
        * 2,
    )
    assert scanning.plan(registry, spec).empty
    restore(registry, result.backup, dry_run=False)
    assert scanning.read(registry) == ScanningSpec()


def test_matching_repositories_answers_with_the_emulators_rules():
    spec = ScanningSpec("ENHANCED", on_push=["prod"], continuous=["*-api"])
    frame = scanning.matching_repositories(spec, ["sandbox", "prod-api", "nonprod", "prod-api"])
    assert frame.to_dict("records") == [
        {
            "repository": "nonprod",
            "scanning": "scanned on push",
            "scan_frequency": "SCAN_ON_PUSH",
            "matched_filters": "prod",
        },
        {
            "repository": "prod-api",
            "scanning": "scanned on push and continuously",
            "scan_frequency": "CONTINUOUS_SCAN",
            "matched_filters": "*-api",
        },
        {"repository": "sandbox", "scanning": "not scanned", "scan_frequency": "MANUAL", "matched_filters": ""},
    ]
    basic = scanning.matching_repositories(ScanningSpec(), ["app"])
    assert basic["scanning"].tolist() == ["manual scans only"]


# --- findings ----------------------------------------------------------------------------------------------


def test_findings_of_one_image_have_stable_columns_most_severe_first(registry):
    scan_everything_on_push(registry)
    digest = push(registry, "debian-app", "app")
    frame = scan_results.findings(registry, "app", tag="bookworm")
    assert list(frame.columns) == scan_results.FINDING_COLUMNS
    assert frame.iloc[0].to_dict() == {
        "repository": "app",
        "tag": "bookworm",
        "digest": digest,
        "id": "CVE-2023-6779",
        "severity": "CRITICAL",
        "package": "libc6",
        "installed": "2.36-9+deb12u3",
        "fixed": None,
        "source": "https://security-tracker.debian.org/tracker/CVE-2023-6779",
    }
    assert scan_results.severity_counts(frame) == {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 5}
    assert frame.equals(scan_results.findings(registry, "app", digest=digest))


def test_enhanced_findings_carry_the_fixed_version(registry):
    apply(scanning.plan(registry, ScanningSpec("ENHANCED", continuous=["*"])), registry, dry_run=False)
    push(registry, "debian-app", "app")
    frame = scan_results.findings(registry, "app", tag="bookworm")
    assert len(frame) == 9 and frame["fixed"].notna().all()
    libssl = frame[(frame["id"] == "CVE-2024-0727") & (frame["package"] == "libssl3")].iloc[0]
    assert (libssl["installed"], libssl["fixed"]) == ("3.0.11-1~deb12u2", "3.0.13-1~deb12u1")
    zlib_epoch = scan_results._installed({"epoch": 1, "version": "1.2.13.dfsg", "release": "1"})
    assert zlib_epoch == "1:1.2.13.dfsg-1"


def test_findings_of_the_registry_and_of_an_index(registry):
    scan_everything_on_push(registry)
    push(registry, "alpine-multiarch", "alpine")
    push(registry, "distroless-static", "static")
    push(registry, "scratch-binary", "tool")
    registry.client().create_repository(repositoryName="empty")
    everything = scan_results.findings(registry)
    assert everything.groupby("repository").size().to_dict() == {"alpine": 44, "static": 2}
    assert set(everything[everything["repository"] == "alpine"]["tag"]) == {"3.19"}  # the index lends its tag
    index = scan_results.findings(registry, "alpine", tag="3.19")
    assert index["digest"].nunique() == 2 and len(index) == 44
    ranks = everything["severity"].map(scan_results.SEVERITIES.index).tolist()
    assert ranks == sorted(ranks)


def test_an_image_without_findings_to_read_says_why(registry):
    push(registry, "alpine-node", "node")
    with pytest.raises(scan_results.NotScannedError, match="never scanned"):
        scan_results.findings(registry, "node", tag="18-alpine")
    scan_everything_on_push(registry)
    push(registry, "scratch-binary", "tool")
    with pytest.raises(scan_results.NotScannedError, match="UNSUPPORTED_IMAGE"):
        scan_results.findings(registry, "tool", tag="latest")
    with pytest.raises(ValidationError):
        scan_results.findings(registry, tag="latest")


def test_start_scan_reports_the_24_hour_limit_without_retrying(registry):
    push(registry, "alpine-node", "node")
    assert scan_results.start_scan(registry, "node", tag="18-alpine") == "IN_PROGRESS"
    sent: list[str] = []
    registry.client().meta.events.register("before-send.ecr.StartImageScan", lambda **_: sent.append("sent"))
    with pytest.raises(scan_results.ScanQuotaError, match="try again after 2025-06-03 09:00 UTC"):
        scan_results.start_scan(registry, "node", tag="18-alpine")
    assert sent == ["sent"]  # one request: the quota error is reported, not retried as throttling
    registry.emulator.advance(hours=24)
    assert scan_results.start_scan(registry, "node", tag="18-alpine") == "IN_PROGRESS"


def test_severity_chart_as_text_and_html(registry):
    scan_everything_on_push(registry)
    push(registry, "alpine-node", "node")
    chart = severity_chart.severity_chart(scan_results.findings(registry, "node", tag="18-alpine"))
    assert chart.counts == {"CRITICAL": 2, "HIGH": 2, "MEDIUM": 16, "UNDEFINED": 2}
    assert str(chart).splitlines()[1:3] == ["  CRITICAL      ████ 2", "  HIGH          ████ 2"]
    assert "MEDIUM" in chart._repr_html_() and "width:100%" in chart._repr_html_()


# --- the gate ----------------------------------------------------------------------------------------------


def test_gate_blocks_at_and_above_the_threshold(registry):
    scan_everything_on_push(registry)
    push(registry, "alpine-node", "node")
    frame = scan_results.findings(registry, "node", tag="18-alpine")
    high = scan_gate.gate(frame)
    assert not high.passed and high.exit_code == 1 and len(high.blocking) == 4
    assert str(high) == (
        "FAIL: 4 finding(s) at or above HIGH: 2 CRITICAL, 2 HIGH (all: 2 CRITICAL, 2 HIGH, 16 MEDIUM, 2 UNDEFINED)."
    )
    assert len(scan_gate.gate(frame, "CRITICAL").blocking) == 2
    assert len(scan_gate.gate(frame, "UNDEFINED").blocking) == 22
    with pytest.raises(ValidationError):
        scan_gate.gate(frame, "SEVERE")
    assert scan_gate.gate(frame[frame["severity"] == "UNDEFINED"]).passed  # unrated findings do not block at HIGH


def test_scan_gate_command_exits_by_the_result(registry, capsys):
    scan_everything_on_push(registry)
    push(registry, "alpine-node", "node")
    images.push(registry, IMAGES / "alpine-node-fixed", "node")
    url = registry.endpoint_url
    assert main(["scan-gate", "node:18-alpine", "--endpoint-url", url]) == 1
    out = capsys.readouterr().out
    assert "CVE-2024-5535" in out and out.strip().endswith("(all: 2 CRITICAL, 2 HIGH, 16 MEDIUM, 2 UNDEFINED).")
    assert main(["scan-gate", "node:18-alpine-fixed", "--endpoint-url", url]) == 0
    assert capsys.readouterr().out.startswith("PASS: nothing at or above HIGH (2 UNDEFINED)")
    assert main(["scan-gate", "node:18-alpine-fixed", "--threshold", "UNDEFINED", "--endpoint-url", url]) == 1
    registry.client().create_repository(repositoryName="unscanned")
    assert main(["scan-gate", "node", "--endpoint-url", url]) == 2
    assert "REPOSITORY:TAG" in capsys.readouterr().err


# --- the alert ---------------------------------------------------------------------------------------------


def test_alert_on_critical_through_sqs(registry):
    plan = scan_alerts.alert_on_critical(registry, "sqs")
    assert [(c.action, c.setting.address) for c in plan.changes] == [
        ("create", "sqs-queue/ecr-critical-findings"),
        ("create", "eventbridge-rule/ecr-critical-findings"),
    ]
    apply(plan, registry, dry_run=False)
    assert scan_alerts.alert_on_critical(registry, "sqs").empty
    sqs = registry.client("sqs")
    url = sqs.get_queue_url(QueueName="ecr-critical-findings")["QueueUrl"]
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Statement"][0]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/ecr-critical-findings"}
    }
    scan_everything_on_push(registry)
    push(registry, "distroless-static", "static")  # MEDIUM only: no alert
    registry.emulator.settle()  # the scan finishes, and its event is sent
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    digest = push(registry, "debian-app", "app")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # no event while the scan is in progress
    registry.emulator.settle()
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    detail = json.loads(message["Body"])["detail"]
    assert (detail["repository-name"], detail["image-digest"], detail["finding-severity-counts"]["CRITICAL"]) == (
        "app",
        digest,
        1,
    )


def test_alert_on_critical_fires_on_a_critical_inspector_finding_under_enhanced(registry):
    """Under ENHANCED, findings reach EventBridge from Amazon Inspector as `Inspector2 Finding` (source
    `aws.inspector2`), not as `ECR Image Scan` (ECR user guide, image-scanning-enhanced-events: "Amazon Inspector
    sends events to EventBridge when an initial scan is completed and when an image scan finding is created, updated,
    or closed"; Inspector user guide, eventbridge-integration: detail-type `Inspector2 Finding`, detail = the finding
    with its `severity`). The alert must fire on a CRITICAL one."""
    apply(scan_alerts.alert_on_critical(registry, "sqs"), registry, dry_run=False)
    apply(scanning.plan(registry, ScanningSpec("ENHANCED", on_push=["*"])), registry, dry_run=False)
    sqs = registry.client("sqs")
    url = sqs.get_queue_url(QueueName="ecr-critical-findings")["QueueUrl"]
    push(registry, "distroless-static", "static")  # no CRITICAL finding: no alert
    registry.emulator.settle()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    digest = push(registry, "debian-app", "app")
    registry.emulator.settle()
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    events = [json.loads(m["Body"]) for m in messages]
    assert events and {(e["source"], e["detail-type"]) for e in events} == {("aws.inspector2", "Inspector2 Finding")}
    critical = {e["detail"]["title"] for e in events}
    found = registry.client().describe_image_scan_findings(repositoryName="app", imageId={"imageDigest": digest})
    expected = {f["title"] for f in found["imageScanFindings"]["enhancedFindings"] if f["severity"] == "CRITICAL"}
    assert critical == expected
    [image] = {r["details"]["awsEcrContainerImage"]["imageHash"] for e in events for r in e["detail"]["resources"]}
    assert image == digest


def test_alert_on_critical_through_sns_and_its_rollback(registry):
    result = apply(scan_alerts.alert_on_critical(registry, "sns", name="critical"), registry, dry_run=False)
    sns, sqs = registry.client("sns"), registry.client("sqs")
    topic = "arn:aws:sns:us-east-1:123456789012:critical"
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert policy["Statement"][0]["Action"] == "sns:Publish"
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox, Attributes={"RawMessageDelivery": "true"})
    scan_everything_on_push(registry)
    push(registry, "alpine-node", "node")
    registry.emulator.settle()
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(message["Body"])["detail"]["finding-severity-counts"]["CRITICAL"] == 2
    restore(registry, result.backup, dry_run=False)
    assert registry.client("events").list_rules(NamePrefix="critical")["Rules"] == []
    assert topic not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    with pytest.raises(ValidationError):
        scan_alerts.alert_on_critical(registry, "email")


def test_an_alert_name_that_one_of_its_three_services_refuses_is_refused_before_anything_is_read(registry):
    """SQS queue names take no dot (CreateQueue) though EventBridge rule names do; nothing is planned."""
    with pytest.raises(ValidationError) as refused:
        scan_alerts.alert_on_critical(registry, "sqs", "critical.findings")
    assert refused.value.field == "name"
