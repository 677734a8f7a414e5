"""EventBridge rules that target an SNS topic, as `ecrlab.scan_alerts.alert_on_critical(target="sns")` makes them.

moto's EventBridge delivers to SQS queues, log groups and event buses but raises NotImplementedError for a topic,
which would fail the very push whose scan sent the event. Here a matching event is published to the topic as
EventBridge does (the event JSON is the message), and moto delivers to every other target as before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from ecrlab.emulator.extension import model_hook
from ecrlab.emulator.moto_compat import EventMessageType, Rule, iso_8601_datetime_without_milliseconds, utcfromtimestamp

_TARGETS = threading.Lock()  # moto's delivery reads rule.targets; it sees the non-SNS ones while it runs


def _is_topic(target: dict[str, Any]) -> bool:
    parts = target.get("Arn", "").split(":")
    return len(parts) > 5 and parts[2] == "sns"


@model_hook(Rule, "send_to_targets", (), "EventBridge rules deliver to SNS topics too")
def send_to_targets(
    moto_send: Callable[..., None], rule: Rule, original_event: EventMessageType, transform_input: bool = True
) -> None:
    topics = [t for t in rule.targets if _is_topic(t)]
    if not topics:
        moto_send(original_event, transform_input)
        return
    if rule.event_pattern.matches_event(original_event):
        from ecrlab.emulator.moto_compat import sns_backends

        event = dict(original_event)
        if isinstance(when := event.get("time"), int | float):  # whole seconds are all the ISO form shows
            event["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(int(when)))
        for topic in topics:
            account, region = topic["Arn"].split(":")[4], topic["Arn"].split(":")[3]
            sns_backends()[account][region].publish(json.dumps(event), arn=topic["Arn"])
    others = [t for t in rule.targets if not _is_topic(t)]
    if others:
        with _TARGETS:
            everything, rule.targets = rule.targets, others
            try:
                moto_send(original_event, transform_input)
            finally:
                rule.targets = everything
