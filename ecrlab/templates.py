"""Repository creation templates as a plannable spec, which template applies to a name, and drift audits.

The same code runs against AWS and the emulator (boto3 only). Validation and template choice come from
`ecrlab.template_rules` and `ecrlab.lifecycle`, the modules the emulator itself runs, so a spec that passes
here is one the emulator accepts and `which_template` answers what the emulator would do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from ecrlab import checks
from ecrlab.ecr_model import check
from ecrlab.errors import ValidationError
from ecrlab.plan import Plan, Setting, make_plan, setting_kind
from ecrlab.pull_through_cache_rules import matching_rule
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


def _listed(registry: Registry) -> list[dict[str, Any]]:
    """Every template as DescribeRepositoryCreationTemplates answers it (createdAt included)."""
    pages = registry.client().get_paginator("describe_repository_creation_templates").paginate()
    return [template for page in pages for template in page["repositoryCreationTemplates"]]


def read(registry: Registry) -> list[TemplateSpec]:
    """The registry's templates, sorted by prefix."""
    return sorted((TemplateSpec.from_api(t) for t in _listed(registry)), key=lambda spec: spec.prefix)


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


# Why each repository is or is not audited (`coverage`): the reason ECR would have created it, and the template.
COVERAGE_COLUMNS = ["repository", "created_for", "template", "audited", "why"]


@dataclass(frozen=True)
class Coverage:
    """Whether the drift audit compares a repository with a template, and why: a template shapes a repository
    only when ECR creates it for a reason the template applies to, and never one that existed before it."""

    repository: str
    created_for: str | None  # the reason ECR would have created it, as far as the registry shows
    template: TemplateSpec | None  # the template it is audited against; None: not audited
    why: str


# A push, a replication or a person leaves no trace ECR reports: a Repository has createdAt but no creation reason.
_NOT_CACHED = (
    ("REPLICATION", "CREATE_ON_PUSH"),
    "not under a pull through cache rule: made by a replication, a push or by hand (ECR records no reason)",
)


def _origin(name: str, cache_rules: list[dict[str, Any]]) -> tuple[tuple[str, ...], str]:
    """The reasons ECR could have created `name` for, and the evidence: a pull through cache repository is named
    under its rule's prefix."""
    rule = matching_rule(cache_rules, name)
    if rule is None:
        return _NOT_CACHED
    return ("PULL_THROUGH_CACHE",), f"under pull through cache rule '{rule['ecrRepositoryPrefix']}'"


def _covered(registry: Registry, reasons: tuple[str, ...], repositories: list[dict[str, Any]]) -> Iterator[Coverage]:
    from ecrlab import pull_through_cache

    raw = _listed(registry)
    specs, created = [TemplateSpec.from_api(t) for t in raw], {namespace(t["prefix"]): t["createdAt"] for t in raw}
    cache_rules = [rule.to_api() for rule in pull_through_cache.read(registry)]
    for repo in repositories:
        name = repo["repositoryName"]
        possible, origin = _origin(name, cache_rules)
        wanted = [reason for reason in possible if reason in reasons]
        if not wanted:
            known = possible[0] if len(possible) == 1 else None
            yield Coverage(name, known, None, f"{origin}, so not created for {' or '.join(reasons)}")
            continue
        chosen = next((r for r in (resolve(specs, name, why) for why in wanted) if r.template is not None), None)
        if chosen is None or chosen.template is None:
            yield Coverage(name, None, None, f"{origin}; no template applies to it for {' or '.join(wanted)}")
            continue
        prefix = chosen.template.prefix
        if repo["createdAt"] < created[namespace(prefix)]:
            yield Coverage(name, chosen.reason, None, f"created before template '{prefix}', which never changes it")
            continue
        yield Coverage(
            name, chosen.reason, chosen.template, f"{origin}; template '{prefix}' applies for {chosen.reason}"
        )


def _given_or_listed(registry: Registry, repositories: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return repositories if repositories is not None else listed_repositories(registry)


def listed_repositories(registry: Registry) -> list[dict[str, Any]]:
    """Every repository as DescribeRepositories answers it: what `audit` and `coverage` take as `repositories`."""
    pages = registry.client().get_paginator("describe_repositories").paginate()
    return [repo for page in pages for repo in page["repositories"]]


def coverage(
    registry: Registry, reason: str | None = None, repositories: list[dict[str, Any]] | None = None
) -> pd.DataFrame:
    """Every repository, whether `audit` compares it with a template, and why (`COVERAGE_COLUMNS`).

    Templates apply only when ECR creates a repository on your behalf — on a pull through cache pull, a push
    (CREATE_ON_PUSH) or a replication — and "don't have any effect on existing repositories"
    (repository-creation-templates.html). So a repository under a pull through cache rule's prefix is audited
    against the PULL_THROUGH_CACHE template only; one created before its template is not audited; any other is
    audited against the template for REPLICATION, else CREATE_ON_PUSH — ECR does not record whether a person
    created it instead, and the `why` column says so. `reason` audits only repositories created for that reason.
    """
    import pandas as pd

    reasons = (reason,) if reason else REASONS
    listed = _given_or_listed(registry, repositories)
    rows = [
        {
            "repository": c.repository,
            "created_for": c.created_for,
            "template": c.template.prefix if c.template else None,
            "audited": c.template is not None,
            "why": c.why,
        }
        for c in _covered(registry, reasons, listed)
    ]
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS).sort_values("repository", ignore_index=True)


def audit(
    registry: Registry, reason: str | None = None, repositories: list[dict[str, Any]] | None = None
) -> pd.DataFrame:
    """Each audited repository (see `coverage`) against its template: one row per setting the template sets.

    Columns (`AUDIT_COLUMNS`): repository, reason (what ECR created it for), template (its prefix), setting (a
    TemplateSpec field), expected, actual (strings; lists, dicts and policies as sorted JSON; missing when absent),
    compliant. Reads only (Describe*/Get*/ListTags*), so it runs against AWS as well. `repositories`
    (DescribeRepositories items) spares listing them again when the caller already has.
    """
    import pandas as pd

    reasons = (reason,) if reason else REASONS
    listed = _given_or_listed(registry, repositories)
    by_name = {repo["repositoryName"]: repo for repo in listed}
    rows = []
    for covered in _covered(registry, reasons, listed):
        if covered.template is None:
            continue
        for setting, expected, actual in _comparisons(registry, by_name[covered.repository], covered.template):
            rows.append(
                {
                    "repository": covered.repository,
                    "reason": covered.created_for,
                    "template": covered.template.prefix,
                    "setting": setting,
                    "expected": _shown(expected),
                    "actual": _shown(actual),
                    "compliant": expected == actual,
                }
            )
    frame = pd.DataFrame(rows, columns=AUDIT_COLUMNS)
    return frame.sort_values(["repository", "setting"], ignore_index=True)
