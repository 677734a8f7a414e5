"""Identity policies enforced on the other services the runbooks call: EventBridge, SQS, SNS, Secrets Manager, IAM.

moto's own IAM enforcement (`ActionAuthenticatorMixin`, `INITIAL_NO_AUTH_ACTION_COUNT`) refuses every access key
IAM did not issue, which would lock out the demo credentials every lesson uses. So, as for ECR
(`ecrlab.emulator.authorization`), the demo credentials act as the account root and IAM users and assumed-role
sessions are decided from their identity policies by `ecrlab.permissions.simulate`. Each request is evaluated
against the ARN of the queue, rule, topic, secret, role or user it names, or "*" for the actions AWS's Service
Authorization Reference lists without a resource type (ListQueues, ListRules, ListTopics, ListSecrets, ListRoles,
ListUsers). STS is left open: GetCallerIdentity needs no permission on AWS.
"""

from __future__ import annotations

import json
from typing import Any

from ecrlab.emulator.moto_compat import (
    JsonRESTError,
    access_denied_error,
    replace_service_authorization,
    request_action,
)
from ecrlab.permissions.simulate import simulate

# service -> protocol of the error the SDK expects (botocore's models)
SERVICES = {"sqs": "json", "events": "json", "secretsmanager": "json", "sns": "query", "iam": "query"}


def request_arn(service: str, action: str, params: dict[str, Any], region: str, account: str) -> str:
    """The ARN IAM evaluates `service:action` against, from the request's parameters ("*" when none is named).

    The same function names the resources `ecrlab iam-policy` writes into the policy (with `*` for region and
    account), so the published policy and the emulator's decision use one reading of each request.
    """

    def value(*names: str) -> str | None:
        for name in names:
            found = params.get(name)
            if isinstance(found, list):
                found = found[0] if found else None
            if found:
                return str(found)
        return None

    if service == "sqs":
        url = value("QueueUrl")
        name = url.rstrip("/").rsplit("/", 1)[-1] if url else value("QueueName")
        return f"arn:aws:sqs:{region}:{account}:{name}" if name else "*"
    if service == "events":
        name = value("Rule", "Name") if action != "ListRules" else None
        return f"arn:aws:events:{region}:{account}:rule/{name}" if name else "*"
    if service == "sns":
        arn = value("TopicArn", "ResourceArn")
        name = value("Name") if action == "CreateTopic" else None
        return arn or (f"arn:aws:sns:{region}:{account}:{name}" if name else "*")
    if service == "secretsmanager":
        secret = value("SecretId", "Name")
        if not secret:
            return "*"
        return secret if secret.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}"
    if service == "iam":
        arn = value("PolicyArn")
        if arn and action in ("GetPolicy", "GetPolicyVersion", "ListPolicyVersions", "ListEntitiesForPolicy"):
            return arn
        for key, kind in (("RoleName", "role"), ("UserName", "user"), ("GroupName", "group")):
            name = value(key)
            if name:
                return f"arn:aws:iam::{account}:{kind}/{name}"
        return "*"
    return "*"


def _params(response: Any) -> dict[str, Any]:
    body = response.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body and body.lstrip().startswith("{"):
        try:
            return json.loads(body)
        except ValueError:
            return {}
    return dict(response.querystring or {})


def denial(service: str, response: Any) -> str | None:
    """None when the caller may make this request, else AWS's AccessDenied sentence."""
    from ecrlab.emulator.authorization import caller_arn, effective_principal, identity_policies, root

    account = response.current_account
    principal = caller_arn(account, response.get_access_key(), response.headers)
    if effective_principal(principal) == root(account):
        return None
    action = request_action(response)
    resource = request_arn(service, action, _params(response), response.region, account)
    decision = simulate(
        principal,
        f"{service}:{action}",
        resource,
        identity_policies=identity_policies(principal),
        resource_account=account,
    )
    if decision.allowed:
        return None
    reason = (
        "with an explicit deny in an identity-based policy"
        if decision.outcome == "ExplicitlyDenied"
        else f"because no identity-based policy allows the {service}:{action} action"
    )
    return f"User: {principal} is not authorized to perform: {service}:{action} on resource: {resource} {reason}"


def _authorizer(service: str, protocol: str) -> Any:
    def authorize(response: Any, resource: str = "*") -> None:
        problem = denial(service, response)
        if not problem:
            return
        if protocol == "json":
            raise JsonRESTError("AccessDeniedException", problem)
        user, _, rest = problem.removeprefix("User: ").partition(" is not authorized to perform: ")
        error: Any = access_denied_error(user, rest)  # query protocols: <Code>AccessDenied</Code>, HTTP 403
        if service == "sns":  # the SNS model's AuthorizationErrorException: code AuthorizationError, HTTP 403
            error.error_type = "AuthorizationError"
            error.description = error.description.replace("<Code>AccessDenied<", "<Code>AuthorizationError<")
        raise error

    return authorize


def install() -> None:
    """Put the decision in front of each service's moto responses (idempotent)."""
    for service, protocol in SERVICES.items():
        replace_service_authorization(service, _authorizer(service, protocol))
