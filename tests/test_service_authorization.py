"""The emulator decides EventBridge, SQS, SNS, Secrets Manager and IAM requests from the caller's identity policies,
as AWS does, and a role's attached customer-managed policy counts (it used to crash every call with HTTP 500).

Error codes are the services' own (botocore models: SNS AuthorizationError HTTP 403, IAM AccessDenied HTTP 403,
EventBridge AccessDeniedException); the resource in each message is the ARN of the queue, rule or role named.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}
    ],
}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["ecr:DescribeRepositories", "iam:ListRoles"], "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": ["sqs:CreateQueue", "sqs:GetQueueAttributes"],
            "Resource": "arn:aws:sqs:*:*:team-c-*",
        },
        {"Effect": "Allow", "Action": "events:PutRule", "Resource": "arn:aws:events:*:*:rule/team-c-*"},
    ],
}


@pytest.fixture
def operator(registry):
    """A session of a role whose only permissions are POLICY, attached as a customer-managed policy."""
    iam = registry.client("iam")
    iam.create_role(RoleName="operator", AssumeRolePolicyDocument=json.dumps(TRUST))
    arn = iam.create_policy(PolicyName="runbooks", PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="operator", PolicyArn=arn)
    return registry.assume_role(f"arn:aws:iam::{ACCOUNT}:role/operator", "operator-session")


def refused(call) -> dict:
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response


def test_an_attached_customer_managed_policy_is_evaluated_not_a_server_error(operator):
    assert operator.client().describe_repositories()["repositories"] == []
    response = refused(lambda: operator.client().create_repository(repositoryName="not-granted"))
    assert response["Error"]["Code"] == "AccessDeniedException"


def test_queues_and_rules_are_allowed_by_name_and_refused_otherwise(operator, registry):
    sqs, events = operator.client("sqs"), operator.client("events")
    url = sqs.create_queue(QueueName="team-c-alerts")["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"].endswith(
        ":team-c-alerts"
    )
    other = registry.client("sqs").create_queue(QueueName="team-sec-pager")["QueueUrl"]
    denied = refused(lambda: sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["Policy"]))
    assert f"on resource: arn:aws:sqs:us-east-1:{ACCOUNT}:team-sec-pager" in denied["Error"]["Message"]
    assert "sqs:DeleteQueue" in refused(lambda: sqs.delete_queue(QueueUrl=url))["Error"]["Message"]
    events.put_rule(Name="team-c-findings", EventPattern=json.dumps({"source": ["aws.ecr"]}))
    denied = refused(lambda: events.put_rule(Name="team-sec-findings", EventPattern='{"source": ["aws.ecr"]}'))
    assert denied["Error"]["Code"] == "AccessDeniedException"
    assert f"arn:aws:events:us-east-1:{ACCOUNT}:rule/team-sec-findings" in denied["Error"]["Message"]
    assert registry.client("events").list_rules()["Rules"][0]["Name"] == "team-c-findings"  # root unaffected


def test_query_protocol_services_answer_their_own_error_codes(operator):
    assert "operator" in [role["RoleName"] for role in operator.client("iam").list_roles()["Roles"]]
    iam = refused(lambda: operator.client("iam").list_users())
    assert (iam["Error"]["Code"], iam["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403)
    sns = refused(lambda: operator.client("sns").list_topics())
    assert (sns["Error"]["Code"], sns["ResponseMetadata"]["HTTPStatusCode"]) == ("AuthorizationError", 403)
    secrets = refused(lambda: operator.client("secretsmanager").list_secrets())
    assert "secretsmanager:ListSecrets on resource: *" in secrets["Error"]["Message"]
