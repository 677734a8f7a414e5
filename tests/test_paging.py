"""Paginated ECR operations page as AWS documents them: `maxResults` items, an opaque `nextToken`, 100 results
per page by default, InvalidParameterException for a token ECR cannot read (botocore's model and the ECR API
reference: "If this parameter is not used, then DescribeRepositories returns up to 100 results")."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto.ecr.models import ecr_backends

import ecrlab
from tests.conftest import aws_cli


def code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def add_repositories(registry, names: list[str]) -> None:
    """Through moto's backend (the seam every request reaches), not one HTTP call per repository."""
    backend = ecr_backends[registry.account_id][registry.region]
    for name in names:
        backend.create_repository(name, None, {"encryptionType": "AES256"}, {"scanOnPush": False}, "MUTABLE", [])


def manifest(n: int) -> str:
    return json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": [], "n": n}
    )


def walk(ecr, operation: str, size: int, **params) -> list[dict]:
    """boto3's own paginator, which follows nextToken until the last page."""
    return list(ecr.get_paginator(operation).paginate(PaginationConfig={"PageSize": size}, **params))


def names(pages, key: str = "repositories", field: str = "repositoryName") -> list[str]:
    return [item[field] for page in pages for item in page[key]]


def test_every_paginated_operation_of_the_model_is_answered_by_the_emulator():
    """botocore's paginators are the list AWS's SDKs page; each is answered (not 'not emulated')."""
    from ecrlab.emulator.coverage import MISSING, coverage

    paginated = set(botocore.session.get_session().get_paginator_model("ecr")._paginator_config)
    missing = {row.operation for row in coverage() if row.status == MISSING}
    assert paginated and not paginated & missing


def test_describe_repositories_pages_of_the_requested_and_default_size(registry):
    add_repositories(registry, [f"team/r{i:03d}" for i in range(150)])
    ecr = registry.client()
    first = ecr.describe_repositories()
    assert len(first["repositories"]) == 100 and first["nextToken"]  # the documented default
    rest = ecr.describe_repositories(nextToken=first["nextToken"])
    assert len(rest["repositories"]) == 50 and "nextToken" not in rest
    sizes = [len(p["repositories"]) for p in walk(ecr, "describe_repositories", 40)]
    assert sizes == [40, 40, 40, 30]
    assert names([first, rest]) == [f"team/r{i:03d}" for i in range(150)]  # creation order, as moto lists them


def test_a_paginator_over_5000_repositories_yields_each_exactly_once(registry):
    wanted = [f"fleet/service-{i:04d}" for i in range(5000)]
    add_repositories(registry, wanted)
    pages = walk(registry.client(), "describe_repositories", 1000)
    assert [len(p["repositories"]) for p in pages] == [1000] * 5
    seen = names(pages)
    assert len(seen) == len(set(seen)) == 5000 and set(seen) == set(wanted)


def test_a_walk_survives_writes_between_pages(registry):
    """Repositories present throughout are listed once; created or deleted ones at most once."""
    add_repositories(registry, [f"r{i:02d}" for i in range(30)])
    ecr = registry.client()
    first = ecr.describe_repositories(maxResults=10)
    ecr.delete_repository(repositoryName="r03")  # already listed: no one shifts back into a repeat
    ecr.delete_repository(repositoryName="r15")  # not yet listed: no one is skipped
    add_repositories(registry, ["new-a", "new-b"])
    pages = [first]
    while "nextToken" in pages[-1]:
        pages.append(ecr.describe_repositories(maxResults=10, nextToken=pages[-1]["nextToken"]))
    seen = names(pages)
    assert len(seen) == len(set(seen))
    assert set(seen) == {f"r{i:02d}" for i in range(30) if i != 15} | {"new-a", "new-b"}


@pytest.mark.parametrize(
    "token",
    ["not a token", "eyJ9", "WyJEZXNjcmliZVJlcG9zaXRvcmllcyIsInRleHQiXQ=="],  # garbage, bad JSON, wrong kind of key
)
def test_a_token_ecr_cannot_read_is_invalid_parameter(registry, token):
    add_repositories(registry, ["app", "web"])
    with pytest.raises(ClientError) as refused:
        registry.client().describe_repositories(nextToken=token)
    assert code(refused) == "InvalidParameterException" and "nexttoken" in str(refused.value).lower()


def test_a_token_of_another_operation_is_refused(registry):
    add_repositories(registry, ["app", "web", "db"])
    ecr = registry.client()
    token = ecr.describe_repositories(maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as refused:
        ecr.list_images(repositoryName="app", nextToken=token)
    assert code(refused) == "InvalidParameterException"


def test_max_results_outside_the_models_range_is_refused(registry):
    add_repositories(registry, ["app"])
    limit = botocore.session.get_session().get_service_model("ecr").shape_for("MaxResults").metadata["max"]
    with pytest.raises(ClientError):
        registry.client().describe_repositories(maxResults=limit + 1)


def test_names_or_image_ids_do_not_page(registry):
    """The model: maxResults and nextToken "cannot be used" with repositoryNames (imageIds for DescribeImages)."""
    add_repositories(registry, ["app"])
    ecr = registry.client()
    ecr.put_image(repositoryName="app", imageManifest=manifest(0), imageTag="v0")
    assert len(ecr.describe_repositories(repositoryNames=["app"])["repositories"]) == 1
    with pytest.raises(ClientError) as refused:
        ecr.describe_repositories(repositoryNames=["app"], maxResults=5)
    assert code(refused) == "InvalidParameterException"
    with pytest.raises(ClientError) as refused:
        ecr.describe_images(repositoryName="app", imageIds=[{"imageTag": "v0"}], maxResults=5)
    assert code(refused) == "InvalidParameterException"


def test_images_page_by_image_and_by_tag(registry):
    add_repositories(registry, ["app"])
    ecr = registry.client()
    for n in range(7):
        ecr.put_image(repositoryName="app", imageManifest=manifest(n), imageTag=f"v{n}")
    ecr.put_image(repositoryName="app", imageManifest=manifest(0), imageTag="stable")  # a second tag on v0
    ecr.put_image(repositoryName="app", imageManifest=manifest(3), imageTag="v3-again")
    ecr.put_image(repositoryName="app", imageManifest=manifest(3), imageTag="v3-once-more")
    ecr.batch_delete_image(repositoryName="app", imageIds=[{"imageTag": "v3-again"}])  # v3 keeps two tags

    details = walk(ecr, "describe_images", 3, repositoryName="app")
    assert [len(p["imageDetails"]) for p in details] == [3, 3, 1]
    assert len({d["imageDigest"] for p in details for d in p["imageDetails"]}) == 7

    ids = walk(ecr, "list_images", 4, repositoryName="app")
    assert [len(p["imageIds"]) for p in ids] == [4, 4, 1]
    tags = [i["imageTag"] for p in ids for i in p["imageIds"]]
    assert sorted(tags) == sorted([f"v{n}" for n in range(7)] + ["stable", "v3-once-more"])


def test_list_images_filters_before_paging(registry):
    add_repositories(registry, ["app"])
    ecr = registry.client()
    for n in range(4):
        ecr.put_image(repositoryName="app", imageManifest=manifest(n), imageTag="latest")  # each untags the last
    untagged = ecr.list_images(repositoryName="app", filter={"tagStatus": "UNTAGGED"}, maxResults=2)
    assert len(untagged["imageIds"]) == 2 and all("imageTag" not in i for i in untagged["imageIds"])
    rest = ecr.list_images(repositoryName="app", filter={"tagStatus": "UNTAGGED"}, nextToken=untagged["nextToken"])
    assert len(rest["imageIds"]) == 1 and "nextToken" not in rest
    tagged = ecr.describe_images(repositoryName="app", filter={"tagStatus": "TAGGED"})["imageDetails"]
    assert [d["imageTags"] for d in tagged] == [["latest"]]


def test_the_aws_cli_walks_the_pages(aws_env):
    """The real AWS CLI pages with its own paginator (--page-size) and gets every repository once."""
    ecr = ecrlab.connect(endpoint_url=aws_env).client()
    for i in range(7):
        ecr.create_repository(repositoryName=f"cli/r{i}")
    done = aws_cli("ecr", "describe-repositories", "--page-size", "2", "--query", "repositories[].repositoryName")
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)) == [f"cli/r{i}" for i in range(7)]


def test_archived_images_are_filtered_out_before_paging(registry):
    """ListImages and DescribeImages show ACTIVE images by default (model): a page still holds maxResults of them."""
    add_repositories(registry, ["app"])
    ecr = registry.client()
    for n in range(6):
        ecr.put_image(repositoryName="app", imageManifest=manifest(n), imageTag=f"v{n}")
    for n in (0, 2, 4):
        ecr.update_image_storage_class(
            repositoryName="app", imageId={"imageTag": f"v{n}"}, targetStorageClass="ARCHIVE"
        )
    first = ecr.list_images(repositoryName="app", maxResults=2)
    assert [i["imageTag"] for i in first["imageIds"]] == ["v1", "v3"]
    rest = ecr.list_images(repositoryName="app", maxResults=2, nextToken=first["nextToken"])
    assert [i["imageTag"] for i in rest["imageIds"]] == ["v5"] and "nextToken" not in rest
    archived = walk(ecr, "describe_images", 2, repositoryName="app", filter={"imageStatus": "ARCHIVED"})
    assert [d["imageTags"] for p in archived for d in p["imageDetails"]] == [["v0"], ["v2"], ["v4"]]


def test_list_pull_time_update_exclusions_pages_in_registration_order(registry):
    ecr = registry.client()
    arns = [f"arn:aws:iam::{registry.account_id}:role/scanner-{i}" for i in range(5)]
    for arn in arns:
        ecr.register_pull_time_update_exclusion(principalArn=arn)
    first = ecr.list_pull_time_update_exclusions(maxResults=2)
    ecr.deregister_pull_time_update_exclusion(principalArn=arns[0])  # already listed: nothing shifts
    pages = [first]
    while "nextToken" in pages[-1]:
        pages.append(ecr.list_pull_time_update_exclusions(maxResults=2, nextToken=pages[-1]["nextToken"]))
    assert [arn for p in pages for arn in p["pullTimeUpdateExclusions"]] == arns
