"""PutImage to a missing repository follows the same create-on-push rule as a /v2/ push."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []})


def test_put_image_creates_a_missing_repository_only_under_a_create_on_push_template(registry):
    ecr = registry.client()
    with pytest.raises(ClientError) as excinfo:
        ecr.put_image(repositoryName="prod/api", imageManifest=MANIFEST, imageTag="v1")
    assert excinfo.value.response["Error"]["Code"] == "RepositoryNotFoundException"
    ecr.create_repository_creation_template(prefix="prod", appliedFor=["REPLICATION"])
    with pytest.raises(ClientError):
        ecr.put_image(repositoryName="prod/api", imageManifest=MANIFEST, imageTag="v1")
    ecr.update_repository_creation_template(
        prefix="prod", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE"
    )
    ecr.put_image(repositoryName="prod/api", imageManifest=MANIFEST, imageTag="v1")
    repo = ecr.describe_repositories(repositoryNames=["prod/api"])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE"
