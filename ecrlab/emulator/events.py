"""Events ECR sends to EventBridge, delivered into moto's EventBridge of the same account and region.

So a learner's rule (`source: aws.ecr`) with an SQS target receives them exactly as on AWS. Shapes follow
the ECR EventBridge page (docs/fidelity.md S5, S6): `ECR Image Action` with `resources: []`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ecrlab.emulator.clock import emulator_now


def emit(
    account: str,
    region: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str],
    source: str = "aws.ecr",
) -> None:
    """Put one event (`aws.ecr` unless another service sends it) on the default bus, timed by the emulator clock."""
    from ecrlab.emulator.moto_compat import events_backends

    event = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, default=_iso),
        "Resources": resources,
        "Time": emulator_now().timestamp(),  # epoch seconds, as PutEvents receives it; delivered as ISO time
    }
    events_backends[account][region].put_events([event])


def _iso(value: Any) -> str:
    """Timestamps inside a detail (Inspector's findings carry them) as ISO 8601 text."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def inspector_finding(account: str, region: str, finding: dict[str, Any], status: str = "ACTIVE") -> None:
    """Amazon Inspector's `Inspector2 Finding` (source `aws.inspector2`) for a finding created, updated or closed.

    The detail is the finding itself, as the Inspector EventBridge page shows it (docs/fidelity.md): ECR's
    `enhancedFindings[]` item with its score under Inspector's names (`inspectorScore`, `inspectorScoreDetails`).
    """
    detail = {key: value for key, value in finding.items() if key not in ("score", "scoreDetails")}
    if "score" in finding:
        detail["inspectorScore"] = finding["score"]
    if "scoreDetails" in finding:
        detail["inspectorScoreDetails"] = {"adjustedCvss": finding["scoreDetails"]["cvss"]}
    detail["status"] = status
    resources = [r["id"] for r in finding.get("resources", ()) if r.get("id")]
    emit(account, region, "Inspector2 Finding", detail, resources, source="aws.inspector2")


def image_action(account: str, region: str, action: str, repository: str, digest: str, tag: str | None) -> None:
    """`ECR Image Action` for a completed push (`PUSH`) or a deletion (`DELETE`)."""
    detail = {"result": "SUCCESS", "repository-name": repository, "image-digest": digest, "action-type": action}
    if tag:
        detail["image-tag"] = tag
    emit(account, region, "ECR Image Action", detail, [])
