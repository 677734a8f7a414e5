"""Lifecycle policies in the emulator: AWS's validation on PutLifecyclePolicy, and lifecycle policy previews.

The rules themselves live in `ecrlab.lifecycle`. A preview is evaluated when it starts, on the emulator clock,
and reads IN_PROGRESS until the first GetLifecyclePolicyPreview, which returns it COMPLETE: AWS finishes a
preview asynchronously, the emulator lets the caller settle it deterministically. Starting a second preview of
a repository before the first was read raises LifecyclePolicyPreviewInProgressException, as AWS does while one
runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ecrlab import lifecycle
from ecrlab.emulator.archive_operations import ACTIVE, status_of
from ecrlab.emulator.aws_errors import aws_error, invalid_parameter
from ecrlab.emulator.clock import emulator_now
from ecrlab.emulator.extension import Call, backend_hook, operation
from ecrlab.emulator.moto_compat import ECRBackend, LifecyclePolicyNotFoundException, Repository, get_repository
from ecrlab.emulator.paging import page
from ecrlab.emulator.state import feature_state, state_of


@feature_state()
@dataclass
class LifecyclePreviewState:
    """The last lifecycle policy preview per repository."""

    previews: dict[str, Preview] = field(default_factory=dict)


# Lifecycle policies act "within 24 hours" (user guide, LifecyclePolicies.html); the emulator runs each one a day
# after it is set and daily after that, on its clock (`lifecycle_runs.py`), or at once on settle().
LIFECYCLE_INTERVAL = timedelta(hours=24)


@dataclass
class RunSchedule:
    """When the next daily lifecycle run can be due, so the sweep after each request looks at every repository
    only when one may be due, not on every request (at 5,000 repositories that walk was per request, under the
    state lock). `earliest` holds for the registries in `registries` (their ids); other registries (after a reset
    or a restore) are unknown until a full walk."""

    earliest: datetime | None = None
    registries: frozenset[int] = frozenset()

    def schedule(self, repository: Repository, at: datetime) -> None:
        """Set the repository's next run (the emulator's field on moto's Repository) and keep `earliest` true."""
        repository.lifecycle_next_run = at  # type: ignore[attr-defined]  # the emulator's field on moto's Repository
        if self.earliest is not None and at < self.earliest:
            self.earliest = at

    def forget(self) -> None:
        """Know nothing (the emulator's reset): the next sweep walks every repository."""
        self.earliest, self.registries = None, frozenset()


RUNS = RunSchedule()
# The message AWS sends for a policy its schema rejects, as moto copies it; the detail after it is ecrlab's.
INVALID_POLICY = "Lifecycle policy validation failure: "


def _invalid(field: str, rule: str) -> Exception:
    return invalid_parameter(field, rule)


def check_policy(text: str) -> None:
    """Raise AWS's InvalidParameterException for lifecycle policy text AWS would reject."""
    problem = lifecycle.policy_problem(text)
    if problem:
        raise _invalid("LifecyclePolicyText", INVALID_POLICY + problem)


@backend_hook(
    "put_lifecycle_policy",
    ("PutLifecyclePolicy",),
    "validates rules as AWS documents them (unique priorities, tag lists only when tagged, countUnit)",
)
def put_lifecycle_policy(
    _moto_put: Callable[..., dict[str, Any]],
    backend: ECRBackend,
    registry_id: str | None,
    repository_name: str,
    lifecycle_policy_text: str,
) -> dict[str, Any]:
    """moto's validator knows only expire rules and misses cross-rule checks; ecrlab's replaces it."""
    repository = get_repository(backend, repository_name, registry_id)
    check_policy(lifecycle_policy_text)
    repository.lifecycle_policy = lifecycle_policy_text
    RUNS.schedule(repository, emulator_now() + LIFECYCLE_INTERVAL)  # AWS: "within 24 hours"
    return {
        "registryId": repository.registry_id,
        "repositoryName": repository_name,
        "lifecyclePolicyText": lifecycle_policy_text,
    }


@dataclass
class Preview:
    repository: Repository
    policy_text: str
    outcomes: list[lifecycle.Outcome]
    complete: bool = False


def _previews(call: Call) -> dict[str, Preview]:
    return state_of(call.ecr, LifecyclePreviewState).previews


def images_of(repository: Repository) -> list[lifecycle.Image]:
    """The repository's images as the lifecycle evaluator sees them: previews and lifecycle runs read the same."""
    return [
        lifecycle.Image(
            image.get_image_digest(),
            tuple(image.image_tags),
            datetime.fromtimestamp(image.image_pushed_at, UTC),
            getattr(image, "last_recorded_pull_time", None),
            "standard" if status_of(image) == ACTIVE else "archive",
            getattr(image, "last_archived_at", None),
            getattr(image, "last_activated_at", None),
        )
        for image in repository.images
    ]


@operation(
    "StartLifecyclePolicyPreview",
    "evaluated at start on the emulator clock; COMPLETE from the first Get; sinceImagePulled ages from "
    "lastRecordedPullTime (push if never pulled); archive rules select archived images",
)
def start_preview(call: Call) -> dict[str, Any]:
    name = call.params["repositoryName"]
    repository = call.repository()
    text = call.params.get("lifecyclePolicyText") or repository.lifecycle_policy
    if not text:
        raise LifecyclePolicyNotFoundException(name, repository.registry_id)
    check_policy(text)
    running = _previews(call).get(name)
    if running and running.repository is repository and not running.complete:
        raise aws_error(
            "LifecyclePolicyPreviewInProgressException",
            "The previous lifecycle policy preview request has not completed. Wait and try again.",
        )
    outcomes = lifecycle.evaluate(text, images_of(repository), emulator_now())
    _previews(call)[name] = Preview(repository, text, outcomes)
    return {
        "registryId": repository.registry_id,
        "repositoryName": name,
        "lifecyclePolicyText": text,
        "status": "IN_PROGRESS",
    }


def _result(outcome: lifecycle.Outcome) -> dict[str, Any]:
    action: dict[str, str] = {"type": outcome.action.upper()}
    if outcome.action == "transition":
        action["targetStorageClass"] = "ARCHIVE"
    return {
        "imageTags": list(outcome.image.tags),
        "imageDigest": outcome.image.digest,
        "imagePushedAt": outcome.image.pushed_at,
        "action": action,
        "appliedRulePriority": outcome.rule_priority,
        "storageClass": outcome.image.storage_class.upper(),
    }


def _wanted(outcome: lifecycle.Outcome, image_ids: list[dict[str, str]], tag_status: str) -> bool:
    image = outcome.image
    if tag_status != "ANY" and bool(image.tags) != (tag_status == "TAGGED"):
        return False
    return not image_ids or any(
        ("imageDigest" not in i or i["imageDigest"] == image.digest)
        and ("imageTag" not in i or i["imageTag"] in image.tags)
        for i in image_ids
    )


def _summary(outcomes: list[lifecycle.Outcome]) -> dict[str, Any]:
    summary: dict[str, Any] = {"expiringImageTotalCount": sum(o.action == "expire" for o in outcomes)}
    transitioning = sum(o.action == "transition" for o in outcomes)
    if transitioning:
        summary["transitioningImageTotalCounts"] = [{"targetStorageClass": "ARCHIVE", "imageTotalCount": transitioning}]
    return summary


@operation("GetLifecyclePolicyPreview", "imageIds, filter.tagStatus, maxResults/nextToken pages")
def get_preview(call: Call) -> dict[str, Any]:
    name = call.params["repositoryName"]
    repository = call.repository()
    preview = _previews(call).get(name)
    if preview is None or preview.repository is not repository:
        raise aws_error("LifecyclePolicyPreviewNotFoundException", "There is no dry run for this repository.")
    image_ids = call.params.get("imageIds") or []
    if image_ids and ("nextToken" in call.params or "maxResults" in call.params):
        raise _invalid("imageIds", "imageIds cannot be used together with maxResults or nextToken")
    tag_status = (call.params.get("filter") or {}).get("tagStatus", "ANY")
    results = [_result(o) for o in preview.outcomes if _wanted(o, image_ids, tag_status)]
    results, token = page(results, call.params, "GetLifecyclePolicyPreview")
    preview.complete = True
    response: dict[str, Any] = {
        "registryId": repository.registry_id,
        "repositoryName": name,
        "lifecyclePolicyText": preview.policy_text,
        "status": "COMPLETE",
        "previewResults": results,
        "summary": _summary(preview.outcomes),
    }
    return response | ({"nextToken": token} if token else {})
