"""Archiving: a repository's archive policy as a plannable spec, archiving and restoring by hand, and a
repository's images by storage status (ACTIVE, ARCHIVED, ACTIVATING).

Archiving one image is an action, not a setting: nothing in the registry says "this image should be archived",
so there is nothing to plan, back up or roll back (the undo of an archive is a restore). What *is* a setting is the
rule that archives: a lifecycle policy with a `transition` rule (archive images not pulled, or not pushed, for N
days) and, optionally, an `expire` rule for archived images (delete after N days in archive, at least the 90-day
minimum storage duration). `ArchivePolicy` is that policy for one repository; it is the repository's whole
lifecycle policy (`lifecycle-policy/<repository>`), so the plan shows the policy it replaces and the backup keeps it.

An archived image is listed but cannot be pulled; a restore takes up to 20 minutes (on the emulator, 20 minutes of
its clock, or `settle()`), and pushing the image again also restores it (user guide, "Archiving an image").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ecrlab.ecr_model import check
from ecrlab.errors import ValidationError
from ecrlab.lifecycle import ARCHIVE_MINIMUM_DAYS, policy_problem
from ecrlab.plan import Plan, Setting, make_plan, setting_kind

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

COLUMNS = ["tags", "digest", "status", "pushed_at", "last_pulled_at", "archived_at", "restored_at"]
PREVIEW_COLUMNS = ["tags", "digest", "action", "storage_class", "rule_priority"]
SINCE = {"pulled": "sinceImagePulled", "pushed": "sinceImagePushed"}


@dataclass(frozen=True)
class ArchivePolicy:
    """Archive `repository`'s images not pulled (or pushed) for `archive_after_days`; delete archived images after
    `delete_after_days` in archive (None: keep them archived)."""

    repository: str
    archive_after_days: int = 90
    since: str = "pulled"
    delete_after_days: int | None = None

    def __post_init__(self) -> None:
        check("RepositoryName", "repository", self.repository)
        if self.since not in SINCE:
            raise ValidationError("since", self.since, f"must be one of {', '.join(SINCE)}")
        if not isinstance(self.archive_after_days, int) or self.archive_after_days < 1:
            raise ValidationError("archive_after_days", self.archive_after_days, "must be a whole number of days ≥ 1")
        days = self.delete_after_days
        if days is not None and (not isinstance(days, int) or days < ARCHIVE_MINIMUM_DAYS):
            # "You cannot configure lifecycle policies that delete images that have been in archive for less
            # than 90 days" (user guide, Archiving an image).
            raise ValidationError(
                "delete_after_days", days, f"must be at least {ARCHIVE_MINIMUM_DAYS} (archive minimum storage)"
            )

    def policy(self) -> dict[str, Any]:
        """The lifecycle policy document: one transition rule, and an expire rule for archived images if asked."""
        rules: list[dict[str, Any]] = [
            {
                "rulePriority": 1,
                "description": f"archive images not {self.since} for {self.archive_after_days} days",
                "selection": {
                    "tagStatus": "any",
                    "countType": SINCE[self.since],
                    "countUnit": "days",
                    "countNumber": self.archive_after_days,
                },
                "action": {"type": "transition", "targetStorageClass": "archive"},
            }
        ]
        if self.delete_after_days is not None:
            rules.append(
                {
                    "rulePriority": 2,
                    "description": f"delete images archived for {self.delete_after_days} days",
                    "selection": {
                        "tagStatus": "any",
                        "storageClass": "archive",
                        "countType": "sinceImageTransitioned",
                        "countUnit": "days",
                        "countNumber": self.delete_after_days,
                    },
                    "action": {"type": "expire"},
                }
            )
        document = {"rules": rules}
        problem = policy_problem(json.dumps(document))
        if problem:  # the spec's own checks should make this unreachable; say so plainly if they ever diverge
            raise ValidationError("repository", self.repository, f"builds a lifecycle policy AWS rejects: {problem}")
        return document

    def policy_text(self) -> str:
        return json.dumps(self.policy())


@setting_kind("lifecycle-policy")
def lifecycle_policy(repository: str) -> Setting:
    """A repository's lifecycle policy (parsed JSON); absent when it has none, or when the repository is missing
    (an apply then fails naming the repository)."""

    def read_api(registry: Registry) -> dict[str, Any] | None:
        try:
            text = registry.client().get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"]
        except ClientError as error:
            if error.response["Error"]["Code"] in ("LifecyclePolicyNotFoundException", "RepositoryNotFoundException"):
                return None
            raise
        return json.loads(text)

    def write_api(registry: Registry, value: dict[str, Any] | None) -> None:
        if value is None:
            registry.client().delete_lifecycle_policy(repositoryName=repository)
        else:
            registry.client().put_lifecycle_policy(repositoryName=repository, lifecyclePolicyText=json.dumps(value))

    return Setting("lifecycle-policy", repository, read_api, write_api)


def plan(registry: Registry, *specs: ArchivePolicy) -> Plan:
    """The changes that make each repository's lifecycle policy its archive policy."""
    return make_plan(registry, [(lifecycle_policy(spec.repository), spec.policy()) for spec in specs])


def remove_plan(registry: Registry, *repositories: str) -> Plan:
    """The changes that delete these repositories' lifecycle policies (archive policies included)."""
    return make_plan(registry, [(lifecycle_policy(name), None) for name in repositories])


def preview(registry: Registry, spec: ArchivePolicy) -> pd.DataFrame:
    """What the policy would do to the repository's images now (a lifecycle policy preview): nothing is written."""
    import pandas as pd

    ecr = registry.client()
    ecr.start_lifecycle_policy_preview(repositoryName=spec.repository, lifecyclePolicyText=spec.policy_text())
    params: dict[str, Any] = {"repositoryName": spec.repository}
    results: list[dict[str, Any]] = []
    while True:
        answer = ecr.get_lifecycle_policy_preview(**params)
        if answer["status"] == "IN_PROGRESS":  # AWS finishes previews asynchronously
            ecr.get_waiter("lifecycle_policy_preview_complete").wait(repositoryName=spec.repository)
            continue
        results += answer.get("previewResults", [])
        if "nextToken" not in answer:
            break
        params["nextToken"] = answer["nextToken"]
    rows = [
        (
            ", ".join(sorted(r.get("imageTags", []))),
            r["imageDigest"],
            r["action"]["type"],
            r.get("storageClass", ""),
            r["appliedRulePriority"],
        )
        for r in results
    ]
    return pd.DataFrame(rows, columns=PREVIEW_COLUMNS)


def _image_id(tag: str | None, digest: str | None) -> dict[str, str]:
    if not tag and not digest:
        raise ValidationError("tag", None, "give the image's tag or digest")
    return {"imageTag": tag} if tag else {"imageDigest": digest or ""}


def _transition(registry: Registry, repository: str, image_id: dict[str, str], target: str) -> str:
    answer = registry.client().update_image_storage_class(
        repositoryName=repository, imageId=image_id, targetStorageClass=target
    )
    return answer["imageStatus"]


def archive(registry: Registry, repository: str, tag: str | None = None, digest: str | None = None) -> str:
    """Move the image to the ARCHIVE storage class; returns its status (ARCHIVED)."""
    return _transition(registry, repository, _image_id(tag, digest), "ARCHIVE")


def restore(registry: Registry, repository: str, tag: str | None = None, digest: str | None = None) -> str:
    """Start restoring an archived image; returns its status (ACTIVATING until the restore completes)."""
    return _transition(registry, repository, _image_id(tag, digest), "STANDARD")


def images(registry: Registry, repository: str) -> pd.DataFrame:
    """Every image of `repository` whatever its status, oldest push first."""
    import pandas as pd

    details: list[dict[str, Any]] = []
    params: dict[str, Any] = {"repositoryName": repository, "filter": {"imageStatus": "ANY"}}
    ecr = registry.client()
    while True:
        answer = ecr.describe_images(**params)
        details += answer["imageDetails"]
        if "nextToken" not in answer:
            break
        params["nextToken"] = answer["nextToken"]
    rows = [
        (
            ", ".join(sorted(d.get("imageTags", []))),
            d["imageDigest"],
            d.get("imageStatus", "ACTIVE"),
            d.get("imagePushedAt"),
            d.get("lastRecordedPullTime"),
            d.get("lastArchivedAt"),
            d.get("lastActivatedAt"),
        )
        for d in sorted(details, key=lambda d: (d["imagePushedAt"], d["imageDigest"]))
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def check_parameters(params: Mapping[str, Any]) -> None:
    """Check the `archive` runbook's coerced parameters as the spec will, raising `ValidationError` naming the
    parameter (a bad repository name names `repositories`); no registry needed."""
    names = params["repositories"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValidationError("repositories", names, "must be a list of repository names")
    try:
        for name in names:
            ArchivePolicy(name, params["archive_after_days"], params["since"], params["delete_after_days"])
    except ValidationError as error:
        field = "repositories" if error.field == "repository" else error.field
        raise ValidationError(field, error.value, error.rule) from None
