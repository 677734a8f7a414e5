"""Lifecycle policy rules: the user guide's worked examples, validation, and previews in the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from ecrlab.lifecycle import Image, evaluate, policy_problem

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def image(name: str, tags: list[str], days_ago: float) -> Image:
    return Image(f"sha256:{name}", tuple(tags), NOW - timedelta(days=days_ago))


def rule(priority: int, tag_status: str, count_type: str, number: int, **selection) -> dict:
    body = {"tagStatus": tag_status, "countType": count_type, "countNumber": number, **selection}
    if count_type == "sinceImagePushed":
        body.setdefault("countUnit", "days")
    return {"rulePriority": priority, "selection": body, "action": {"type": "expire"}}


def policy(*rules: dict) -> str:
    return json.dumps({"rules": list(rules)})


def expired(text: str, images: list[Image]) -> list[str]:
    return [outcome.image.digest.removeprefix("sha256:") for outcome in evaluate(text, images, NOW)]


# Repository of "Filtering on multiple rules" (lifecycle_policy_examples.html).
BETA_PROD = [
    image("A", ["beta-1", "prod-1"], 10),
    image("B", ["beta-2", "prod-2"], 9),
    image("C", ["beta-3"], 8),
]


def test_multiple_rules_example_a_an_earlier_rule_protects_what_it_saw():
    text = policy(
        rule(1, "tagged", "imageCountMoreThan", 1, tagPrefixList=["prod"]),
        rule(2, "tagged", "imageCountMoreThan", 1, tagPrefixList=["beta"]),
    )
    assert expired(text, BETA_PROD) == ["A"]


def test_multiple_rules_example_b_priority_order_changes_the_outcome():
    text = policy(
        rule(1, "tagged", "imageCountMoreThan", 1, tagPatternList=["beta*"]),
        rule(2, "tagged", "imageCountMoreThan", 1, tagPatternList=["prod*"]),
    )
    assert expired(text, BETA_PROD) == ["A", "B"]


def test_rules_apply_in_priority_order_not_list_order():
    text = policy(
        rule(2, "tagged", "imageCountMoreThan", 1, tagPrefixList=["beta"]),
        rule(1, "tagged", "imageCountMoreThan", 1, tagPrefixList=["prod"]),
    )
    assert expired(text, BETA_PROD) == ["A"]


def test_every_pattern_must_match_some_tag():
    images = [
        image("A", ["alpha-1"], 12),
        image("B", ["beta-1"], 11),
        image("C", ["alpha-2", "beta-2"], 10),
        image("D", ["alpha-3"], 4),
        image("E", ["beta-3"], 3),
        image("F", ["alpha-4", "beta-4"], 2),
    ]
    text = policy(rule(1, "tagged", "sinceImagePushed", 5, tagPatternList=["alpha*", "beta*"]))
    assert expired(text, images) == ["C"]


def test_tags_are_not_exclusive():
    images = [
        image("A", ["alpha-1", "beta-1", "gamma-1"], 10),
        image("B", ["alpha-2", "beta-2"], 9),
        image("C", ["alpha-3", "beta-3", "gamma-2"], 8),
    ]
    assert expired(policy(rule(1, "tagged", "imageCountMoreThan", 1, tagPrefixList=["alpha", "beta"])), images) == [
        "A",
        "B",
    ]


def test_any_keeps_the_newest_n_by_push_time():
    images = [
        image("A", ["alpha-1"], 4),
        image("B", ["beta-1"], 3),
        image("C", [], 2),
        image("D", ["alpha-2"], 1),
    ]
    assert expired(policy(rule(1, "any", "imageCountMoreThan", 1)), images) == ["A", "B", "C"]


def test_a_later_rule_counts_images_earlier_rules_saw_but_acts_only_on_the_rest():
    images = [
        image("A", ["alpha-1", "beta-1"], 4),
        image("B", [], 3),
        image("C", ["alpha-2"], 2),
        image("D", ["git hash"], 1),
        image("E", [], 0.9),
    ]
    text = policy(
        rule(1, "tagged", "imageCountMoreThan", 1, tagPatternList=["alpha*"]),
        rule(2, "untagged", "sinceImagePushed", 1),
        rule(3, "any", "imageCountMoreThan", 1),
    )
    outcomes = evaluate(text, images, NOW)
    assert [(o.image.digest[-1], o.rule_priority) for o in outcomes] == [("A", 1), ("B", 2), ("D", 3)]


def test_age_is_strictly_older_than_the_count_in_days():
    images = [image("old", [], 14.01), image("edge", [], 14), image("new", [], 1)]
    assert expired(policy(rule(1, "untagged", "sinceImagePushed", 14)), images) == ["old"]


def test_untagged_and_tagged_select_disjoint_images():
    images = [image("T", ["v1"], 30), image("U", [], 30)]
    assert expired(policy(rule(1, "untagged", "sinceImagePushed", 1)), images) == ["U"]
    assert expired(policy(rule(1, "tagged", "sinceImagePushed", 1, tagPrefixList=["v"])), images) == ["T"]


def test_archive_rules_select_no_standard_image():
    archive = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "any",
            "storageClass": "archive",
            "countType": "sinceImageTransitioned",
            "countUnit": "days",
            "countNumber": 1,
        },
        "action": {"type": "expire"},
    }
    assert policy_problem(policy(archive)) is None
    assert expired(policy(archive), [image("A", [], 400)]) == []


ARCHIVED_EXPIRY = {
    "rulePriority": 1,
    "selection": {
        "tagStatus": "any",
        "storageClass": "archive",
        "countType": "sinceImageTransitioned",
        "countUnit": "days",
        "countNumber": 30,
    },
    "action": {"type": "expire"},
}


def test_archive_rules_age_from_archiving_and_wait_the_90_day_minimum():
    # "Archived images have a minimum storage duration of 90 days" (user guide, Archiving an image).
    def archived(name: str, days_archived: float) -> Image:
        return Image(
            f"sha256:{name}", (), NOW - timedelta(days=400), None, "archive", NOW - timedelta(days=days_archived)
        )

    images = [archived("A", 31), archived("B", 91), image("S", [], 400)]
    assert expired(policy(ARCHIVED_EXPIRY), images) == ["B"]


def test_since_image_pulled_ages_from_the_last_pull():
    pulled = Image("sha256:P", (), NOW - timedelta(days=100), NOW - timedelta(days=2))
    stale = Image("sha256:S", (), NOW - timedelta(days=100), NOW - timedelta(days=40))
    never = Image("sha256:N", (), NOW - timedelta(days=100))
    rule_ = {
        "rulePriority": 1,
        "selection": {"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 30},
        "action": {"type": "expire"},
    }
    assert expired(policy(rule_), [pulled, stale, never]) == ["S", "N"]


def test_transition_rules_are_reported_as_transitions():
    move = {
        "rulePriority": 1,
        "selection": {
            "tagStatus": "any",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": 30,
        },
        "action": {"type": "transition", "targetStorageClass": "archive"},
    }
    [outcome] = evaluate(policy(move), [image("A", [], 31)], NOW)
    assert outcome.action == "transition"


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ("not json", "Could not map policyString into LifecyclePolicy."),
        ({"rules": []}, "non-empty rules list"),
        ({"rules": [], "extra": 1}, "not allowed by the schema"),
        (
            {
                "rules": [
                    rule(1, "any", "imageCountMoreThan", 1),
                    rule(1, "untagged", "imageCountMoreThan", 1),
                ]
            },
            "unique",
        ),
        (
            {"rules": [rule(0, "untagged", "imageCountMoreThan", 1)]},
            "rulePriority must be a positive integer",
        ),
        (
            {"rules": [rule(1, "tagged", "imageCountMoreThan", 1)]},
            "exactly one of tagPrefixList or tagPatternList",
        ),
        (
            {"rules": [rule(1, "tagged", "imageCountMoreThan", 1, tagPrefixList=["a"], tagPatternList=["b*"])]},
            "exactly one of tagPrefixList or tagPatternList",
        ),
        (
            {"rules": [rule(1, "untagged", "imageCountMoreThan", 1, tagPrefixList=["a"])]},
            "only allowed with tagStatus",
        ),
        (
            {"rules": [rule(1, "any", "imageCountMoreThan", 1, tagPatternList=["a*"])]},
            "only allowed with tagStatus",
        ),
        (
            {"rules": [rule(1, "tagged", "imageCountMoreThan", 1, tagPatternList=["a*b*c*d*e*"])]},
            "more than 4",
        ),
        ({"rules": [rule(1, "tagged", "imageCountMoreThan", 1, tagPrefixList=[])]}, "non-empty list"),
        ({"rules": [rule(1, "untagged", "imageCountMoreThan", 0)]}, "countNumber must be a positive integer"),
        (
            {"rules": [rule(1, "untagged", "imageCountMoreThan", 1, countUnit="days")]},
            "countUnit is only allowed",
        ),
        (
            {"rules": [rule(1, "untagged", "sinceImagePushed", 1, countUnit="hours")]},
            "countUnit must be 'days'",
        ),
        ({"rules": [rule(1, "untagged", "imagesOlderThan", 1)]}, "countType must be one of"),
        ({"rules": [rule(1, "some", "imageCountMoreThan", 1)]}, "tagStatus must be one of"),
        (
            {"rules": [{**rule(1, "untagged", "imageCountMoreThan", 1), "action": {"type": "delete"}}]},
            "type must be one of",
        ),
        (
            {"rules": [{**rule(1, "untagged", "imageCountMoreThan", 1), "action": {"type": "transition"}}]},
            "targetStorageClass must be archive",
        ),
        ({"rules": [{"rulePriority": 1, "selection": {}}]}, "missing required property action"),
        (
            {
                "rules": [
                    rule(1, "any", "imageCountMoreThan", 5),
                    rule(2, "untagged", "imageCountMoreThan", 1),
                ]
            },
            "must have the highest rulePriority",
        ),
    ],
)
def test_invalid_policies_say_what_is_wrong(document, fragment):
    text = document if isinstance(document, str) else json.dumps(document)
    problem = policy_problem(text)
    assert problem is not None and fragment in problem, problem


def test_documented_examples_are_valid():
    text = policy(
        rule(1, "tagged", "imageCountMoreThan", 1, tagPatternList=["alpha*"]),
        rule(2, "untagged", "sinceImagePushed", 1),
        rule(3, "any", "imageCountMoreThan", 1),
    )
    assert policy_problem(text) is None


# --- the emulator: PutLifecyclePolicy validation and previews, through boto3 on the emulator clock ---


def push(ecr, repository: str, tag: str | None, n: int) -> str:
    """Push a small image (an empty OCI index, unique per n) and return its digest."""
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [], "annotations": {"n": str(n)}})
    extra = {"imageTag": tag} if tag else {}
    return ecr.put_image(repositoryName=repository, imageManifest=manifest, **extra)["image"]["imageId"]["imageDigest"]


def code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


@pytest.fixture
def repo(registry):
    """Repository 'app' with v1 (4 days old), v2 (2 days), an untagged image (1 day) and v3 (now)."""
    ecr = registry.client()
    ecr.create_repository(repositoryName="app")
    digests = {"v1": push(ecr, "app", "v1", 1)}
    registry.emulator.advance(days=2)
    digests["v2"] = push(ecr, "app", "v2", 2)
    registry.emulator.advance(days=1)
    digests["untagged"] = push(ecr, "app", None, 3)
    registry.emulator.advance(days=1)
    digests["v3"] = push(ecr, "app", "v3", 4)
    return digests


def test_put_lifecycle_policy_rejects_what_aws_rejects(registry):
    ecr = registry.client()
    ecr.create_repository(repositoryName="app")
    bad = policy(rule(1, "untagged", "imageCountMoreThan", 1, tagPrefixList=["v"]))
    with pytest.raises(ClientError) as excinfo:
        ecr.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=bad)
    assert code(excinfo) == "InvalidParameterException"
    assert "'Lifecycle policy validation failure: rules[0].selection: tagPrefixList" in str(excinfo.value)
    good = policy(rule(1, "tagged", "sinceImagePushed", 3, tagPatternList=["v*"]))
    ecr.put_lifecycle_policy(repositoryName="app", lifecyclePolicyText=good)
    assert ecr.get_lifecycle_policy(repositoryName="app")["lifecyclePolicyText"] == good


def test_preview_runs_the_rules_on_the_emulator_clock(registry, repo):
    ecr = registry.client()
    text = policy(
        rule(1, "tagged", "sinceImagePushed", 3, tagPatternList=["v1"]),
        rule(2, "any", "imageCountMoreThan", 2),
    )
    started = ecr.start_lifecycle_policy_preview(repositoryName="app", lifecyclePolicyText=text)
    assert started["status"] == "IN_PROGRESS"
    preview = ecr.get_lifecycle_policy_preview(repositoryName="app")
    assert preview["status"] == "COMPLETE"
    assert preview["lifecyclePolicyText"] == text
    results = [
        (r["imageDigest"], r["imageTags"], r["appliedRulePriority"], r["action"]) for r in preview["previewResults"]
    ]
    assert results == [
        (repo["v1"], ["v1"], 1, {"type": "EXPIRE"}),
        # Rule 2 keeps the two newest (v3, the untagged image) and expires the rest that rule 1 did not see.
        (repo["v2"], ["v2"], 2, {"type": "EXPIRE"}),
    ]
    assert preview["previewResults"][0]["imagePushedAt"] == registry.emulator.now() - timedelta(days=4)
    assert preview["summary"] == {"expiringImageTotalCount": 2}


def test_preview_filters_and_pages(registry, repo):
    ecr = registry.client()
    ecr.start_lifecycle_policy_preview(
        repositoryName="app", lifecyclePolicyText=policy(rule(1, "any", "imageCountMoreThan", 1))
    )
    untagged = ecr.get_lifecycle_policy_preview(repositoryName="app", filter={"tagStatus": "UNTAGGED"})
    assert [r["imageDigest"] for r in untagged["previewResults"]] == [repo["untagged"]]
    assert untagged["summary"]["expiringImageTotalCount"] == 3
    by_id = ecr.get_lifecycle_policy_preview(repositoryName="app", imageIds=[{"imageTag": "v2"}])
    assert [r["imageDigest"] for r in by_id["previewResults"]] == [repo["v2"]]
    first = ecr.get_lifecycle_policy_preview(repositoryName="app", maxResults=2)
    second = ecr.get_lifecycle_policy_preview(repositoryName="app", maxResults=2, nextToken=first["nextToken"])
    assert [r["imageDigest"] for r in first["previewResults"] + second["previewResults"]] == [
        repo["v1"],
        repo["v2"],
        repo["untagged"],
    ]
    assert "nextToken" not in second
    with pytest.raises(ClientError) as excinfo:
        ecr.get_lifecycle_policy_preview(repositoryName="app", imageIds=[{"imageTag": "v2"}], maxResults=5)
    assert code(excinfo) == "InvalidParameterException"


def test_preview_status_and_errors(registry, repo):
    ecr = registry.client()
    with pytest.raises(ClientError) as excinfo:
        ecr.get_lifecycle_policy_preview(repositoryName="app")
    assert code(excinfo) == "LifecyclePolicyPreviewNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        ecr.start_lifecycle_policy_preview(repositoryName="app")
    assert code(excinfo) == "LifecyclePolicyNotFoundException"
    ecr.put_lifecycle_policy(
        repositoryName="app", lifecyclePolicyText=policy(rule(1, "untagged", "sinceImagePushed", 1))
    )
    ecr.start_lifecycle_policy_preview(repositoryName="app")
    with pytest.raises(ClientError) as excinfo:
        ecr.start_lifecycle_policy_preview(repositoryName="app")
    assert code(excinfo) == "LifecyclePolicyPreviewInProgressException"
    # The untagged image is exactly one day old: not yet "more than 1 day".
    assert ecr.get_lifecycle_policy_preview(repositoryName="app")["previewResults"] == []
    registry.emulator.advance(minutes=1)
    ecr.start_lifecycle_policy_preview(repositoryName="app")  # the read one completed, so a new one may start
    preview = ecr.get_lifecycle_policy_preview(repositoryName="app")
    assert [r["imageDigest"] for r in preview["previewResults"]] == [repo["untagged"]]
    with pytest.raises(ClientError) as excinfo:
        ecr.start_lifecycle_policy_preview(repositoryName="app", lifecyclePolicyText=policy(rule(1, "x", "y", 1)))
    assert code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecr.start_lifecycle_policy_preview(
            repositoryName="missing", lifecyclePolicyText=policy(rule(1, "any", "imageCountMoreThan", 1))
        )
    assert code(excinfo) == "RepositoryNotFoundException"
