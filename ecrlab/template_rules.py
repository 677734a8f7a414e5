"""Repository creation templates: which template applies, and what makes one invalid — plain functions.

The emulator (when it creates a repository on your behalf) and ecrlab's client (`which_template`,
`TemplateSpec`) share this module, so the answer a lesson explains is the answer the emulator acts on.
Templates are read in their API shape (camelCase keys, as DescribeRepositoryCreationTemplates returns them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ecrlab import lifecycle

ROOT = "ROOT"
REASONS = ("PULL_THROUGH_CACHE", "REPLICATION", "CREATE_ON_PUSH")
EXCLUSION_MUTABILITIES = ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
KMS_TYPES = ("KMS", "KMS_DSSE")
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256  # documented on resourceTags; the model leaves them out
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}")


class Template(Protocol):
    """What resolution needs from a template, whichever side (emulator or client) holds it."""

    @property
    def prefix(self) -> str: ...

    @property
    def applied_for(self) -> Sequence[str]: ...


T = TypeVar("T", bound=Template)


def namespace(prefix: str) -> str:
    """The prefix as a key: AWS assumes a trailing '/', so 'prod' and 'prod/' are one (UNCONFIRMED [U23])."""
    return prefix.rstrip("/")


def matches(prefix: str, repository_name: str) -> bool:
    """Whether a template prefix covers a repository: 'prod' covers 'prod/app', not 'prod' or 'products/x'."""
    return prefix == ROOT or repository_name.startswith(namespace(prefix) + "/")


@dataclass(frozen=True)
class Considered:
    """One template as the resolver saw it, and why it was or was not chosen."""

    prefix: str
    chosen: bool
    why: str


@dataclass(frozen=True)
class Resolution(Generic[T]):
    """The template ECR would use to create `repository_name` for `reason` (None: none applies), and why."""

    repository_name: str
    reason: str
    template: T | None
    considered: tuple[Considered, ...]

    @property
    def explanation(self) -> str:
        if self.template is not None:
            head = f"'{self.repository_name}' created for {self.reason} uses template '{self.template.prefix}'."
        elif self.reason == "CREATE_ON_PUSH":
            head = (
                f"No template applies to '{self.repository_name}' for CREATE_ON_PUSH, so a push to it is "
                "refused: ECR creates no repository with default settings on push."
            )
        else:
            head = (
                f"No template applies to '{self.repository_name}' for {self.reason}: ECR creates it with "
                "defaults (MUTABLE tags, AES256 encryption, no policies, no tags)."
            )
        return "\n".join([head, *(f"  {'✔' if c.chosen else '✘'} {c.prefix}: {c.why}" for c in self.considered)])

    def __str__(self) -> str:
        return self.explanation


def _specificity(prefix: str) -> int:
    return -1 if prefix == ROOT else len(namespace(prefix))


def resolve(templates: Iterable[T], repository_name: str, reason: str) -> Resolution[T]:
    """The most specific template that covers the name *and* applies for the reason; ROOT is the fallback.

    "Most specific" is the documented rule (repository-creation-templates.html: with `prod` and `prod/team`,
    `prod/team` wins under `prod/team/`). Whether a more specific template whose `appliedFor` lacks the reason
    hides a less specific one that has it is not documented (UNCONFIRMED [U23]); ecrlab skips it, reading the docs'
    "the template that applies" literally.
    """
    if reason not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}, not {reason!r}")
    chosen: T | None = None
    considered = []
    for template in sorted(templates, key=lambda t: (-_specificity(t.prefix), t.prefix)):
        prefix, earlier = template.prefix, chosen
        if not matches(prefix, repository_name):
            why = f"does not cover the name (it covers names under '{namespace(prefix)}/')"
        elif reason not in template.applied_for:
            why = f"covers the name but applies only for {', '.join(template.applied_for)}, not {reason}"
        elif earlier is not None:
            why = f"covers the name, but the more specific '{earlier.prefix}' applies"
        else:
            chosen = template
            why = "fallback for names no other template covers" if prefix == ROOT else "most specific match"
            why += f", applies for {reason}: chosen"
        considered.append(Considered(prefix, chosen is template, why))
    return Resolution(repository_name, reason, chosen, tuple(considered))


@dataclass(frozen=True)
class Problem:
    """A template field that breaks a rule the service model cannot express (API field name)."""

    field: str
    value: Any
    rule: str


def repository_policy_problem(text: str) -> str | None:
    """Why a repository policy is not one AWS would store, or None.

    A repository policy is resource-based: every statement needs Effect, a Principal (or NotPrincipal) and an
    Action (or NotAction). AWS's full validation is not documented; this is the documented shape.
    """
    try:
        document = json.loads(text)
    except ValueError:
        return "is not valid JSON"
    if not isinstance(document, dict):
        return "must be a JSON object with Version and Statement"
    statements = document.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements:
        return "needs a Statement object or a non-empty list of them"
    for index, statement in enumerate(statements):
        if not isinstance(statement, dict):
            return f"Statement[{index}] must be an object"
        if statement.get("Effect") not in ("Allow", "Deny"):
            return f"Statement[{index}].Effect must be Allow or Deny"
        if ("Principal" in statement) == ("NotPrincipal" in statement):
            return f"Statement[{index}] needs exactly one of Principal or NotPrincipal"
        if ("Action" in statement) == ("NotAction" in statement):
            return f"Statement[{index}] needs exactly one of Action or NotAction"
    return None


def template_problem(template: Mapping[str, Any], account_id: str | None = None) -> Problem | None:
    """The first rule a template (API shape) breaks beyond the model's own patterns, enums and lengths.

    `account_id` is the registry's account; when given, `customRoleArn` must be a role of that account.
    """
    applied_for = template.get("appliedFor")
    if not applied_for:
        return Problem("appliedFor", applied_for, f"must list at least one of {', '.join(REASONS)}")
    mutability = template.get("imageTagMutability", "MUTABLE")
    filters = template.get("imageTagMutabilityExclusionFilters")
    # Worded as moto words CreateRepository's check; the "must be null" case is UNCONFIRMED [U6] wording.
    if mutability in EXCLUSION_MUTABILITIES and not filters:
        rule = f"ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as {mutability}"
        return Problem("imageTagMutabilityExclusionFilters", filters, rule)
    if filters and mutability not in EXCLUSION_MUTABILITIES:
        rule = f"ImageTagMutabilityExclusionFilters must be null when imageTagMutability is set as {mutability}"
        return Problem("imageTagMutabilityExclusionFilters", filters, rule)
    encryption = template.get("encryptionConfiguration") or {}
    if encryption.get("encryptionType") == "AES256" and encryption.get("kmsKey"):
        return Problem(
            "encryptionConfiguration.kmsKey",
            encryption["kmsKey"],
            "kmsKey is only allowed with KMS or KMS_DSSE encryption",
        )
    for tag in template.get("resourceTags") or []:
        if not 1 <= len(tag["Key"]) <= TAG_KEY_MAX:
            return Problem("resourceTags", tag["Key"], f"tag keys must have 1 to {TAG_KEY_MAX} characters")
        if len(tag["Value"]) > TAG_VALUE_MAX:
            return Problem("resourceTags", tag["Value"], f"tag values must have at most {TAG_VALUE_MAX} characters")
    keys = [tag["Key"] for tag in template.get("resourceTags") or []]
    if len(keys) != len(set(keys)):
        return Problem("resourceTags", keys, "tag keys must be unique")
    if template.get("lifecyclePolicy"):
        problem = lifecycle.policy_problem(template["lifecyclePolicy"])
        if problem:
            return Problem("lifecyclePolicy", template["lifecyclePolicy"], problem)
    if template.get("repositoryPolicy"):
        problem = repository_policy_problem(template["repositoryPolicy"])
        if problem:
            return Problem("repositoryPolicy", template["repositoryPolicy"], problem)
    role = template.get("customRoleArn")
    if role:
        match = ROLE_ARN.fullmatch(role)
        if not match:
            return Problem("customRoleArn", role, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
        if account_id is not None and match.group(1) != account_id:
            return Problem("customRoleArn", role, f"must be a role in the registry's account {account_id}")
    return None


def creation_needs_role(template: Mapping[str, Any]) -> bool:
    """Repository tags or KMS encryption need `customRoleArn`; without it AWS's repository creation fails."""
    encryption = (template.get("encryptionConfiguration") or {}).get("encryptionType")
    return bool(template.get("resourceTags") or encryption in KMS_TYPES) and not template.get("customRoleArn")
