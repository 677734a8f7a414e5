"""Shared by several test modules (moved from test_templates_emulator.py so no test module imports another)."""

from __future__ import annotations

import json

ACCOUNT = "123456789012"


ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecr-template-role"


KMS_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0d7b3f4e-1c2a-4b5d-9e8f-123456789abc"


LIFECYCLE = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5},
                "action": {"type": "expire"},
            }
        ]
    }
)


REPOSITORY_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "pull",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
)


def create(ecr, prefix: str = "prod", **fields):
    return ecr.create_repository_creation_template(prefix=prefix, **({"appliedFor": ["PULL_THROUGH_CACHE"]} | fields))[
        "repositoryCreationTemplate"
    ]
