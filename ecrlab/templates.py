"""Repository creation templates as a plannable spec, which template applies to a name, and drift audits.

The same code runs against AWS and the emulator (boto3 only). Validation and template choice come from
`ecrlab.template_rules` and `ecrlab.lifecycle`, the modules the emulator itself runs, so a spec that passes
here is one the emulator accepts and `which_template` answers what the emulator would do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from ecrlab import checks
from ecrlab.ecr_model import check
from ecrlab.errors import ValidationError
from ecrlab.plan import Plan, Setting, make_plan, setting_kind
from ecrlab.template_rules import REASONS, Resolution, namespace, resolve, template_problem

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

# API field (as template_rules names problems) -> TemplateSpec field, so errors name what the user wrote.
SPEC_FIELDS = {
    "prefix": "prefix",
    "appliedFor": "applied_for",
    "description": "description",
    "imageTagMutability": "image_tag_mutability",
    "imageTagMutabilityExclusionFilters": "image_tag_mutability_exclusion_filters",
    "encryptionConfiguration": "encryption_type",
    "encryptionConfiguration.kmsKey": "kms_key",
    "resourceTags": "resource_tags",
    "lifecyclePolicy": "lifecycle_policy",
    "repositoryPolicy": "repository_policy",
    "customRoleArn": "custom_role_arn",
}
# Model shapes of the string fields, checked with ecr_model.check.
SHAPES = {
    "prefix": "Prefix",
    "description": "RepositoryTemplateDescription",
    "image_tag_mutability": "ImageTagMutability",
    "encryption_type": "EncryptionType",
    "kms_key": "KmsKeyForRepositoryCreationTemplate",
    "lifecycle_policy": "LifecyclePolicyTextForRepositoryCreationTemplate",
    "repository_policy": "RepositoryPolicyText",
    "custom_role_arn": "CustomRoleArn",
}
AUDIT_COLUMNS = ["repository", "reason", "template", "setting", "expected", "actual", "compliant"]


def _text(field: str, value: str | Mapping[str, Any]) -> str:
    """A policy given as JSON text or as a document (a mapping), as text."""
    if isinstance(value, Mapping):
        try:
            return json.dumps(value)
        except (TypeError, ValueError) as error:
            raise ValidationError(field, value, f"must be JSON text or a JSON document ({error})") from None
    return checks.text(field, value)


def _parsed(text: str) -> Any:
    return json.loads(text) if text else None


@dataclass(frozen=True)
class TemplateSpec:
    """One repository creation template as desired state, validated on construction.

    `applied_for` takes one reason or several; `resource_tags` a mapping; the two policies JSON text or a
    dict. Values are normalised (reasons and tags sorted) so equal templates compare equal.
    """

    prefix: str
    applied_for: tuple[str, ...]
    description: str = ""
    image_tag_mutability: str = "MUTABLE"
    image_tag_mutability_exclusion_filters: tuple[str, ...] = ()
    encryption_type: str = "AES256"
    kms_key: str = ""
    resource_tags: tuple[tuple[str, str], ...] = ()
    lifecycle_policy: str = ""
    repository_policy: str = ""
    custom_role_arn: str = ""

    def __post_init__(self) -> None:
        reasons = checks.strings("applied_for", self.applied_for)
        normal = {
            "applied_for": tuple(sorted(set(reasons))),
            "image_tag_mutability_exclusion_filters": checks.strings(
                "image_tag_mutability_exclusion_filters", self.image_tag_mutability_exclusion_filters
            ),
            "resource_tags": tuple(sorted(checks.string_pairs("resource_tags", self.resource_tags))),
            "lifecycle_policy": _text("lifecycle_policy", self.lifecycle_policy),
            "repository_policy": _text("repository_policy", self.repository_policy),
        }
        for name, value in normal.items():
            object.__setattr__(self, name, value)
        for name, shape in SHAPES.items():
            check(shape, name, getattr(self, name))
        for reason in self.applied_for:
            check("RCTAppliedFor", "applied_for", reason)
        if self.image_tag_mutability_exclusion_filters:
            check(
                "ImageTagMutabilityExclusionFilters",
                "image_tag_mutability_exclusion_filters",
                self.to_api()["imageTagMutabilityExclusionFilters"],
            )
        problem = template_problem(self.to_api())
        if problem:
            raise ValidationError(SPEC_FIELDS[problem.field], problem.value, problem.rule)

    def to_api(self) -> dict[str, Any]:
        """Keyword arguments for CreateRepositoryCreationTemplate."""
        encryption = {"encryptionType": self.encryption_type}
        if self.kms_key:
            encryption["kmsKey"] = self.kms_key
        api: dict[str, Any] = {
            "prefix": self.prefix,
            "appliedFor": list(self.applied_for),
            "imageTagMutability": self.image_tag_mutability,
            "encryptionConfiguration": encryption,
        }
        if self.image_tag_mutability_exclusion_filters:
            api["imageTagMutabilityExclusionFilters"] = [
                {"filterType": "WILDCARD", "filter": f} for f in self.image_tag_mutability_exclusion_filters
            ]
        if self.resource_tags:
            api["resourceTags"] = [{"Key": k, "Value": v} for k, v in self.resource_tags]
        optional = {
            "description": self.description,
            "lifecyclePolicy": self.lifecycle_policy,
            "repositoryPolicy": self.repository_policy,
            "customRoleArn": self.custom_role_arn,
        }
        return api | {key: value for key, value in optional.items() if value}

    def to_update_api(self) -> dict[str, Any]:
        """Keyword arguments for UpdateRepositoryCreationTemplate that make the template exactly this spec.

        Fields the spec leaves empty are sent empty so the update clears them; that AWS clears a field given
        as "" or [] is UNCONFIRMED [U23] (the emulator does).
        """
        cleared = {"description": "", "lifecyclePolicy": "", "repositoryPolicy": "", "customRoleArn": ""}
        return {**cleared, "resourceTags": [], **self.to_api()}

    @classmethod
    def from_api(cls, template: Mapping[str, Any]) -> TemplateSpec:
        """From one template as DescribeRepositoryCreationTemplates returns it."""
        encryption = template.get("encryptionConfiguration") or {}
        return cls(
            prefix=template["prefix"],
            applied_for=tuple(template.get("appliedFor", ())),
            description=template.get("description", ""),
            image_tag_mutability=template.get("imageTagMutability", "MUTABLE"),
            image_tag_mutability_exclusion_filters=tuple(
                f["filter"] for f in template.get("imageTagMutabilityExclusionFilters", ())
            ),
            encryption_type=encryption.get("encryptionType", "AES256"),
            kms_key=encryption.get("kmsKey", ""),
            resource_tags=tuple((t["Key"], t["Value"]) for t in template.get("resourceTags", ())),
            lifecycle_policy=template.get("lifecyclePolicy", ""),
            repository_policy=template.get("repositoryPolicy", ""),
            custom_role_arn=template.get("customRoleArn", ""),
        )

    def settings(self) -> dict[str, Any]:
        """Everything but the prefix, normalised for comparison: policies as parsed JSON, tags as a dict."""
        value = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "prefix"}
        return value | {
            "applied_for": list(self.applied_for),
            "image_tag_mutability_exclusion_filters": list(self.image_tag_mutability_exclusion_filters),
            "resource_tags": dict(self.resource_tags),
            "lifecycle_policy": _parsed(self.lifecycle_policy),
            "repository_policy": _parsed(self.repository_policy),
        }

    @classmethod
    def from_settings(cls, prefix: str, settings: Mapping[str, Any]) -> TemplateSpec:
        """The inverse of `settings()`, e.g. to restore a backup."""
        policies = {key: settings[key] or "" for key in ("lifecycle_policy", "repository_policy")}
        return cls(prefix=prefix, **{**settings, **policies})


def _describe(registry: Registry, prefix: str) -> dict[str, Any] | None:
    found = registry.client().describe_repository_creation_templates(prefixes=[prefix])
    return next((t for t in found["repositoryCreationTemplates"] if namespace(t["prefix"]) == namespace(prefix)), None)


@setting_kind("creation-template")
def creation_template(prefix: str) -> Setting:
    """The template for one prefix: absent (None) or its normalised settings."""

    def read(registry: Registry) -> dict[str, Any] | None:
        template = _describe(registry, prefix)
        return None if template is None else TemplateSpec.from_api(template).settings()

    def write(registry: Registry, value: dict[str, Any] | None) -> None:
        ecr = registry.client()
        if value is None:
            ecr.delete_repository_creation_template(prefix=prefix)
        elif _describe(registry, prefix) is None:
            ecr.create_repository_creation_template(**TemplateSpec.from_settings(prefix, value).to_api())
        else:
            ecr.update_repository_creation_template(**TemplateSpec.from_settings(prefix, value).to_update_api())

    return Setting("creation-template", prefix, read, write)


def read(registry: Registry) -> list[TemplateSpec]:
    """The registry's templates, sorted by prefix."""
    pages = registry.client().get_paginator("describe_repository_creation_templates").paginate()
    specs = [TemplateSpec.from_api(t) for page in pages for t in page["repositoryCreationTemplates"]]
    return sorted(specs, key=lambda spec: spec.prefix)


def plan(registry: Registry, *specs: TemplateSpec, delete_others: bool = False) -> Plan:
    """What making the registry's templates match `specs` changes; `delete_others` also removes the rest."""
    wanted: dict[str, TemplateSpec] = {}
    for spec in specs:
        if namespace(spec.prefix) in wanted:
            raise ValidationError("prefix", spec.prefix, "appears in more than one spec")
        problem = template_problem(spec.to_api(), registry.account_id)
        if problem:
            raise ValidationError(SPEC_FIELDS[problem.field], problem.value, problem.rule)
        wanted[namespace(spec.prefix)] = spec
    desired: list[tuple[Setting, Any]] = [(creation_template(s.prefix), s.settings()) for s in specs]
    if delete_others:
        desired += [(creation_template(t.prefix), None) for t in read(registry) if namespace(t.prefix) not in wanted]
    return make_plan(registry, desired)


def which_template(registry: Registry, repository_name: str, reason: str) -> Resolution[TemplateSpec]:
    """The template ECR would use to create `repository_name` for `reason`, with the reasoning.

    `.template` is the chosen spec (None: none applies); `.explanation` lists every template and why it was or
    was not chosen.
    """
    return resolve(read(registry), repository_name, reason)


def _shown(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _policy(registry: Registry, operation: str, key: str, name: str) -> Any:
    ecr = registry.client()
    try:
        return json.loads(getattr(ecr, operation)(repositoryName=name)[key])
    except (
        ecr.exceptions.LifecyclePolicyNotFoundException,
        ecr.exceptions.RepositoryPolicyNotFoundException,
    ):
        return None


def _comparisons(registry: Registry, repo: dict[str, Any], spec: TemplateSpec) -> Iterable[tuple[str, Any, Any]]:
    encryption = repo["encryptionConfiguration"]
    yield "image_tag_mutability", spec.image_tag_mutability, repo["imageTagMutability"]
    if spec.image_tag_mutability_exclusion_filters:
        actual = [f["filter"] for f in repo.get("imageTagMutabilityExclusionFilters", [])]
        yield (
            "image_tag_mutability_exclusion_filters",
            list(spec.image_tag_mutability_exclusion_filters),
            actual,
        )
    yield "encryption_type", spec.encryption_type, encryption["encryptionType"]
    if spec.kms_key:
        yield "kms_key", spec.kms_key, encryption.get("kmsKey")
    if spec.resource_tags:
        tags = registry.client().list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
        present = {t["Key"]: t["Value"] for t in tags if t["Key"] in dict(spec.resource_tags)}
        yield "resource_tags", dict(spec.resource_tags), present
    name = repo["repositoryName"]
    if spec.lifecycle_policy:
        actual = _policy(registry, "get_lifecycle_policy", "lifecyclePolicyText", name)
        yield "lifecycle_policy", _parsed(spec.lifecycle_policy), actual
    if spec.repository_policy:
        actual = _policy(registry, "get_repository_policy", "policyText", name)
        yield "repository_policy", _parsed(spec.repository_policy), actual


def audit(
    registry: Registry, reason: str | None = None, repositories: list[dict[str, Any]] | None = None
) -> pd.DataFrame:
    """Each repository against the template that would apply to it today: one row per setting it sets.

    Columns (`AUDIT_COLUMNS`): repository, reason, template (its prefix), setting (a TemplateSpec field),
    expected, actual (strings; lists, dicts and policies as sorted JSON; missing when absent), compliant.
    `reason` None tries PULL_THROUGH_CACHE, REPLICATION, CREATE_ON_PUSH in turn and uses the first that has a
    template; repositories no template applies to have no rows. Reads only (Describe*/Get*/ListTags*), so it
    runs against AWS as well. Templates shape repositories only when ECR creates them, so drift here is
    expected for repositories created by hand. `repositories` (DescribeRepositories items) spares listing them
    again when the caller already has.
    """
    import pandas as pd

    templates = read(registry)
    reasons = (reason,) if reason else REASONS
    rows = []
    if repositories is None:
        pages = registry.client().get_paginator("describe_repositories").paginate()
        repositories = [repo for page in pages for repo in page["repositories"]]
    for repo in repositories:
        name = repo["repositoryName"]
        resolutions = (resolve(templates, name, why) for why in reasons)
        chosen = next((r for r in resolutions if r.template is not None), None)
        if chosen is None or chosen.template is None:
            continue
        for setting, expected, actual in _comparisons(registry, repo, chosen.template):
            rows.append(
                {
                    "repository": name,
                    "reason": chosen.reason,
                    "template": chosen.template.prefix,
                    "setting": setting,
                    "expected": _shown(expected),
                    "actual": _shown(actual),
                    "compliant": expected == actual,
                }
            )
    frame = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
    return frame.sort_values(["repository", "setting"], ignore_index=True)
