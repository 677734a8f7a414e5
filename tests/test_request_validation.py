"""The emulator refuses, before any handler runs, what AWS refuses: botocore's model is the contract.

Wrong JSON types answer SerializationException (AWS's JSON protocol reads the body into the model's types
first); broken constraints answer one ValidationException in AWS's "N validation errors detected" wording,
with the limits taken from botocore's model; an unexpected failure answers JSON ServerException, never HTML.
"""

from __future__ import annotations

import json
import logging

import pytest
from moto.ecr.models import ECRBackend

from ecrlab import images
from ecrlab.ecr_model import ecr_model
from ecrlab.emulator.coverage import MISSING, coverage
from ecrlab.package_data import sample_images
from tests.oci import V2
from tests.raw_api import error_of, post

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []})


@pytest.fixture
def url(registry):
    return registry.emulator.endpoint_url


@pytest.mark.parametrize(
    "body",
    [b"[]", b'"text"', b"42", b"true", b"null", b"{not json", b"\xff\xfe\x00", b"[" * 100_000, b'{"a":' * 50_000],
)
def test_a_body_that_is_not_a_json_object_is_a_serialization_exception(url, body):
    status, code, _ = error_of(post(url, "DescribeRepositories", body))
    assert (status, code) == (400, "SerializationException")


def test_an_image_tag_sent_as_an_object_is_refused_and_the_tag_list_keeps_working(registry, url):
    registry.client().create_repository(repositoryName="team/app")
    body = {"repositoryName": "team/app", "imageManifest": MANIFEST, "imageTag": {"a": 1}}
    assert error_of(post(url, "PutImage", body)) == (
        400,
        "SerializationException",
        "Start of structure or map found where not expected.",
    )
    listing = V2(registry)("GET", "/v2/team/app/tags/list")
    assert listing.status == 200
    assert json.loads(listing.data)["tags"] in ([], None)


def test_force_must_be_a_boolean_so_a_repository_with_images_survives_force_no(registry, url):
    registry.client().create_repository(repositoryName="team/app")
    images.push(registry, sample_images() / "alpine-node", "team/app", "v1", progress=None)
    answer = error_of(post(url, "DeleteRepository", {"repositoryName": "team/app", "force": "no"}))
    assert answer == (400, "SerializationException", "STRING_VALUE can not be converted to a Boolean")
    assert registry.client().describe_images(repositoryName="team/app")["imageDetails"]


def test_a_null_member_reads_as_absent_so_create_on_push_keeps_working(registry, url):
    ecr = registry.client()
    ecr.create_repository_creation_template(
        prefix="prod",
        appliedFor=["CREATE_ON_PUSH"],
        resourceTags=[{"Key": "team", "Value": "api"}],
        customRoleArn="arn:aws:iam::123456789012:role/ecr-templates",  # tags at creation need a role
    )
    status, _, _ = post(url, "UpdateRepositoryCreationTemplate", {"prefix": "prod", "resourceTags": None})
    assert status == 200
    V2(registry).push("prod/api", "v1", [b"layer"])  # create-on-push applies the template
    repository = ecr.describe_repositories(repositoryNames=["prod/api"])["repositories"][0]
    tags = ecr.list_tags_for_resource(resourceArn=repository["repositoryArn"])["tags"]
    assert tags == [{"Key": "team", "Value": "api"}]


def test_a_registry_policy_longer_than_the_model_allows_is_refused(registry, url):
    limit = ecr_model().shape_for("RegistryPolicyText").metadata["max"]
    assert limit == 10240
    statement = {"Sid": "x" * 16966, "Effect": "Allow", "Principal": "*", "Action": "ecr:CreateRepository"}
    text = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    assert len(text) == 17090
    status, code, message = error_of(post(url, "PutRegistryPolicy", {"policyText": text}))
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("1 validation error detected: ")
    assert message.endswith(
        "at 'policyText' failed to satisfy constraint: Member must have length less than or equal to 10240"
    )
    assert error_of(post(url, "GetRegistryPolicy", {}))[1] == "RegistryPolicyNotFoundException"


def test_every_broken_rule_is_listed_in_one_validation_exception(url):
    body = {"repositoryName": "A", "imageTagMutability": "SOMETIMES"}
    status, code, message = error_of(post(url, "CreateRepository", body))
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("3 validation errors detected: ")
    assert "Value 'A' at 'repositoryName' failed to satisfy constraint: Member must have length greater" in message
    assert "Member must satisfy regular expression pattern" in message
    assert "Value 'SOMETIMES' at 'imageTagMutability' failed to satisfy constraint: Member must satisfy enum" in message


def test_a_missing_required_member_is_named(url):
    assert error_of(post(url, "DeleteRepository", {})) == (
        400,
        "ValidationException",
        "1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: "
        "Member must not be null",
    )


@pytest.mark.parametrize(
    ("operation", "body", "message"),
    [
        ("DescribeRepositories", {"maxResults": "10"}, "STRING_VALUE can not be converted to an Integer"),
        ("DescribeRepositories", {"maxResults": True}, "TRUE_VALUE can not be converted to an Integer"),
        ("DescribeRepositories", {"maxResults": 2**31}, "NUMBER_VALUE can not be converted to an Integer"),
        ("DescribeRepositories", {"repositoryNames": "team/app"}, "STRING_VALUE can not be converted to a List"),
        ("DescribeRepositories", {"repositoryNames": [7]}, "NUMBER_VALUE can not be converted to a String"),
        ("CreateRepository", {"repositoryName": ["a"]}, "Start of list found where not expected"),
        ("CreateRepository", {"repositoryName": "ab", "imageScanningConfiguration": 1}, None),
    ],
)
def test_a_member_of_the_wrong_json_type_is_a_serialization_exception(url, operation, body, message):
    status, code, said = error_of(post(url, operation, body))
    assert (status, code) == (400, "SerializationException")
    if message:
        assert said == message


def test_an_unknown_operation_and_an_operation_the_emulator_lacks_answer_json(url):
    assert error_of(post(url, "DescribeEverything", {}))[:2] == (400, "UnknownOperationException")
    missing = [row.operation for row in coverage() if row.status == MISSING]  # the fidelity table's own list
    if not missing:
        pytest.skip("the emulator answers every operation of the model")
    status, code, message = error_of(post(url, missing[0], {}))
    assert (status, code) == (400, "InvalidAction")
    assert missing[0] in message


def test_a_write_that_fails_unexpectedly_half_way_leaves_the_registry_as_it_was(registry, url, monkeypatch):
    ecr = registry.client()
    ecr.create_repository(repositoryName="team/kept")
    ecr.put_account_setting(name="BLOB_MOUNTING", value="ENABLED")  # ecrlab's own state, next to moto's
    before = ecr.describe_repositories()["repositories"]
    original = ECRBackend.create_repository

    def half_applied(self, *args, **kwargs):
        original(self, *args, **kwargs)  # the repository exists now ...
        raise RuntimeError("... and then the disk caught fire")

    monkeypatch.setattr(ECRBackend, "create_repository", half_applied)
    assert error_of(post(url, "CreateRepository", {"repositoryName": "team/new"}))[:2] == (500, "ServerException")
    monkeypatch.undo()
    assert ecr.describe_repositories()["repositories"] == before
    assert ecr.get_account_setting(name="BLOB_MOUNTING")["value"] == "ENABLED"
    ecr.create_repository(repositoryName="team/new")  # and the registry goes on working


def test_copies_of_images_are_not_kept_after_the_request(registry):
    """moto lists every instance of its models until a reset (for its dashboard); the copy of the registry taken
    before each write, and the copies a listing answers from, must not be listed, or every request kept the
    registry's images once more for good."""
    import gc

    from ecrlab.emulator.moto_compat import Image

    def images_alive() -> int:
        """Images of this test's repository alive in the process (other tests' images may be freed meanwhile, e.g.
        when a background job that held them runs)."""
        gc.collect()
        return sum(isinstance(o, Image) and o.repository_name == "leak-check" for o in gc.get_objects())

    ecr = registry.client()
    ecr.create_repository(repositoryName="leak-check")
    before = images_alive()
    for layout in ("scratch-binary", "distroless-static", "debian-app"):
        images.push(registry, sample_images() / layout, "leak-check")
    for mutability in ("IMMUTABLE", "MUTABLE") * 2:  # ECR API writes: each copies the registry first
        ecr.put_image_tag_mutability(repositoryName="leak-check", imageTagMutability=mutability)
        ecr.describe_images(repositoryName="leak-check")  # a listing answers from copies of the images too
    assert images_alive() - before == 3


def test_a_repository_write_that_fails_half_way_leaves_that_repository_and_the_others_as_they_were(
    registry, url, monkeypatch
):
    ecr = registry.client()
    for name in ("team/a", "team/b"):
        ecr.create_repository(repositoryName=name)
        ecr.put_image(repositoryName=name, imageManifest=MANIFEST, imageTag="v1")
    before = {n: ecr.describe_images(repositoryName=n)["imageDetails"] for n in ("team/a", "team/b")}
    original = ECRBackend.batch_delete_image

    def half_applied(self, *args, **kwargs):
        original(self, *args, **kwargs)  # the image is gone now ...
        raise RuntimeError("... and then the disk caught fire")

    monkeypatch.setattr(ECRBackend, "batch_delete_image", half_applied)
    answer = post(url, "BatchDeleteImage", {"repositoryName": "team/a", "imageIds": [{"imageTag": "v1"}]})
    assert error_of(answer)[:2] == (500, "ServerException")
    monkeypatch.undo()
    assert {n: ecr.describe_images(repositoryName=n)["imageDetails"] for n in ("team/a", "team/b")} == before


def test_a_create_that_fails_half_way_leaves_no_tags_and_keeps_every_other_repositorys(registry, url, monkeypatch):
    ecr = registry.client()
    kept = ecr.create_repository(repositoryName="team/kept", tags=[{"Key": "team", "Value": "a"}])["repository"]
    original = ECRBackend.create_repository

    def half_applied(self, *args, **kwargs):
        original(self, *args, **kwargs)  # the repository and its tags exist now ...
        raise RuntimeError("... and then the disk caught fire")

    monkeypatch.setattr(ECRBackend, "create_repository", half_applied)
    body = {"repositoryName": "team/new", "tags": [{"Key": "team", "Value": "b"}]}
    assert error_of(post(url, "CreateRepository", body))[:2] == (500, "ServerException")
    monkeypatch.undo()
    created = ecr.create_repository(repositoryName="team/new")["repository"]  # no leftover tags come back with it
    assert ecr.list_tags_for_resource(resourceArn=created["repositoryArn"])["tags"] == []
    assert ecr.list_tags_for_resource(resourceArn=kept["repositoryArn"])["tags"] == [{"Key": "team", "Value": "a"}]


def test_a_registry_write_that_fails_half_way_leaves_every_repository_as_it_was(registry, url, monkeypatch):
    """Turning ENHANCED on scans the images of every repository under a continuous rule before it answers; a
    failure after the first scan must leave no scan behind (the write copies every repository, not one)."""
    from ecrlab.emulator import scan_config

    ecr = registry.client()
    for name in ("team/a", "team/b"):
        ecr.create_repository(repositoryName=name)
        images.push(registry, sample_images() / "alpine-node", name, "v1")
    scans = []

    def scan_then_fail(*args, **kwargs):
        if scans:
            raise RuntimeError("disk on fire")
        scans.append(original(*args, **kwargs))

    original = scan_config.start_scan
    monkeypatch.setattr(scan_config, "start_scan", scan_then_fail)
    rules = [{"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]
    answer = post(url, "PutRegistryScanningConfiguration", {"scanType": "ENHANCED", "rules": rules})
    assert error_of(answer)[:2] == (500, "ServerException") and len(scans) == 1
    monkeypatch.undo()
    registry.emulator.settle()  # the scan started before the failure finds nothing to finish
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"]["scanType"] == "BASIC"
    for name in ("team/a", "team/b"):
        with pytest.raises(ecr.exceptions.ScanNotFoundException):
            ecr.describe_image_scan_findings(repositoryName=name, imageId={"imageTag": "v1"})


def test_an_unexpected_failure_answers_server_exception_json_and_logs_its_traceback(url, monkeypatch, caplog):
    def broken(self, *args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ECRBackend, "describe_registry", broken)
    with caplog.at_level(logging.ERROR):
        answer = post(url, "DescribeRegistry", {})
    assert error_of(answer)[:2] == (500, "ServerException")
    assert any(record.exc_info and "disk on fire" in str(record.exc_info[1]) for record in caplog.records)
