"""The runbooks' least-privilege IAM policy comes from the calls they really make, with resources scoped as AWS allows.

Which ECR actions take a repository ARN and which need "*" is the Service Authorization Reference's table
(https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html):
DescribeImages, CreateRepository, DeleteRepository, ListTagsForResource have resource type `repository`;
GetAuthorizationToken, PutRegistryPolicy, PutReplicationConfiguration and the creation-template and
pull-through-cache rule actions have none. That the published policy works is tests/test_least_privilege.py.
"""

from __future__ import annotations

from ecrlab.iam_policy import call_resource, least_privilege

REPO = "arn:aws:ecr:*:*:repository/"


def test_ecr_actions_name_repositories_only_where_aws_has_a_resource_type():
    assert call_resource("ecr", "DescribeImages", {"repositoryName": "team-a/api"}) == [f"{REPO}team-a/api"]
    assert call_resource("ecr", "ListTagsForResource", {"resourceArn": f"{REPO}prod/db"}) == [f"{REPO}prod/db"]
    assert call_resource("ecr", "DescribeRepositories", {"repositoryNames": ["a1", "b2"]}) == [
        f"{REPO}a1",
        f"{REPO}b2",
    ]
    for registry_level in ("GetAuthorizationToken", "PutRegistryPolicy", "PutReplicationConfiguration"):
        assert call_resource("ecr", registry_level, {}) == ["*"]
    assert call_resource("ecr", "DeleteRepositoryCreationTemplate", {"prefix": "team-c"}) == ["*"]
    assert call_resource("ecr", "DeletePullThroughCacheRule", {"ecrRepositoryPrefix": "quay"}) == ["*"]


def test_other_services_name_their_queue_rule_topic_and_role():
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/alerts"
    assert call_resource("sqs", "DeleteQueue", {"QueueUrl": url}) == ["arn:aws:sqs:*:*:alerts"]
    assert call_resource("sqs", "CreateQueue", {"QueueName": "alerts"}) == ["arn:aws:sqs:*:*:alerts"]
    assert call_resource("sqs", "ListQueues", {}) == ["*"]
    assert call_resource("events", "RemoveTargets", {"Rule": "r1", "Ids": ["a"]}) == ["arn:aws:events:*:*:rule/r1"]
    assert call_resource("events", "ListRules", {"NamePrefix": "r"}) == ["*"]
    assert call_resource("iam", "ListRolePolicies", {"RoleName": "ci-role"}) == ["arn:aws:iam::*:role/ci-role"]


def test_what_runbooks_create_keeps_its_name_what_they_find_covers_its_type_and_star_wins():
    calls = [
        {"action": "ecr:CreateRepository", "resources": [f"{REPO}hello-ecrlab"]},
        {"action": "ecr:DeleteRepository", "resources": [f"{REPO}hello-ecrlab"]},
        {"action": "ecr:DescribeImages", "resources": [f"{REPO}team-a/api", f"{REPO}hello-ecrlab"]},
        {"action": "ecr:GetRepositoryPolicy", "resources": [f"{REPO}hello-ecrlab"]},
        {"action": "ecr:DescribeRepositories", "resources": [f"{REPO}hello-ecrlab"]},
        {"action": "ecr:DescribeRepositories", "resources": ["*"]},
        {"action": "sqs:GetQueueAttributes", "resources": ["arn:aws:sqs:*:*:ecr-critical-findings-team-c"]},
        {"action": "sqs:CreateQueue", "resources": ["arn:aws:sqs:*:*:ecr-critical-findings"]},
        {"action": "ecr:PutLifecyclePolicy", "resources": [f"{REPO}team-a/api"]},
    ]
    by_action = {a: s["Resource"] for s in least_privilege(calls)["Statement"] for a in s["Action"]}
    assert by_action == {
        "ecr:CreateRepository": [f"{REPO}hello-ecrlab"],
        "ecr:DeleteRepository": [f"{REPO}hello-ecrlab"],
        "ecr:GetRepositoryPolicy": [f"{REPO}hello-ecrlab"],  # read only what the runbook created
        "ecr:DescribeImages": [f"{REPO}*"],  # read another team's repository: all repositories
        "ecr:PutLifecyclePolicy": [f"{REPO}*"],  # a repository the parameters name: any repository
        "ecr:DescribeRepositories": "*",  # listed without names
        # the alert queue by its name prefix (the default alert_name and names extending it)
        "sqs:CreateQueue": ["arn:aws:sqs:*:*:ecr-critical-findings*"],
        "sqs:GetQueueAttributes": ["arn:aws:sqs:*:*:ecr-critical-findings*"],
    }
