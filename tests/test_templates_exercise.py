"""Exercise 03's check: right for the intended templates, and a reason for each way of getting it wrong."""

from __future__ import annotations

import pytest

from ecrlab.exercises import check_ml_templates
from ecrlab.templates import TemplateSpec
from tests.template_helpers import ROLE

EXPIRE_UNTAGGED_AFTER_A_DAY = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        }
    ]
}
ML = TemplateSpec("ml", "CREATE_ON_PUSH", image_tag_mutability="IMMUTABLE")
EXPERIMENTS = TemplateSpec("ml/experiments", "CREATE_ON_PUSH", lifecycle_policy=EXPIRE_UNTAGGED_AFTER_A_DAY)


def test_the_intended_templates_are_right():
    assert check_ml_templates([ML, EXPERIMENTS]).startswith("Right:")
    tagged = TemplateSpec(
        "ml/experiments",
        ("CREATE_ON_PUSH", "REPLICATION"),
        lifecycle_policy=EXPIRE_UNTAGGED_AFTER_A_DAY,
        resource_tags={"team": "ml"},
        custom_role_arn=ROLE,
    )
    assert check_ml_templates([tagged, ML]).startswith("Right:")  # extra reasons, tags with a role, any order


@pytest.mark.parametrize(
    ("specs", "fragment"),
    [
        (None, "set my_templates"),
        ([], "set my_templates"),
        (["ml"], "must be a list of TemplateSpec"),
        ([ML], "from template 'ml'; experiments retag freely"),
        ([EXPERIMENTS], "a push to ml/serving would be refused"),
        ([TemplateSpec("ml", "PULL_THROUGH_CACHE"), EXPERIMENTS], "a push to ml/serving would be refused"),
        ([TemplateSpec("ml", "CREATE_ON_PUSH"), EXPERIMENTS], "serving images need IMMUTABLE"),
        (
            [
                TemplateSpec("ml", "CREATE_ON_PUSH", image_tag_mutability="IMMUTABLE", resource_tags={"a": "b"}),
                EXPERIMENTS,
            ],
            "without custom_role_arn",
        ),
        ([ML, TemplateSpec("ml/experiments", "CREATE_ON_PUSH")], "must expire untagged images"),
        ([ML, TemplateSpec("ml/experiments", "CREATE_ON_PUSH", image_tag_mutability="IMMUTABLE")], "need MUTABLE"),
        (
            [
                ML,
                TemplateSpec(
                    "ml/experiments",
                    "CREATE_ON_PUSH",
                    lifecycle_policy={
                        "rules": [
                            {
                                "rulePriority": 1,
                                "selection": {
                                    "tagStatus": "any",
                                    "countType": "sinceImagePushed",
                                    "countUnit": "days",
                                    "countNumber": 1,
                                },
                                "action": {"type": "expire"},
                            }
                        ]
                    },
                ),
            ],
            "and nothing else",
        ),
        ([ML, EXPERIMENTS, TemplateSpec("ROOT", "CREATE_ON_PUSH")], "would also create web/frontend"),
    ],
)
def test_each_mistake_is_named(specs, fragment):
    message = check_ml_templates(specs)
    assert message.startswith("Not yet:") and fragment in message, message
