"""The name an alert gives its EventBridge rule and its SQS queue or SNS topic, checked before anything is created.

One name serves three services, so it must suit all of them: EventBridge `RuleName` (botocore model: 1–64 of
`[.\\-_A-Za-z0-9]`), an SQS queue name (CreateQueue: up to 80 alphanumerics, hyphens and underscores) and an SNS
topic name (CreateTopic: 1–256 ASCII letters, digits, underscores and hyphens). Their intersection: 1–64 letters,
digits, hyphens and underscores (a dot suits EventBridge only; `.fifo` queues and topics take no EventBridge
rule's events here).
"""

from __future__ import annotations

import re

from ecrlab.errors import ValidationError

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def check_alert_name(field: str, name: object) -> str:
    """`name` when it is a valid rule, queue and topic name; otherwise `ValidationError` naming `field`."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValidationError(
            field, name, "must be 1 to 64 letters, digits, hyphens or underscores (an EventBridge rule, SQS queue "
            "and SNS topic name at once)"
        )  # fmt: skip
    return name
