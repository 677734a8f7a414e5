"""Where events are delivered, as plannable settings: an SQS queue, an SNS topic (each with its access policy,
shared statement by statement) and an EventBridge rule (shared target by target).

Kept apart from any one alert so another feature's alert can reuse them; `ecrlab.scan_alerts` is the first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ecrlab.plan import Parts, Setting, setting_kind

if TYPE_CHECKING:
    from ecrlab.registry import Registry

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
