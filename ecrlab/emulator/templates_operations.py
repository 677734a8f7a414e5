"""Repository creation templates in the emulator: the four operations, and creating a repository from one.

Which template applies and what makes one invalid live in `ecrlab.template_rules`, shared with the client.
Error codes are the model's; where AWS's message wording is not documented the message copies the style of
its documented messages and says so (UNCONFIRMED [U6]).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecrlab.emulator.aws_errors import aws_error, invalid_parameter
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.extension import Call, operation
from ecrlab.emulator.moto_compat import ECRBackend, Repository
from ecrlab.emulator.paging import page
from ecrlab.emulator.state import feature_state, state_of
from ecrlab.template_rules import (
    EXCLUSION_MUTABILITIES,
    Resolution,
    creation_needs_role,
    namespace,
    resolve,
    template_problem,
)


@feature_state()
@dataclass
class TemplatesState:
    """The registry's repository creation templates, by prefix."""

    creation_templates: dict[str, StoredTemplate] = field(default_factory=dict)


# Not on the service-quotas page; one third-party page says 100 (docs/fidelity.md, UNCONFIRMED [U23]).
TEMPLATE_LIMIT = 100
# Update clears these optional text fields when given as "" (UNCONFIRMED [U23]: AWS documents no way to clear them).
CLEARABLE = ("description", "repositoryPolicy", "lifecyclePolicy", "customRoleArn")
DEFAULTS = {"imageTagMutability": "MUTABLE", "encryptionConfiguration": {"encryptionType": "AES256"}}
SETTINGS = (
    "description",
    "encryptionConfiguration",
    "resourceTags",
    "imageTagMutability",
    "imageTagMutabilityExclusionFilters",
    "repositoryPolicy",
    "lifecyclePolicy",
    "appliedFor",
    "customRoleArn",
)


@dataclass
class StoredTemplate:
    """A template as the registry holds it: its API fields plus when it was created and last updated."""

    fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def prefix(self) -> str:
        return self.fields["prefix"]

    @property
    def applied_for(self) -> list[str]:
        return self.fields["appliedFor"]

    def to_api(self) -> dict[str, Any]:
        return {**self.fields, "createdAt": self.created_at, "updatedAt": self.updated_at}


def templates_of(backend: ECRBackend) -> dict[str, StoredTemplate]:
    """The registry's templates keyed by namespace (prefix without a trailing '/')."""
    return state_of(backend, TemplatesState).creation_templates


def _invalid(field: str, rule: str) -> Exception:
    return invalid_parameter(field, rule)


def _not_found(call: Call, prefix: str) -> Exception:
    # Wording UNCONFIRMED [U6]; the model documents the exception, not its message.
    return aws_error(
        "TemplateNotFoundException",
        f"The repository creation template with prefix '{prefix}' does not exist in the registry with id "
        f"'{call.account_id}'",
    )


def _validated(call: Call, fields: dict[str, Any]) -> dict[str, Any]:
    problem = template_problem(fields, call.account_id)
    if problem:
        raise _invalid(problem.field, problem.rule)
    return fields


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    given = {key: params[key] for key in SETTINGS if key in params}
    if "appliedFor" in given:
        given["appliedFor"] = list(dict.fromkeys(given["appliedFor"]))
    return given


def _without_cleared(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not (k in CLEARABLE and v == "") and v != []}


def _response(call: Call, template: StoredTemplate) -> dict[str, Any]:
    return {"registryId": call.account_id, "repositoryCreationTemplate": template.to_api()}


@operation(
    "CreateRepositoryCreationTemplate",
    "validates appliedFor, exclusion filters, encryption, tags, both policies; at most 100 (UNCONFIRMED [U23])",
)
def create_template(call: Call) -> dict[str, Any]:
    templates = templates_of(call.ecr)
    prefix = call.params["prefix"]
    if namespace(prefix) in templates:
        # Wording UNCONFIRMED [U6], in the style of RepositoryAlreadyExistsException.
        raise aws_error(
            "TemplateAlreadyExistsException",
            f"The repository creation template with prefix '{prefix}' already exists in the registry with id "
            f"'{call.account_id}'",
        )
    if len(templates) >= TEMPLATE_LIMIT:
        raise aws_error(
            "LimitExceededException",
            f"The maximum number of repository creation templates ({TEMPLATE_LIMIT}) has been reached.",
        )
    fields = _validated(call, {"prefix": prefix, **DEFAULTS, **_without_cleared(_settings(call.params))})
    now = emulator_now()
    template = templates[namespace(prefix)] = StoredTemplate(fields, now, now)
    return _response(call, template)


@operation("UpdateRepositoryCreationTemplate", "changes only the fields given; '' or [] clears one (UNCONFIRMED [U23])")
def update_template(call: Call) -> dict[str, Any]:
    prefix = call.params["prefix"]
    template = templates_of(call.ecr).get(namespace(prefix))
    if template is None:
        raise _not_found(call, prefix)
    given = _settings(call.params)
    merged = {**template.fields, **given}
    # A new non-exclusion mutability without filters drops the old filters instead of failing on them.
    mutability = given.get("imageTagMutability")
    if mutability and mutability not in EXCLUSION_MUTABILITIES and "imageTagMutabilityExclusionFilters" not in given:
        merged.pop("imageTagMutabilityExclusionFilters", None)
    template.fields = _validated(call, _without_cleared(merged))
    template.updated_at = emulator_now()
    return _response(call, template)


@operation("DeleteRepositoryCreationTemplate", "returns the deleted template")
def delete_template(call: Call) -> dict[str, Any]:
    prefix = call.params["prefix"]
    template = templates_of(call.ecr).pop(namespace(prefix), None)
    if template is None:
        raise _not_found(call, prefix)
    return _response(call, template)


@operation("DescribeRepositoryCreationTemplates", "prefixes filter, sorted by prefix, maxResults/nextToken pages")
def describe_templates(call: Call) -> dict[str, Any]:
    templates = templates_of(call.ecr)
    wanted = {namespace(p) for p in call.params.get("prefixes") or []}
    keys = sorted(key for key in templates if not wanted or key in wanted)
    shown, token = page(keys, call.params, "DescribeRepositoryCreationTemplates", key=str)
    found = [templates[key].to_api() for key in shown]
    result: dict[str, Any] = {"registryId": call.account_id, "repositoryCreationTemplates": found}
    return result | ({"nextToken": token} if token else {})


class TemplateApplicationError(Exception):
    """The template that applies cannot be applied, so ECR's repository creation on your behalf fails.

    Callers answer in their protocol: a pull through cache pull or a push fails as if the repository did not
    exist (the symptom in https://github.com/aws/containers-roadmap/issues/2398).
    """

    def __init__(self, resolution: Resolution[StoredTemplate], message: str) -> None:
        self.resolution = resolution
        super().__init__(message)


def template_for(backend: ECRBackend, repository_name: str, reason: str) -> Resolution[StoredTemplate]:
    """Which of the registry's templates ECR would use to create `repository_name` for `reason`, and why."""
    return resolve(templates_of(backend).values(), repository_name, reason)


def create_repository_from_template(backend: ECRBackend, repository_name: str, reason: str) -> Repository | None:
    """Create a repository as ECR does on your behalf for `reason` (one of `template_rules.REASONS`).

    The applicable template's mutability, exclusion filters, encryption and tags are set at creation, then its
    lifecycle and repository policies. Without a template PTC and replication use AWS's defaults (MUTABLE,
    AES256, nothing else); create-on-push creates nothing and returns None. Raises TemplateApplicationError
    when the template needs a customRoleArn it lacks. Manual CreateRepository never comes here.
    """
    resolution = template_for(backend, repository_name, reason)
    template = resolution.template
    if template is None:
        if reason == "CREATE_ON_PUSH":
            return None
        return backend.create_repository(repository_name, None, {"encryptionType": "AES256"}, None, "MUTABLE", [])
    fields = template.fields
    if creation_needs_role(fields):
        raise TemplateApplicationError(
            resolution,
            f"repository creation template '{template.prefix}' sets resource tags or KMS encryption but no "
            "customRoleArn, so ECR cannot create the repository",
        )
    repository = backend.create_repository(
        repository_name,
        None,
        dict(fields["encryptionConfiguration"]),  # moto fills in a KMS key in place
        None,
        fields["imageTagMutability"],
        [dict(tag) for tag in fields.get("resourceTags", [])],
        [dict(f) for f in fields["imageTagMutabilityExclusionFilters"]]
        if "imageTagMutabilityExclusionFilters" in fields
        else None,
    )
    if fields.get("lifecyclePolicy"):
        backend.put_lifecycle_policy(backend.account_id, repository_name, fields["lifecyclePolicy"])
    if fields.get("repositoryPolicy"):
        backend.set_repository_policy(backend.account_id, repository_name, fields["repositoryPolicy"])
    return repository
