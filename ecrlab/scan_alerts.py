"""An alert when a scan finds something CRITICAL: an EventBridge rule matching ECR's and Inspector's scan events,
delivering to an SQS queue or SNS topic whose policy lets only that rule send. A plan like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecrlab.alert_names import check_alert_name
from ecrlab.errors import ValidationError
from ecrlab.event_delivery import ENDPOINT_PARTS, eventbridge_rule, sns_topic, sqs_queue
from ecrlab.plan import Plan, Wanted, make_plan

if TYPE_CHECKING:
    from ecrlab.registry import Registry

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


def alert_on_critical(registry: Registry, target: str = "sqs", name: str = "ecr-critical-findings") -> Plan:
    """The plan for an alert on every basic scan that finds something CRITICAL: an SQS queue or SNS topic named
    `name` whose policy lets EventBridge (only this rule) deliver, and an EventBridge rule `name` matching those
    `ECR Image Scan` events that targets it. Apply it like any plan; re-planning an applied alert shows no change.
    """
    if target not in ("sqs", "sns"):
        raise ValidationError("target", target, "must be sqs or sns")
    check_alert_name("name", name)
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
    rule_setting = eventbridge_rule(name)
    existing = rule_setting.read(registry)
    if existing is not None and existing["EventPattern"] != CRITICAL_FINDINGS_PATTERN:
        # A rule of that name matching other events is someone else's: adding a target or changing its pattern
        # would change what they are alerted on.
        raise ValidationError(
            "alert_name", name, "names an EventBridge rule that matches other events (someone else's); choose another"
        )
    setting, value = endpoint
    return make_plan(
        registry,
        [(setting, Wanted(ENDPOINT_PARTS.split(value))), (rule_setting, Wanted(rule))],
        read={rule_setting.address: existing},
    )
