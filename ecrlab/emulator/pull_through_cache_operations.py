"""Pull through cache rules in the emulator: the five operations, and how ECR authenticates to a rule's upstream.

What makes a rule valid and which rule covers a repository live in `ecrlab.pull_through_cache_rules`, shared with
the client. A rule's credential is read from the emulator's own Secrets Manager (moto) in the rule's account and
region, as ECR reads it through its service-linked role; `ValidatePullThroughCacheRule` then authenticates to the
upstream over `/v2/`. Error codes are the model's; where AWS's wording is not documented the message copies the
style of its documented messages (UNCONFIRMED [U6]). Filling the cache on a pull is `pull_through_fetch.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecrlab.emulator import tokens, upstream_standins
from ecrlab.emulator.aws_errors import aws_error, invalid_parameter
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.extension import Call, operation
from ecrlab.emulator.moto_compat import ECRBackend
from ecrlab.emulator.paging import page
from ecrlab.emulator.state import feature_state, state_of
from ecrlab.oci_transfer import UpstreamError, UpstreamRegistry
from ecrlab.pull_through_cache_rules import ECR_HOST, ROOT, RULE_LIMIT, kind_of, matching_rule, rule_problem
from ecrlab.template_rules import namespace


@feature_state()
@dataclass
class PullThroughCacheState:
    """The registry's pull through cache rules and, per cached tag, when it was last checked against its upstream."""

    rules: dict[str, StoredRule] = field(default_factory=dict)  # namespace -> rule
    # (repository, tag) -> when the cached tag was last validated against its upstream (the 24-hour re-check)
    checks: dict[tuple[str, str], datetime] = field(default_factory=dict)
    # (repository, blob digest) a cache repository lists but has not fetched from its upstream yet
    unfetched: set[tuple[str, str]] = field(default_factory=set)


# The role ECR acts as towards an upstream when a rule names none (its service-linked role).
SERVICE_LINKED_ROLE = "AWSServiceRoleForECRPullThroughCache"


@dataclass
class StoredRule:
    """A rule as the registry holds it: its API fields plus when it was created and last updated."""

    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def prefix(self) -> str:
        return self.fields["ecrRepositoryPrefix"]

    @property
    def upstream_url(self) -> str:
        return self.fields["upstreamRegistryUrl"]

    def to_api(self, registry_id: str) -> dict[str, Any]:
        return {**self.fields, "registryId": registry_id, "createdAt": self.created_at, "updatedAt": self.updated_at}


def rules_of(backend: ECRBackend) -> dict[str, StoredRule]:
    """The registry's rules keyed by namespace (prefix without a trailing '/')."""
    return state_of(backend, PullThroughCacheState).rules


def rule_for(backend: ECRBackend, repository_name: str) -> StoredRule | None:
    """The rule a pull of `repository_name` goes through (longest prefix; ROOT last), if any."""
    rules = rules_of(backend)
    if not rules:
        return None
    fields = matching_rule([rule.fields for rule in rules.values()], repository_name)
    return rules[namespace(fields["ecrRepositoryPrefix"])] if fields else None


def unfetched(backend: ECRBackend, repository_name: str, digest: str) -> bool:
    """Whether a cache repository lists blob `digest` whose bytes it has yet to fetch from its upstream."""
    return (repository_name, digest) in state_of(backend, PullThroughCacheState).unfetched


class CredentialProblem(Exception):
    """The rule's secret cannot be used; `code` is the model's error for it."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def secret_string(account: str, region: str, arn: str) -> str:
    """The secret's text, read as ECR reads it; raises `CredentialProblem` with the model's error codes."""
    from ecrlab.emulator.moto_compat import secret_default_kms_alias, secretsmanager_backends

    backend = secretsmanager_backends()[account][region]
    if arn not in backend.secrets:
        raise CredentialProblem("SecretNotFoundException", f"The secret with ARN '{arn}' was not found.")
    secret = backend.secrets[arn]
    if secret.is_deleted():
        raise CredentialProblem(
            "UnableToAccessSecretException", f"The secret with ARN '{arn}' is scheduled for deletion."
        )
    if secret.kms_key_id not in (None, secret_default_kms_alias()):
        raise CredentialProblem(
            "UnableToDecryptSecretValueException",
            f"The secret with ARN '{arn}' is encrypted with a customer managed key; pull through cache reads only "
            "secrets encrypted with the aws/secretsmanager key.",
        )
    try:
        value = backend.get_secret_value(arn, None, None).get("SecretString")
    except Exception as exc:  # moto's own secret errors (no value yet, …) all mean ECR cannot read it
        raise CredentialProblem(
            "UnableToAccessSecretException", f"The secret with ARN '{arn}' has no value: {exc}"
        ) from None
    if value is None:
        raise CredentialProblem("UnableToAccessSecretException", f"The secret with ARN '{arn}' has no string value.")
    return value


def credentials(account: str, region: str, arn: str) -> tuple[str, str]:
    """(username, accessToken) from the secret's JSON; `CredentialProblem` says what is wrong with it."""
    text = secret_string(account, region, arn)
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise CredentialProblem(
            "UnableToAccessSecretException", "The secret value is not JSON with the keys username and accessToken."
        )
    missing = [
        key for key in ("username", "accessToken") if not isinstance(document.get(key), str) or not document[key]
    ]
    if missing:
        raise CredentialProblem(
            "UnableToAccessSecretException", f"The secret value lacks the key(s) {', '.join(missing)}."
        )
    return document["username"], document["accessToken"]


def _ecr_password(account: str, rule: StoredRule) -> str:
    """A registry password for the upstream ECR registry, as the rule's role (or ECR's own role) would get."""
    role = rule.fields.get("customRoleArn")
    role_account, role_name = (role.split(":")[4], role.rsplit("/", 1)[1]) if role else (account, SERVICE_LINKED_ROLE)
    upstream = ECR_HOST.fullmatch(rule.upstream_url)
    assert upstream is not None
    principal = f"arn:aws:sts::{role_account}:assumed-role/{role_name}/ecr-pull-through-cache"
    expires = int((emulator_now() + tokens.TOKEN_LIFETIME).timestamp())
    return tokens.issue_password(tokens.Login(principal, upstream[1], upstream[2], expires))


def upstream_for(account: str, region: str, rule: StoredRule, own: str, repository: str = "") -> UpstreamRegistry:
    """The rule's upstream, authenticated as ECR would: the rule's secret, a role for ECR, or anonymously.

    Requests are logged against `repository` (the cache repository being filled). Raises `UpstreamError` when
    nothing serves the host or the secret cannot be used.
    """
    try:
        base, host_header = upstream_standins.where(rule.upstream_url, own)
    except LookupError as exc:
        raise UpstreamError(str(exc), "UpstreamUnavailable") from None
    username = password = None
    if rule.fields.get("credentialArn"):
        try:
            username, password = credentials(account, region, rule.fields["credentialArn"])
        except CredentialProblem as exc:
            raise UpstreamError(f"{exc.code}: {exc}", "UpstreamAccessDenied") from None
    elif rule.fields["upstreamRegistry"] == "ecr":
        username, password = "AWS", _ecr_password(account, rule)
    observe = upstream_standins.recorder(rule.upstream_url, repository)
    return UpstreamRegistry(base, username, password, name=rule.upstream_url, host_header=host_header, observe=observe)


# --- the operations ----------------------------------------------------------------------------------------


# AWS's wording, as quoted in aws-controllers-k8s/community#2589 and pulumi/pulumi-aws#5714 (docs/fidelity.md).
REQUIRES_AUTHENTICATION = "The specified upstream registry requires authentication. Specify a valid Secrets Manager ARN"
NOTHING_TO_UPDATE = "Invalid input: Please set either credential arn or role arn to update the credentials"


def _not_found(call: Call, prefix: str) -> Exception:
    return aws_error(
        "PullThroughCacheRuleNotFoundException",
        f"The pull through cache rule with prefix '{prefix}' does not exist in the registry with id "
        f"'{call.account_id}'",
    )


def _rule(call: Call) -> StoredRule:
    prefix = call.params["ecrRepositoryPrefix"]
    rule = rules_of(call.ecr).get(namespace(prefix))
    if rule is None:
        raise _not_found(call, prefix)
    return rule


def _checked(call: Call, fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` if they make a valid rule whose secret ECR can read; else the error AWS answers with."""
    problem = rule_problem(fields, call.account_id, call.region)
    if problem and problem.code == "UnsupportedUpstreamRegistryException" and problem.field == "credentialArn":
        raise aws_error(problem.code, REQUIRES_AUTHENTICATION)
    if problem and problem.code == "UnsupportedUpstreamRegistryException":
        raise aws_error(
            problem.code, f"The upstream registry URL '{problem.value}' is not supported: it {problem.rule}."
        )
    if problem:
        raise invalid_parameter(problem.field, problem.rule, code=problem.code)
    if fields.get("credentialArn"):
        try:
            secret_string(call.account_id, call.region, fields["credentialArn"])
        except CredentialProblem as exc:
            raise aws_error(exc.code, str(exc)) from None
    return fields


@operation(
    "CreatePullThroughCacheRule",
    "the nine upstream kinds and their URLs; credential (Secrets Manager, same account and region) for docker-hub, "
    "ghcr, azure, gitlab, chainguard; customRoleArn for ecr; upstreamRepositoryPrefix; at most 50 rules",
)
def create_rule(call: Call) -> dict[str, Any]:
    rules = rules_of(call.ecr)
    params = call.params
    prefix = params["ecrRepositoryPrefix"]
    if namespace(prefix) in rules:
        raise aws_error(
            "PullThroughCacheRuleAlreadyExistsException",
            f"A pull through cache rule with prefix '{prefix}' already exists in the registry with id "
            f"'{call.account_id}'",
        )
    if len(rules) >= RULE_LIMIT:
        raise aws_error(
            "LimitExceededException", f"The maximum number of pull through cache rules ({RULE_LIMIT}) has been reached."
        )
    url = params["upstreamRegistryUrl"]
    fields = {
        "ecrRepositoryPrefix": prefix,
        "upstreamRegistryUrl": url,
        "upstreamRegistry": params.get("upstreamRegistry") or kind_of(url),
        "upstreamRepositoryPrefix": params.get("upstreamRepositoryPrefix") or ROOT,
    }
    fields |= {key: params[key] for key in ("credentialArn", "customRoleArn") if params.get(key)}
    now = emulator_now()
    rule = rules[namespace(prefix)] = StoredRule(_checked(call, fields), now, now)
    api = rule.to_api(call.account_id)
    api.pop("updatedAt")
    return api


@operation(
    "DescribePullThroughCacheRules", "ecrRepositoryPrefixes filter, sorted by prefix, maxResults/nextToken pages"
)
def describe_rules(call: Call) -> dict[str, Any]:
    rules = rules_of(call.ecr)
    wanted = [namespace(p) for p in call.params.get("ecrRepositoryPrefixes") or []]
    missing = [p for p in wanted if p not in rules]
    if missing:
        raise _not_found(call, missing[0])
    keys = sorted(set(wanted) if wanted else rules)
    shown, token = page(keys, call.params, "DescribePullThroughCacheRules", key=str)
    found = [rules[key].to_api(call.account_id) for key in shown]
    return {"pullThroughCacheRules": found} | ({"nextToken": token} if token else {})


@operation(
    "UpdatePullThroughCacheRule",
    "changes only credentialArn and customRoleArn, checked as on create; neither given: InvalidParameterException",
)
def update_rule(call: Call) -> dict[str, Any]:
    rule = _rule(call)
    changed = {key: call.params[key] for key in ("credentialArn", "customRoleArn") if call.params.get(key)}
    if not changed:
        raise aws_error("InvalidParameterException", NOTHING_TO_UPDATE)
    rule.fields = _checked(call, {**rule.fields, **changed})
    rule.updated_at = emulator_now()
    keep = ("ecrRepositoryPrefix", "credentialArn", "customRoleArn", "upstreamRepositoryPrefix")
    return {key: rule.fields[key] for key in keep if key in rule.fields} | {
        "registryId": call.account_id,
        "updatedAt": rule.updated_at,
    }


@operation("DeletePullThroughCacheRule", "returns the deleted rule; cached repositories and images stay")
def delete_rule(call: Call) -> dict[str, Any]:
    rule = _rule(call)
    del rules_of(call.ecr)[namespace(rule.prefix)]
    api = rule.to_api(call.account_id)
    for key in ("updatedAt", "upstreamRegistry"):
        api.pop(key)
    return api


@operation(
    "ValidatePullThroughCacheRule",
    "reads the secret (JSON username/accessToken) and authenticates to the upstream's /v2/; isValid and failure",
)
def validate_rule(call: Call) -> dict[str, Any]:
    rule = _rule(call)
    failure = None
    try:
        upstream_for(call.account_id, call.region, rule, f"http://{call.host}").ping()
    except UpstreamError as exc:
        failure = str(exc)
    api = rule.to_api(call.account_id)
    for key in ("createdAt", "updatedAt", "upstreamRegistry"):
        api.pop(key)
    return api | {"isValid": failure is None} | ({"failure": failure} if failure else {})
