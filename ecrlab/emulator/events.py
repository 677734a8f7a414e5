"""Events ECR sends to EventBridge, delivered into moto's EventBridge of the same account and region.

So a learner's rule (`source: aws.ecr`) with an SQS target receives them exactly as on AWS. Shapes follow
the ECR EventBridge page (ecr-facts.md § 5): `ECR Image Action` with `resources: []`.
"""

from __future__ import annotations

import json
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
    from moto.events.models import events_backends

    event = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "Resources": resources,
        "Time": emulator_now().timestamp(),  # epoch seconds, as PutEvents receives it; delivered as ISO time
    }
    events_backends[account][region].put_events([event])


def image_action(account: str, region: str, action: str, repository: str, digest: str, tag: str | None) -> None:
    """`ECR Image Action` for a completed push (`PUSH`) or a deletion (`DELETE`)."""
    detail = {"result": "SUCCESS", "repository-name": repository, "image-digest": digest, "action-type": action}
    if tag:
        detail["image-tag"] = tag
    emit(account, region, "ECR Image Action", detail, [])
