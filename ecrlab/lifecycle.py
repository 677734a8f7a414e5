"""Lifecycle policies: the JSON AWS accepts and the images its rules act on, as plain functions.

One implementation serves the emulator (PutLifecyclePolicy, creation templates, lifecycle previews) and
ecrlab's specs. The semantics are the user guide's evaluation rules and its worked examples
(LifecyclePolicies.html, lifecycle_policy_examples.html):

- rules are applied lowest `rulePriority` first, and an image is acted on by at most one rule;
- each rule *identifies* every image its selection matches — images seen by an earlier rule included —
  and counts or ages over all of them, but it cannot act on an image an earlier rule identified
  ("Image A has already been seen by Rule 1 and if Image B were expired it would violate Rule 1");
- `tagPrefixList` / `tagPatternList` select an image only when *every* listed prefix / pattern matches
  one of its tags;
- `imageCountMoreThan` keeps the newest N by push time, `sinceImagePushed` acts on images pushed more
  than N days ago, `sinceImagePulled` on images last pulled more than N days ago (lastRecordedPullTime);
- `storageClass` selects standard or archived images; `sinceImageTransitioned` ages from the archiving and
  never acts before the archive's 90-day minimum storage duration.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
AGE_COUNT_TYPES = COUNT_TYPES[1:]
ACTION_TYPES = ("expire", "transition")
STORAGE_CLASSES = ("standard", "archive")
ARCHIVE_MINIMUM_DAYS = 90  # archived images' minimum storage duration (user guide, Archiving an image)
MAX_WILDCARDS = 4  # per tagPatternList entry (lifecycle_policy_parameters.html)

_RULE_KEYS = {"rulePriority", "description", "selection", "action"}
_SELECTION_KEYS = {
    "tagStatus",
    "tagPatternList",
    "tagPrefixList",
    "storageClass",
    "countType",
    "countUnit",
    "countNumber",
}
_ACTION_KEYS = {"type", "targetStorageClass"}


class _Invalid(Exception):
    pass


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise _Invalid(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strings(value: Any, where: str) -> list[str]:
    _require(
        isinstance(value, list) and len(value) > 0 and all(isinstance(v, str) and v for v in value),
        f"{where} must be a non-empty list of non-empty strings",
    )
    return value


def _check_selection(selection: Any, where: str) -> None:
    _require(isinstance(selection, dict), f"{where} must be an object")
    unknown = sorted(set(selection) - _SELECTION_KEYS)
    _require(not unknown, f"{where} has properties which are not allowed by the schema: {unknown}")
    for key in ("tagStatus", "countType", "countNumber"):
        _require(key in selection, f"{where} is missing required property {key}")
    status, count_type = selection["tagStatus"], selection["countType"]
    _require(status in TAG_STATUSES, f"{where}.tagStatus must be one of {list(TAG_STATUSES)}")
    _require(count_type in COUNT_TYPES, f"{where}.countType must be one of {list(COUNT_TYPES)}")
    number = selection["countNumber"]
    _require(_is_int(number) and number >= 1, f"{where}.countNumber must be a positive integer")
    lists = [key for key in ("tagPrefixList", "tagPatternList") if key in selection]
    if status == "tagged":
        _require(len(lists) == 1, f"{where}: tagStatus tagged needs exactly one of tagPrefixList or tagPatternList")
        entries = _strings(selection[lists[0]], f"{where}.{lists[0]}")
        if lists[0] == "tagPatternList":
            for entry in entries:
                _require(
                    entry.count("*") <= MAX_WILDCARDS,
                    f"{where}.tagPatternList entry {entry!r} has more than {MAX_WILDCARDS} wildcards",
                )
    else:
        _require(not lists, f"{where}: {lists[0] if lists else ''} is only allowed with tagStatus tagged")
    if count_type in AGE_COUNT_TYPES:
        _require(selection.get("countUnit") == "days", f"{where}.countUnit must be 'days' with {count_type}")
    else:
        _require("countUnit" not in selection, f"{where}.countUnit is only allowed with an age count type")
    storage = selection.get("storageClass", "standard")
    _require(storage in STORAGE_CLASSES, f"{where}.storageClass must be one of {list(STORAGE_CLASSES)}")
    needed = "archive" if count_type == "sinceImageTransitioned" else "standard"
    _require(storage == needed, f"{where}.storageClass must be {needed} with countType {count_type}")


def _check_action(action: Any, where: str) -> None:
    _require(isinstance(action, dict), f"{where} must be an object")
    unknown = sorted(set(action) - _ACTION_KEYS)
    _require(not unknown, f"{where} has properties which are not allowed by the schema: {unknown}")
    _require(action.get("type") in ACTION_TYPES, f"{where}.type must be one of {list(ACTION_TYPES)}")
    if action["type"] == "transition":
        _require(action.get("targetStorageClass") == "archive", f"{where}.targetStorageClass must be archive")
    else:
        _require("targetStorageClass" not in action, f"{where}.targetStorageClass is only allowed with transition")


def _check_rules(document: Any) -> list[dict[str, Any]]:
    _require(isinstance(document, dict), "the policy must be a JSON object")
    unknown = sorted(set(document) - {"rules"})
    _require(not unknown, f"the policy has properties which are not allowed by the schema: {unknown}")
    rules = document.get("rules")
    _require(isinstance(rules, list) and len(rules) > 0, "the policy needs a non-empty rules list")
    for index, rule in enumerate(rules):
        where = f"rules[{index}]"
        _require(isinstance(rule, dict), f"{where} must be an object")
        unknown = sorted(set(rule) - _RULE_KEYS)
        _require(not unknown, f"{where} has properties which are not allowed by the schema: {unknown}")
        for key in ("rulePriority", "selection", "action"):
            _require(key in rule, f"{where} is missing required property {key}")
        priority = rule["rulePriority"]
        _require(_is_int(priority) and priority >= 1, f"{where}.rulePriority must be a positive integer")
        _check_selection(rule["selection"], f"{where}.selection")
        _check_action(rule["action"], f"{where}.action")
    counted = Counter(rule["rulePriority"] for rule in rules)
    duplicates = sorted(p for p, count in counted.items() if count > 1)
    _require(not duplicates, f"rulePriority values must be unique; repeated: {duplicates}")
    # "A rule with a tagStatus value of any must have the highest value for rulePriority." The guide's own
    # archive example pairs an `any` transition rule with a later `any` expire rule, so the check is read
    # per action type (UNCONFIRMED [U25]).
    for action in ACTION_TYPES:
        of_action = [rule for rule in rules if rule["action"]["type"] == action]
        highest = max((rule["rulePriority"] for rule in of_action), default=0)
        for rule in of_action:
            _require(
                rule["selection"]["tagStatus"] != "any" or rule["rulePriority"] == highest,
                f"the {action} rule with tagStatus any (rulePriority {rule['rulePriority']}) must have the "
                "highest rulePriority",
            )
    return sorted(rules, key=lambda rule: rule["rulePriority"])


def policy_problem(text: str) -> str | None:
    """Why AWS would reject this lifecycle policy text, or None when it is valid.

    The first detail AWS gives matches moto's copy ("Could not map policyString into LifecyclePolicy.");
    AWS's wording for the other rules is UNCONFIRMED [U25].
    """
    try:
        document = json.loads(text)
    except (TypeError, ValueError):
        return "Could not map policyString into LifecyclePolicy."
    try:
        _check_rules(document)
    except _Invalid as problem:
        return str(problem)
    return None


def rules(text: str) -> list[dict[str, Any]]:
    """The rules of a valid policy, lowest rulePriority first; raises ValueError on an invalid one."""
    problem = policy_problem(text)
    if problem:
        raise ValueError(problem)
    return _check_rules(json.loads(text))


@dataclass(frozen=True)
class Image:
    """What the evaluator needs to know about one image (one manifest digest)."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime
    pulled_at: datetime | None = None  # lastRecordedPullTime; None: never pulled
    storage_class: str = "standard"  # "archive" once archived
    archived_at: datetime | None = None  # lastArchivedAt
    activated_at: datetime | None = None  # lastActivatedAt: a restore


@dataclass(frozen=True)
class Outcome:
    """One image a rule acts on."""

    image: Image
    rule_priority: int
    action: str  # "expire" or "transition"


def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def _selects(selection: dict[str, Any], image: Image) -> bool:
    if selection.get("storageClass", "standard") != image.storage_class:
        return False
    status = selection["tagStatus"]
    if status == "untagged":
        return not image.tags
    if status == "any":
        return True
    if not image.tags:
        return False
    if "tagPrefixList" in selection:
        return all(any(tag.startswith(p) for tag in image.tags) for p in selection["tagPrefixList"])
    patterns = [_pattern(p) for p in selection["tagPatternList"]]
    return all(any(p.fullmatch(tag) for tag in image.tags) for p in patterns)


def _acted_on(selection: dict[str, Any], identified: list[Image], now: datetime) -> list[Image]:
    number = selection["countNumber"]
    if selection["countType"] == "imageCountMoreThan":
        # Newest first; `identified` is in push order, so of two images pushed in the same clock tick the
        # later push counts as newer.
        return sorted(reversed(identified), key=lambda image: image.pushed_at, reverse=True)[number:]
    if selection["countType"] == "sinceImageTransitioned":
        # "You cannot configure lifecycle policies that delete images that have been in archive for less than 90
        # days" (Archiving an image): the rule waits at least that long (that AWS accepts shorter rules:
        # UNCONFIRMED [U33]).
        cutoff = now - timedelta(days=max(number, ARCHIVE_MINIMUM_DAYS))
        return [image for image in identified if (image.archived_at or image.pushed_at) < cutoff]
    cutoff = now - timedelta(days=number)
    if selection["countType"] == "sinceImagePulled":
        # An image never pulled ages from its push (UNCONFIRMED [U33]).
        return [image for image in identified if _since(image.pulled_at or image.pushed_at, image) < cutoff]
    return [image for image in identified if _since(image.pushed_at, image) < cutoff]


def _since(start: datetime, image: Image) -> datetime:
    """A restored image ages from its restore: the guide says it behaves like a newly pushed one (UNCONFIRMED [U33])."""
    return max(start, image.activated_at) if image.activated_at else start


def evaluate(policy_text: str, images: Iterable[Image], now: datetime) -> list[Outcome]:
    """The images (given in push order) the policy acts on at `now`, oldest first; rules: module docstring."""
    pool = sorted(images, key=lambda image: image.pushed_at)
    seen: set[str] = set()
    outcomes: list[Outcome] = []
    for rule in rules(policy_text):
        identified = [image for image in pool if _selects(rule["selection"], image)]
        for image in _acted_on(rule["selection"], identified, now):
            if image.digest not in seen:
                outcomes.append(Outcome(image, rule["rulePriority"], rule["action"]["type"]))
        seen.update(image.digest for image in identified)
    order = {image.digest: index for index, image in enumerate(pool)}
    return sorted(outcomes, key=lambda outcome: order[outcome.image.digest])
