"""A registry shared by several teams, as a busy production registry is: the fixture the runbooks must not harm.

It lives in the package because `ecrlab iam-policy` derives the least-privilege policy from runs against it (a
populated registry makes the runbooks read what an empty one never shows); the tests import it from here.

`populate(registry)` gives it the teams' IAM roles, three other teams' registry-policy statements (a DR replication
grant, a CI pull-through-cache grant, a break-glass Deny), two replication rules owned by other teams, ENHANCED
scanning with filters other teams rely on, pull-through-cache rules, creation templates, an EventBridge rule with two
targets and a queue policy, another team's managed-signing rule, another team's pull-time update exclusion, and 20
repositories. `snapshot(registry)` reads all of it through the public AWS API
(not through ecrlab's settings), so a test can diff the registry before and after a runbook.
"""

from __future__ import annotations

import json
from typing import Any

from ecrlab.registry import Registry

ACCOUNT = "123456789012"
REGION = "us-east-1"
DR_ACCOUNT = "444455556666"

# The text exactly as another team wrote it (indentation and key order included): it must come back byte for byte.
OTHER_STATEMENTS = [
    {
        "Sid": "team-dr-ReplicationGrant",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{DR_ACCOUNT}:root"},
        "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
        "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/*",
    },
    {
        "Sid": "team-ci-PullThroughCache",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci-role"},
        "Action": ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"],
        "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/ecr-public/*",
    },
    {
        "Sid": "team-sec-BreakGlassDeny",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "ecr:DeleteRepository",
        "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/prod/*",
        "Condition": {"StringNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/break-glass"}},
    },
]
POLICY_TEXT = json.dumps({"Version": "2012-10-17", "Statement": OTHER_STATEMENTS}, indent=4)

OTHER_RULES = [
    {
        "destinations": [{"region": "eu-west-1", "registryId": ACCOUNT}],
        "repositoryFilters": [{"filter": "team-a/", "filterType": "PREFIX_MATCH"}],
    },
    {
        "destinations": [{"region": "us-west-2", "registryId": DR_ACCOUNT}],
        "repositoryFilters": [{"filter": "prod/", "filterType": "PREFIX_MATCH"}],
    },
]
SCAN_TYPE = "ENHANCED"
OTHER_FILTERS = {"SCAN_ON_PUSH": ["team-a/*"], "CONTINUOUS_SCAN": ["prod/*", "team-b/*"]}
CACHE_RULES = [("ecr-public", "public.ecr.aws"), ("quay", "quay.io")]
TEMPLATES = ["team-a", "prod"]
ALERT = "ecr-critical-findings"  # another team's rule and queue of the name the scanning runbook uses by default
OTHER_SIGNING_RULES = [
    {
        "signingProfileArn": f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-profiles/team_a_release",
        "repositoryFilters": [{"filter": "team-a/*", "filterType": "WILDCARD_MATCH"}],
    }
]
OTHER_EXCLUSIONS = [f"arn:aws:iam::{ACCOUNT}:role/ci-role"]  # the CI team's scanner pulls keep no image alive
REPOSITORIES = [f"{team}/service-{n}" for team in ("team-a", "team-b", "prod", "sandbox") for n in range(5)]


def create_roles(registry: Registry) -> None:
    """The teams' IAM roles the registry-policy statements name (`platform-admin` administers repositories)."""
    iam = registry.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    for role in ("platform-admin", "ci-role", "break-glass"):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
        admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}
        iam.put_role_policy(RoleName=role, PolicyName="ecr", PolicyDocument=json.dumps(admin))


def populate(registry: Registry) -> None:
    """Make `registry` the busy shared registry described above."""
    ecr, sqs, events = registry.client(), registry.client("sqs"), registry.client("events")
    create_roles(registry)
    for name in REPOSITORIES:
        ecr.create_repository(repositoryName=name)
    ecr.put_registry_policy(policyText=POLICY_TEXT)
    ecr.put_replication_configuration(replicationConfiguration={"rules": OTHER_RULES})
    ecr.put_registry_scanning_configuration(
        scanType=SCAN_TYPE,
        rules=[
            {"scanFrequency": frequency, "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in fs]}
            for frequency, fs in OTHER_FILTERS.items()
        ],
    )
    ecr.put_signing_configuration(signingConfiguration={"rules": OTHER_SIGNING_RULES})
    for principal in OTHER_EXCLUSIONS:
        ecr.register_pull_time_update_exclusion(principalArn=principal)
    for prefix, upstream in CACHE_RULES:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=upstream)
    for prefix in TEMPLATES:
        ecr.create_repository_creation_template(
            prefix=prefix, appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE", description=f"{prefix} team"
        )
    queues = [sqs.create_queue(QueueName=name)["QueueUrl"] for name in (ALERT, "team-sec-pager")]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{ALERT}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "team-sec-events",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queues[0], Attributes={"Policy": json.dumps(policy)})
    events.put_rule(Name=ALERT, EventPattern=json.dumps({"source": ["aws.ecr"]}), State="ENABLED")
    events.put_targets(
        Rule=ALERT,
        Targets=[
            {"Id": "team-sec-queue", "Arn": arn},
            {"Id": "team-sec-pager", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:team-sec-pager"},
        ],
    )


def snapshot(registry: Registry) -> dict[str, Any]:
    """Everything the fixture holds, as the AWS API returns it (timestamps left out)."""
    ecr, sqs, events = registry.client(), registry.client("sqs"), registry.client("events")
    try:
        policy = ecr.get_registry_policy()["policyText"]
    except ecr.exceptions.RegistryPolicyNotFoundException:
        policy = None
    queues = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
        queues[url.rsplit("/", 1)[-1]] = attributes.get("Policy")
    rules = {}
    for rule in events.list_rules()["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        rules[rule["Name"]] = {
            "EventPattern": rule.get("EventPattern"),
            "State": rule["State"],
            "Targets": sorted((t["Id"], t["Arn"]) for t in targets),
        }
    return {
        "registry-policy": policy,
        "replication": ecr.describe_registry().get("replicationConfiguration"),
        "scanning": ecr.get_registry_scanning_configuration()["scanningConfiguration"],
        "signing": signing_rules(registry),
        "pull-time-exclusions": sorted(ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"]),
        "pull-through-cache": sorted(
            (r["ecrRepositoryPrefix"], r["upstreamRegistryUrl"])
            for r in ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
        ),
        "templates": sorted(
            json.dumps({k: v for k, v in t.items() if k not in ("createdAt", "updatedAt")}, sort_keys=True)
            for t in ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
        ),
        "repositories": sorted(
            (r["repositoryName"], r["imageTagMutability"]) for r in ecr.describe_repositories()["repositories"]
        ),
        "queues": queues,
        "eventbridge-rules": rules,
    }


def statements(snap: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(snap["registry-policy"])["Statement"] if snap["registry-policy"] else []


def filters(snap: dict[str, Any]) -> dict[str, list[str]]:
    return {
        rule["scanFrequency"]: [f["filter"] for f in rule["repositoryFilters"]] for rule in snap["scanning"]["rules"]
    }


def signing_rules(registry: Registry) -> list[dict[str, Any]]:
    """The registry's signing rules as the API returns them (none when it has no configuration)."""
    ecr = registry.client()
    try:
        return ecr.get_signing_configuration()["signingConfiguration"]["rules"]
    except ecr.exceptions.SigningConfigurationNotFoundException:
        return []
