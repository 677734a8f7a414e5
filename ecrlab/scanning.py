"""Image scanning: the registry's scanning configuration as a plannable spec, which repositories a filter matches,
findings as a DataFrame, a gate for CI, and an EventBridge alert when a scan finds something CRITICAL.

Only boto3 calls (ECR, EventBridge, SQS, SNS), so the same code runs against AWS and the emulator. Which
repositories a filter matches comes from `ecrlab.scan_rules`, the function the emulator itself decides with.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ecrlab import checks
from ecrlab.ecr_model import check
from ecrlab.errors import EcrlabError, ValidationError
from ecrlab.plan import Parts, Plan, Setting, Wanted, make_plan, setting_kind
from ecrlab.scan_rules import DEFAULT_CONFIGURATION, configuration_problem, normalized, resolve
from ecrlab.scan_waits import wait_for_scan

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

FINDING_COLUMNS = ["repository", "tag", "digest", "id", "severity", "package", "installed", "fixed", "source"]
MATCH_COLUMNS = ["repository", "scanning", "scan_frequency", "matched_filters"]
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}
_INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")
_FINISHED = ("COMPLETE", "ACTIVE")  # ACTIVE: an enhanced (Inspector) scan that has findings to read


class NotScannedError(EcrlabError):
    """The image has no finished scan to read (never scanned, still in progress, or its OS is not supported)."""


class ScanQuotaError(EcrlabError):
    """ECR scans an image at most once per 24 hours, scan on push included."""


# --- configuration -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanningSpec:
    """The registry's scanning configuration: the scan type and the repository filters of each frequency.

    BASIC scans on push where an `on_push` filter matches and allows manual scans everywhere; ENHANCED (Amazon
    Inspector) scans where an `on_push` or `continuous` filter matches — continuous wins — and nowhere else.
    Filters are ECR's WILDCARD filters: without `*` a filter matches every name that contains it.
    """

    scan_type: str = "BASIC"
    on_push: Sequence[str] = ()
    continuous: Sequence[str] = ()

    def __post_init__(self) -> None:
        for name in ("on_push", "continuous"):
            object.__setattr__(self, name, checks.strings(name, getattr(self, name)))
        check("ScanType", "scan_type", self.scan_type)
        for name in ("on_push", "continuous"):
            filters = getattr(self, name)
            if len(filters) > 100:
                raise ValidationError(name, len(filters), "a rule takes at most 100 repository filters")
            for value in filters:
                check("ScanningRepositoryFilterValue", name, value)
        if self.scan_type == "BASIC" and self.continuous:
            raise ValidationError(
                "continuous", list(self.continuous), "continuous scanning needs scan_type ENHANCED (Amazon Inspector)"
            )

    def to_api(self) -> dict[str, Any]:
        """The PutRegistryScanningConfiguration arguments (scanType, rules), one rule per frequency."""
        rules = [
            {
                "scanFrequency": frequency,
                "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in filters],
            }
            for frequency, filters in (("SCAN_ON_PUSH", self.on_push), ("CONTINUOUS_SCAN", self.continuous))
            if filters
        ]
        return normalized({"scanType": self.scan_type, "rules": rules})

    @classmethod
    def from_api(cls, configuration: dict[str, Any]) -> ScanningSpec:
        """From GetRegistryScanningConfiguration's `scanningConfiguration` (rules of one frequency merge)."""
        problem = configuration_problem(configuration)
        if problem:
            raise ValidationError("rules", configuration.get("rules"), problem[1])
        rules = normalized(configuration)["rules"]
        filters = {r["scanFrequency"]: tuple(f["filter"] for f in r["repositoryFilters"]) for r in rules}
        return cls(
            configuration.get("scanType", "BASIC"), filters.get("SCAN_ON_PUSH", ()), filters.get("CONTINUOUS_SCAN", ())
        )


SCAN_TYPE = "@scanType"  # the registry's scan type: one part every filter depends on


def _split_scanning(value: Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    parts: dict[str, Any] = {SCAN_TYPE: value.get("scanType", "BASIC")}
    for rule in value.get("rules") or ():
        for item in rule.get("repositoryFilters") or ():
            kind = item.get("filterType", "WILDCARD")
            parts[f"{rule['scanFrequency']} {item['filter']}"] = {
                "scanFrequency": rule["scanFrequency"],
                "filter": item["filter"],
                "filterType": kind,
            }
    return parts


def _join_scanning(parts: dict[str, Any]) -> dict[str, Any]:
    rules: dict[str, list[dict[str, str]]] = {}
    for key, part in parts.items():
        if key != SCAN_TYPE:
            rules.setdefault(part["scanFrequency"], []).append(
                {"filter": part["filter"], "filterType": part["filterType"]}
            )
    return normalized(
        {
            "scanType": parts.get(SCAN_TYPE, "BASIC"),
            "rules": [{"scanFrequency": f, "repositoryFilters": filters} for f, filters in rules.items()],
        }
    )


def _label_scanning(key: str, part: Any) -> str:
    return f"scan type {part}" if key == SCAN_TYPE else key


SCANNING_PARTS = Parts(_split_scanning, _join_scanning, "filter", _label_scanning)


@setting_kind("scanning-configuration")
def scanning_configuration(key: str = "registry") -> Setting:
    """The registry's one scanning configuration, shared by every team with a filter in it: its scan type and
    each (frequency, filter) are parts; absent means the default."""

    def read(registry: Registry) -> dict[str, Any]:
        return normalized(registry.client().get_registry_scanning_configuration()["scanningConfiguration"])

    def write(registry: Registry, value: dict[str, Any] | None) -> None:
        value = value or DEFAULT_CONFIGURATION
        problem = configuration_problem(value)
        if problem:  # checked on the merged value, with every other team's filters in it
            raise ValidationError(problem[0], value.get(problem[0]), f"{problem[1]} (with the filters of others kept)")
        registry.client().put_registry_scanning_configuration(scanType=value["scanType"], rules=value["rules"])

    return Setting("scanning-configuration", key, read, write, SCANNING_PARTS)


def read(registry: Registry) -> ScanningSpec:
    """The registry's scanning configuration now."""
    return ScanningSpec.from_api(scanning_configuration().read(registry))


def plan(registry: Registry, spec: ScanningSpec, *, remove: Iterable[str] = (), remove_unlisted: bool = False) -> Plan:
    """Give the registry `spec`'s scan type and add its filters, keeping every other filter.

    `remove` names filters to take out as `"SCAN_ON_PUSH filter"` or `"CONTINUOUS_SCAN filter"`;
    `remove_unlisted` takes out every filter `spec` does not list. Each removal is listed in the plan. A scan type
    that the kept filters cannot have (BASIC with continuous filters) is refused when applied, before any write.
    """
    wanted = _split_scanning(spec.to_api())
    return make_plan(registry, [(scanning_configuration(), Wanted(wanted, tuple(remove), remove_unlisted))])


def matching_repositories(spec: ScanningSpec, names: Iterable[str]) -> pd.DataFrame:
    """Which repositories does this configuration scan, and how? One row per name, sorted.

    Columns (`MATCH_COLUMNS`): repository, scanning (in words), scan_frequency (as
    BatchGetRepositoryScanningConfiguration reports it), matched_filters (the deciding filters, comma-separated).
    """
    import pandas as pd

    rows = []
    for name in sorted(set(names)):
        decision = resolve(spec.to_api(), name)
        rows.append([name, decision.summary, decision.scan_frequency, ", ".join(decision.applied_filters)])
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


# --- scans and findings ------------------------------------------------------------------------------------


def _image_id(tag: str | None, digest: str | None) -> dict[str, str]:
    return {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}


def start_scan(registry: Registry, repository: str, *, tag: str | None = None, digest: str | None = None) -> str:
    """Start a basic scan and return its status; `ScanQuotaError` (with when to retry) inside the 24 hours."""
    ecr = registry.client()
    try:
        response = ecr.start_image_scan(repositoryName=repository, imageId=_image_id(tag, digest))
    except ecr.exceptions.LimitExceededException:
        scanned = _describe(registry, repository, _image_id(tag, digest))
        when = (scanned or {}).get("imageScanFindings", {}).get("imageScanCompletedAt")
        after = ""
        if when:
            retry = when + timedelta(hours=24)
            after = f"; the last one finished at {when:%Y-%m-%d %H:%M %Z}, try again after {retry:%Y-%m-%d %H:%M %Z}"
        raise ScanQuotaError(
            f"{repository}: ECR scans an image at most once per 24 hours, scan on push included{after}. "
            "Read the existing findings meanwhile."
        ) from None
    return response["imageScanStatus"]["status"]


def _describe(registry: Registry, repository: str, image_id: dict[str, str]) -> dict[str, Any] | None:
    """Every page of DescribeImageScanFindings merged, once the scan finished; None when the image was never scanned."""
    wait_for_scan(registry, repository, image_id)
    ecr = registry.client()
    merged: dict[str, Any] | None = None
    try:
        for page in ecr.get_paginator("describe_image_scan_findings").paginate(
            repositoryName=repository, imageId=image_id
        ):
            if merged is None:
                merged = {**page, "imageScanFindings": dict(page.get("imageScanFindings") or {})}
                continue
            for key in ("findings", "enhancedFindings"):
                if key in page.get("imageScanFindings", {}):
                    merged["imageScanFindings"][key] = (
                        merged["imageScanFindings"].get(key, []) + page["imageScanFindings"][key]
                    )
    except ecr.exceptions.ScanNotFoundException:
        return None
    return merged


def _installed(package: dict[str, Any]) -> str:
    epoch = f"{package['epoch']}:" if package.get("epoch") else ""
    release = f"-{package['release']}" if package.get("release") else ""
    return f"{epoch}{package.get('version', '')}{release}"


def _rows(repository: str, tag: str, digest: str, scanned: dict[str, Any]) -> list[dict[str, Any]]:
    found = scanned.get("imageScanFindings") or {}
    image = {"repository": repository, "tag": tag, "digest": digest}
    rows = []
    for finding in found.get("findings", []):
        attributes = {a["key"]: a["value"] for a in finding.get("attributes", [])}
        rows.append(
            {
                **image,
                "id": finding["name"],
                "severity": finding["severity"],
                "package": attributes.get("package_name"),
                "installed": attributes.get("package_version"),
                "fixed": None,  # basic findings do not say which version fixes them (enhanced ones do)
                "source": finding.get("uri"),
            }
        )
    for finding in found.get("enhancedFindings", []):
        details = finding.get("packageVulnerabilityDetails", {})
        severity = "UNDEFINED" if finding.get("severity") == "UNTRIAGED" else finding.get("severity", "UNDEFINED")
        for package in details.get("vulnerablePackages", []):
            fixed = package.get("fixedInVersion")
            rows.append(
                {
                    **image,
                    "id": details.get("vulnerabilityId"),
                    "severity": severity,
                    "package": package.get("name"),
                    "installed": _installed(package),
                    "fixed": None if fixed in (None, "NotAvailable") else fixed,
                    "source": details.get("sourceUrl"),
                }
            )
    return rows


def _children(registry: Registry, repository: str, digest: str) -> list[str]:
    """The image manifests an index lists (each is scanned, the index itself is not)."""
    got = registry.client().batch_get_image(
        repositoryName=repository, imageIds=[{"imageDigest": digest}], acceptedMediaTypes=list(_INDEX_TYPES)
    )
    return [m["digest"] for m in json.loads(got["images"][0]["imageManifest"]).get("manifests", [])]


def _images(registry: Registry, repository: str) -> list[tuple[str, str]]:
    """(tags, digest) of every image manifest in a repository; an index lends its tags to its manifests."""
    details = [
        d
        for page in registry.client().get_paginator("describe_images").paginate(repositoryName=repository)
        for d in page["imageDetails"]
    ]
    lent: dict[str, list[str]] = {}
    for detail in details:
        if detail.get("imageManifestMediaType") in _INDEX_TYPES:
            for child in _children(registry, repository, detail["imageDigest"]):
                lent.setdefault(child, []).extend(detail.get("imageTags", []))
    return [
        (",".join(sorted(d.get("imageTags") or lent.get(d["imageDigest"], []))), d["imageDigest"])
        for d in details
        if d.get("imageManifestMediaType") not in _INDEX_TYPES
    ]


def _sorted_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    rows.sort(
        key=lambda r: (
            _RANK.get(r["severity"], len(SEVERITIES)),
            r["repository"],
            r["tag"],
            r["digest"],
            r["id"],
            r["package"] or "",
        )
    )
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def _why(status: dict[str, str]) -> str:
    """What an unfinished scan status means for the reader, and what to do next."""
    state = status.get("status")
    if state is None:
        return (
            "it was never scanned. Start a basic scan (ecrlab.scanning.start_scan) or push it where a scan-on-push "
            "filter matches."
        )
    if state in ("IN_PROGRESS", "PENDING"):
        return f"its scan is {state}. Wait for it (aws ecr wait image-scan-complete) and read again."
    if state == "UNSUPPORTED_IMAGE":
        return (
            "its scan is UNSUPPORTED_IMAGE: the scanner knows no OS or package manager in it, so nothing was checked."
        )
    return f"its scan is {state}: {status.get('description', '')}"


def findings(
    registry: Registry, repository: str | None = None, *, tag: str | None = None, digest: str | None = None
) -> pd.DataFrame:
    """Scan findings as one row per (image, vulnerability, package), most severe first.

    Columns (`FINDING_COLUMNS`): repository, tag (comma-separated, "" if untagged), digest, id (CVE), severity
    (ECR's scale; Inspector's UNTRIAGED shows as UNDEFINED), package, installed, fixed (enhanced scans only),
    source (the advisory's URL). With a tag or digest: that image (an index: each of its images), and
    `NotScannedError` when it has no finished scan; without: every scanned image of the repository, or of
    the registry when no repository is given.
    """
    if tag or digest:
        if repository is None:
            raise ValidationError("repository", None, "give the repository of the tag or digest")
        detail = registry.client().describe_images(repositoryName=repository, imageIds=[_image_id(tag, digest)])
        image = detail["imageDetails"][0]
        shown = tag or ",".join(sorted(image.get("imageTags", [])))
        targets = [(shown, image["imageDigest"])]
        if image.get("imageManifestMediaType") in _INDEX_TYPES:
            targets = [(shown, child) for child in _children(registry, repository, image["imageDigest"])]
        rows = []
        for shown_tag, image_digest in targets:
            scanned = _describe(registry, repository, {"imageDigest": image_digest})
            status = (scanned or {}).get("imageScanStatus", {})
            if status.get("status") not in _FINISHED:
                raise NotScannedError(f"{repository}@{image_digest} has no findings to read: {_why(status)}")
            rows += _rows(repository, shown_tag, image_digest, scanned)
        return _sorted_frame(rows)
    names = (
        [repository]
        if repository
        else [
            r["repositoryName"]
            for page in registry.client().get_paginator("describe_repositories").paginate()
            for r in page["repositories"]
        ]
    )
    rows = []
    for name in names:
        for tags, image_digest in _images(registry, name):
            scanned = _describe(registry, name, {"imageDigest": image_digest})
            if scanned and scanned.get("imageScanStatus", {}).get("status") in _FINISHED:
                rows += _rows(name, tags, image_digest, scanned)
    return _sorted_frame(rows)


def new_findings(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The rows of `after` that `before` did not have, by (repository, digest, id, package): what a rescan, or
    Inspector's continuous scanning, added."""
    key = ["repository", "digest", "id", "package"]
    seen = set(before[key].itertuples(index=False, name=None))
    added = [row not in seen for row in after[key].itertuples(index=False, name=None)]
    return after[added].reset_index(drop=True)


# A stand-in advisory for the workshop: the emulator's feed takes it as if it had just been published. The id says
# it is not real, so nobody looks for it in a real advisory database. zlib 1.3-r2 is what alpine-node has.
WORKSHOP_ADVISORY: dict[str, Any] = {
    "schema_version": "1.6.0",
    "id": "ECRLAB-DEMO-0001",
    "modified": "2025-06-03T08:00:00Z",
    "published": "2025-06-03T08:00:00Z",
    "summary": "zlib: workshop stand-in for a newly published advisory (not a real vulnerability)",
    "details": "A fictional advisory the ecrlab workshop publishes to the emulator's feed to show continuous scanning.",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "Alpine:v3.19", "name": "zlib"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.3.1-r0"}]}],
        }
    ],
}


def severity_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Findings per severity, most severe first, only severities that occur (as ECR counts them)."""
    counts = frame["severity"].value_counts().to_dict() if len(frame) else {}
    return {severity: int(counts[severity]) for severity in SEVERITIES if counts.get(severity)}


_COLOURS = {
    "CRITICAL": "#b71c1c",
    "HIGH": "#e65100",
    "MEDIUM": "#f9a825",
    "LOW": "#1565c0",
    "INFORMATIONAL": "#607d8b",
    "UNDEFINED": "#9e9e9e",
}


@dataclass(frozen=True)
class SeverityChart:
    """Findings per severity as bars: HTML in a notebook, text elsewhere (no plotting library needed)."""

    counts: dict[str, int]
    title: str = "Findings by severity"

    def __str__(self) -> str:
        width = max(self.counts.values(), default=0)
        lines = [self.title]
        for severity in SEVERITIES:
            count = self.counts.get(severity, 0)
            bar = "█" * round(30 * count / width) if width else ""
            lines.append(f"  {severity:<13} {bar} {count}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        width = max(self.counts.values(), default=0)
        rows = "".join(
            f"<tr><td style='padding-right:8px'>{severity}</td><td style='width:24em'>"
            f"<div style='background:{_COLOURS[severity]};height:1em;"
            f"width:{100 * self.counts.get(severity, 0) / width if width else 0:.0f}%'></div></td>"
            f"<td style='padding-left:8px'>{self.counts.get(severity, 0)}</td></tr>"
            for severity in SEVERITIES
        )
        return f"<p><b>{html.escape(self.title)}</b></p><table>{rows}</table>"


def severity_chart(frame: pd.DataFrame, title: str = "Findings by severity") -> SeverityChart:
    """A bar chart of a findings DataFrame's severities."""
    return SeverityChart(severity_counts(frame), title)


# --- CI gate -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GateResult:
    """Whether findings pass a severity threshold, and the findings that block when they do not."""

    threshold: str
    counts: dict[str, int]
    blocking: pd.DataFrame

    @property
    def passed(self) -> bool:
        return self.blocking.empty

    @property
    def exit_code(self) -> int:
        """What a CI step exits with: 0 passes, 1 blocks."""
        return 0 if self.passed else 1

    def __str__(self) -> str:
        found = ", ".join(f"{count} {severity}" for severity, count in self.counts.items()) or "no findings"
        if self.passed:
            return f"PASS: nothing at or above {self.threshold} ({found})."
        blocking = severity_counts(self.blocking)
        worst = ", ".join(f"{count} {severity}" for severity, count in blocking.items())
        return f"FAIL: {len(self.blocking)} finding(s) at or above {self.threshold}: {worst} (all: {found})."


def gate(frame: pd.DataFrame, threshold: str = "HIGH") -> GateResult:
    """Block on any finding at or above `threshold` on ECR's scale; unrated (UNDEFINED) findings block only under
    the threshold UNDEFINED, which blocks on every finding."""
    if threshold not in _RANK:
        raise ValidationError("threshold", threshold, f"must be one of {', '.join(SEVERITIES)}")
    at_or_above = frame["severity"].map(lambda s: _RANK.get(s, len(SEVERITIES)) <= _RANK[threshold])
    return GateResult(threshold, severity_counts(frame), frame[at_or_above].reset_index(drop=True))


# --- alerting ----------------------------------------------------------------------------------------------

# BASIC: ECR's `ECR Image Scan`, whose `finding-severity-counts` lists only severities that occur, so a CRITICAL
# key means at least one (the numeric test says so explicitly). ENHANCED: findings arrive from Amazon Inspector as
# `Inspector2 Finding` events of source `aws.inspector2`, one per finding with its `severity`
# (image-scanning-enhanced-events and Inspector's EventBridge page; docs/fidelity.md).
CRITICAL_FINDINGS_PATTERN = {
    "$or": [
        {
            "source": ["aws.ecr"],
            "detail-type": ["ECR Image Scan"],
            "detail": {"finding-severity-counts": {"CRITICAL": [{"numeric": [">", 0]}]}},
        },
        {
            "source": ["aws.inspector2"],
            "detail-type": ["Inspector2 Finding"],
            "detail": {"severity": ["CRITICAL"], "status": ["ACTIVE"]},
        },
    ]
}


def _allow_eventbridge(action: str, resource: str, rule_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"ecrlab-eventbridge-{rule_arn.rsplit('/', 1)[-1]}",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": action,
                "Resource": resource,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }


EXISTS = "@exists"  # a queue or topic with no policy statement of anyone's is still there


def _split_endpoint(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """A queue's or topic's parts: that it exists, and its access policy's statements by Sid."""
    if value is None:
        return {}
    policy = value.get("Policy") or {}
    parts: dict[str, Any] = {EXISTS: True}
    parts.update({f"@{key}": member for key, member in policy.items() if key != "Statement"})
    statements = policy.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        sid = statement.get("Sid")
        parts[f"Sid {sid}" if sid else "statement " + json.dumps(statement, sort_keys=True)] = statement
    return parts


def _join_endpoint(parts: dict[str, Any]) -> dict[str, Any] | None:
    if not parts:
        return None
    statements = [value for key, value in parts.items() if not key.startswith("@")]
    members = {key[1:]: value for key, value in parts.items() if key.startswith("@") and key != EXISTS}
    return {"Policy": {"Version": "2012-10-17", **members, "Statement": statements} if statements else None}


def _label_endpoint(key: str, part: Any) -> str:
    if key == EXISTS:
        return "the queue or topic itself"
    return f"policy {key[1:]} {part}" if key.startswith("@") else key.removeprefix("Sid ")


ENDPOINT_PARTS = Parts(_split_endpoint, _join_endpoint, "policy statement", _label_endpoint)


def _split_rule(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """An EventBridge rule's parts: its pattern and state, and each target by Id."""
    if value is None:
        return {}
    parts = {"@EventPattern": value["EventPattern"], "@State": value["State"]}
    parts.update({f"target {target['Id']}": target for target in value.get("Targets", [])})
    return parts


def _join_rule(parts: dict[str, Any]) -> dict[str, Any] | None:
    if "@EventPattern" not in parts:
        return None
    targets = sorted((v for k, v in parts.items() if not k.startswith("@")), key=lambda t: t["Id"])
    return {"EventPattern": parts["@EventPattern"], "State": parts.get("@State", "ENABLED"), "Targets": targets}


def _label_rule(key: str, part: Any) -> str:
    if key.startswith("@"):
        return f"{key[1:]} {json.dumps(part, sort_keys=True)}"
    return key.removeprefix("target ")


RULE_PARTS = Parts(_split_rule, _join_rule, "target", _label_rule)


@setting_kind("sqs-queue")
def sqs_queue(name: str) -> Setting:
    """A queue and its access policy, shared statement by statement (deleting the setting deletes the queue)."""

    def read(registry: Registry) -> dict[str, Any] | None:
        sqs = registry.client("sqs")
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            return None
        policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
        return {"Policy": json.loads(policy) if policy else None}

    def write(registry: Registry, value: dict[str, Any] | None) -> None:
        sqs = registry.client("sqs")
        if value is None:
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
            return
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        policy = json.dumps(value["Policy"]) if value["Policy"] else ""
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})

    return Setting("sqs-queue", name, read, write, ENDPOINT_PARTS)


@setting_kind("sns-topic")
def sns_topic(name: str) -> Setting:
    """A topic and its access policy, shared statement by statement (deleting the setting deletes the topic)."""

    def arn(registry: Registry) -> str:
        return f"arn:aws:sns:{registry.region}:{registry.account_id}:{name}"

    def read(registry: Registry) -> dict[str, Any] | None:
        sns = registry.client("sns")
        try:
            attributes = sns.get_topic_attributes(TopicArn=arn(registry))["Attributes"]
        except sns.exceptions.NotFoundException:
            return None
        return {"Policy": json.loads(attributes["Policy"]) if attributes.get("Policy") else None}

    def write(registry: Registry, value: dict[str, Any] | None) -> None:
        sns = registry.client("sns")
        if value is None:
            sns.delete_topic(TopicArn=arn(registry))
            return
        topic = sns.create_topic(Name=name)["TopicArn"]
        sns.set_topic_attributes(
            TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(value["Policy"] or {})
        )

    return Setting("sns-topic", name, read, write, ENDPOINT_PARTS)


@setting_kind("eventbridge-rule")
def eventbridge_rule(name: str) -> Setting:
    """A rule on the default event bus with its pattern and targets, shared target by target (Id); deleting it
    removes both."""

    def read(registry: Registry) -> dict[str, Any] | None:
        events = registry.client("events")
        try:
            rule = events.describe_rule(Name=name)
        except events.exceptions.ResourceNotFoundException:
            return None
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
        return {
            "EventPattern": json.loads(rule["EventPattern"]),
            "State": rule["State"],
            "Targets": sorted(({"Id": t["Id"], "Arn": t["Arn"]} for t in targets), key=lambda t: t["Id"]),
        }

    def write(registry: Registry, value: dict[str, Any] | None) -> None:
        events = registry.client("events")
        current = read(registry)
        stale = [t["Id"] for t in (current or {}).get("Targets", []) if value is None or t not in value["Targets"]]
        if stale:
            events.remove_targets(Rule=name, Ids=stale)
        if value is None:
            events.delete_rule(Name=name)
            return
        events.put_rule(Name=name, EventPattern=json.dumps(value["EventPattern"]), State=value["State"])
        if value["Targets"]:
            events.put_targets(Rule=name, Targets=value["Targets"])

    return Setting("eventbridge-rule", name, read, write, RULE_PARTS)


def alert_on_critical(registry: Registry, target: str = "sqs", name: str = "ecr-critical-findings") -> Plan:
    """The plan for an alert on every basic scan that finds something CRITICAL: an SQS queue or SNS topic named
    `name` whose policy lets EventBridge (only this rule) deliver, and an EventBridge rule `name` matching those
    `ECR Image Scan` events that targets it. Apply it like any plan; re-planning an applied alert shows no change.
    """
    if target not in ("sqs", "sns"):
        raise ValidationError("target", target, "must be sqs or sns")
    region, account = registry.region, registry.account_id
    rule_arn = f"arn:aws:events:{region}:{account}:rule/{name}"
    if target == "sqs":
        destination = f"arn:aws:sqs:{region}:{account}:{name}"
        endpoint = (sqs_queue(name), {"Policy": _allow_eventbridge("sqs:SendMessage", destination, rule_arn)})
    else:
        destination = f"arn:aws:sns:{region}:{account}:{name}"
        endpoint = (sns_topic(name), {"Policy": _allow_eventbridge("sns:Publish", destination, rule_arn)})
    rule = {
        "@EventPattern": CRITICAL_FINDINGS_PATTERN,
        "@State": "ENABLED",
        f"target {target}": {"Id": target, "Arn": destination},
    }
    existing = eventbridge_rule(name).read(registry)
    if existing is not None and existing["EventPattern"] != CRITICAL_FINDINGS_PATTERN:
        # A rule of that name matching other events is someone else's: adding a target or changing its pattern
        # would change what they are alerted on.
        raise ValidationError(
            "alert_name", name, "names an EventBridge rule that matches other events (someone else's); choose another"
        )
    setting, value = endpoint
    return make_plan(
        registry,
        [(setting, Wanted(ENDPOINT_PARTS.split(value))), (eventbridge_rule(name), Wanted(rule))],
    )
