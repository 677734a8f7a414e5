"""Pull-time update exclusions and lastRecordedPullTime, against the user guide and the model.

The guide ("Pull-time update exclusions"): ECR updates lastRecordedPullTime on every pull; pulls by listed IAM
principals leave it unchanged; up to 100 exclusions. The model: ExclusionAlreadyExists / ExclusionNotFound /
LimitExceeded, the principal ARN pattern, maxResults 1-1000 with nextToken.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ecrlab import principals
from tests.model_shape import assert_fits_model, recording
from tests.oci import V2

ACCOUNT = "123456789012"
SCANNER = f"arn:aws:iam::{ACCOUNT}:role/scanner"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def wire(registry):
    yield from recording(registry)


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def role(n: int) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/team-{n:03d}"


def test_register_list_deregister(registry, wire):
    ecr = registry.client()
    registered = ecr.register_pull_time_update_exclusion(principalArn=SCANNER)
    assert_fits_model(wire)
    assert registered["principalArn"] == SCANNER and registered["createdAt"] == registry.emulator.now()
    assert ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == [SCANNER]
    assert_fits_model(wire)
    assert ecr.deregister_pull_time_update_exclusion(principalArn=SCANNER)["principalArn"] == SCANNER
    assert_fits_model(wire)
    assert ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == []


def test_duplicates_missing_and_malformed_principals(registry):
    ecr = registry.client()
    ecr.register_pull_time_update_exclusion(principalArn=SCANNER)
    with pytest.raises(ClientError) as duplicate:
        ecr.register_pull_time_update_exclusion(principalArn=SCANNER)
    assert code(duplicate) == "ExclusionAlreadyExistsException"
    with pytest.raises(ClientError) as missing:
        ecr.deregister_pull_time_update_exclusion(principalArn=role(1))
    assert code(missing) == "ExclusionNotFoundException"
    for arn in (f"arn:aws:sts::{ACCOUNT}:assumed-role/scanner/s1", "scanner", f"arn:aws:iam::{ACCOUNT}:group/ops"):
        with pytest.raises(ClientError) as malformed:
            ecr.register_pull_time_update_exclusion(principalArn=arn)
        assert code(malformed) == "ValidationException", arn  # the model's pattern: an IAM role or user ARN


def test_at_most_100_exclusions_listed_in_pages(registry):
    ecr = registry.client()
    for n in range(100):
        ecr.register_pull_time_update_exclusion(principalArn=role(n))
    with pytest.raises(ClientError) as full:
        ecr.register_pull_time_update_exclusion(principalArn=SCANNER)
    assert code(full) == "LimitExceededException"
    assert len(ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"]) == 100  # default page: all
    first = ecr.list_pull_time_update_exclusions(maxResults=60)
    second = ecr.list_pull_time_update_exclusions(maxResults=60, nextToken=first["nextToken"])
    assert first["pullTimeUpdateExclusions"] + second["pullTimeUpdateExclusions"] == [role(n) for n in range(100)]
    assert "nextToken" not in second
    with pytest.raises(ClientError) as too_many:
        ecr.list_pull_time_update_exclusions(maxResults=1001)
    assert code(too_many) == "ValidationException"


def pulled_at(registry) -> object:
    details = registry.client().describe_images(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    return details["imageDetails"][0].get("lastRecordedPullTime")


@pytest.fixture
def image(registry) -> None:
    registry.client().create_repository(repositoryName="team/app")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []})
    registry.client().put_image(repositoryName="team/app", imageManifest=manifest, imageTag="v1")


def test_every_pull_records_its_time_except_by_excluded_roles(registry, image, wire):
    assert pulled_at(registry) is None  # never pulled
    registry.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    first = registry.emulator.now()
    assert pulled_at(registry) == first
    assert "lastRecordedPullTime" in assert_fits_model(wire)["imageDetails"][0]
    scanner = principals.act_as_role(registry, "scanner")
    developer = principals.act_as_role(registry, "developer")
    registry.client().register_pull_time_update_exclusion(principalArn=principals.role_arn(registry, "scanner"))
    registry.emulator.advance(days=1)
    scanner.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert pulled_at(registry) == first  # the scanner's pull does not keep the image alive
    developer.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert pulled_at(registry) == registry.emulator.now() > first


def test_v2_pulls_record_time_but_a_head_does_not(registry, image):
    v2 = V2(registry)
    accept = {"Accept": OCI_MANIFEST}
    assert v2("HEAD", "/v2/team/app/manifests/v1", headers=accept).status == 200
    assert pulled_at(registry) is None
    assert v2("GET", "/v2/team/app/manifests/v1", headers=accept).status == 200
    assert pulled_at(registry) == registry.emulator.now()


def test_v2_pulls_by_an_excluded_role_leave_the_time(registry, image):
    scanner = principals.act_as_role(registry, "scanner")
    registry.client().register_pull_time_update_exclusion(principalArn=principals.role_arn(registry, "scanner"))
    pulled = V2(scanner)("GET", "/v2/team/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert pulled.status == 200 and pulled_at(registry) is None


def preview(registry, rule: dict) -> list[str]:
    ecr = registry.client()
    ecr.start_lifecycle_policy_preview(repositoryName="team/app", lifecyclePolicyText=json.dumps({"rules": [rule]}))
    results = ecr.get_lifecycle_policy_preview(repositoryName="team/app")["previewResults"]
    return [(r["imageTags"], r["action"]["type"]) for r in results]


def test_a_scanners_pulls_no_longer_keep_an_image_alive(registry, image):
    """The guide's case: a pull-age lifecycle rule, an image only a third-party scanner still pulls."""
    stale = {
        "rulePriority": 1,
        "selection": {"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 30},
        "action": {"type": "expire"},
    }
    scanner = principals.act_as_role(registry, "scanner")
    registry.emulator.advance(days=31)
    scanner.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert preview(registry, stale) == []  # the scanner's pull kept it alive
    registry.client().register_pull_time_update_exclusion(principalArn=principals.role_arn(registry, "scanner"))
    registry.emulator.advance(days=31)
    scanner.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageTag": "v1"}])
    assert preview(registry, stale) == [(["v1"], "EXPIRE")]  # now its pulls no longer count
