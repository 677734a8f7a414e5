"""Managed signing and referrers in the emulator, against the API reference, the user guide and OCI 1.1.

Expectations come from: the model (limits, enums, output shapes), the user guide's "Managed signing" (rules with
repository filters, one signature per matching profile, signatures not signed, deletion keeps signatures) and "Sign
images" (referrers of a deleted subject cleaned within 24 hours), and the OCI distribution spec 1.1 (referrers API).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ecrlab import principals
from tests.model_shape import assert_fits_model, output_problems, recording
from tests.oci import V2, digest_of, errors

ACCOUNT = "123456789012"
PROFILE = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/release"
OTHER_PROFILE = f"arn:aws:signer:us-east-1:{ACCOUNT}:/signing-profiles/audit"
NOTARY = "application/vnd.cncf.notary.signature"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
VALIDATION = "ValidationException"


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def rule(profile: str = PROFILE, *filters: str) -> dict:
    found: dict = {"signingProfileArn": profile}
    if filters:
        found["repositoryFilters"] = [{"filter": f, "filterType": "WILDCARD_MATCH"} for f in filters]
    return found


def put(registry, repository: str, tag: str | None, n: int = 0, **extra) -> str:
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "annotations": {"n": str(n)}})
    params = {"imageTag": tag} if tag else {}
    return registry.client().put_image(repositoryName=repository, imageManifest=manifest, **params, **extra)["image"][
        "imageId"
    ]["imageDigest"]


def statuses(registry, repository: str, **image_id) -> list[tuple[str, str]]:
    answer = registry.client().describe_image_signing_status(repositoryName=repository, imageId=image_id)
    return [(s["signingProfileArn"].rsplit("/", 1)[-1], s["status"]) for s in answer["signingStatuses"]]


def referrers(registry, repository: str, digest: str, **options) -> list[dict]:
    return registry.client().list_image_referrers(
        repositoryName=repository, subjectId={"imageDigest": digest}, **options
    )["referrers"]


@pytest.fixture
def wire(registry):
    yield from recording(registry)


@pytest.fixture
def repos(registry):
    for name in ("team/app", "team/web", "tools/ci"):
        registry.client().create_repository(repositoryName=name)
    return registry


# --- the signing configuration ------------------------------------------------------------------------------


def test_configuration_round_trip_and_not_found(registry, wire):
    ecr = registry.client()
    with pytest.raises(ClientError) as missing:
        ecr.get_signing_configuration()
    assert code(missing) == "SigningConfigurationNotFoundException"
    config = {"rules": [rule(PROFILE, "team/*"), rule(OTHER_PROFILE)]}
    assert ecr.put_signing_configuration(signingConfiguration=config)["signingConfiguration"] == config
    assert_fits_model(wire)
    got = ecr.get_signing_configuration()
    assert (got["registryId"], got["signingConfiguration"]) == (ACCOUNT, config)
    assert_fits_model(wire)
    deleted = ecr.delete_signing_configuration()
    assert (deleted["registryId"], deleted["signingConfiguration"]) == (ACCOUNT, config)
    assert_fits_model(wire)
    with pytest.raises(ClientError) as again:
        ecr.delete_signing_configuration()
    assert code(again) == "SigningConfigurationNotFoundException"


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"rules": [rule(f"{PROFILE}{i}") for i in range(11)]}, "ValidationException"),  # model: max 10 rules
        ({"rules": [rule("arn:aws:iam::123456789012:role/signer")]}, "ValidationException"),  # not a profile ARN
        ({"rules": [rule(PROFILE, "Team/App")]}, "ValidationException"),  # filter pattern: lowercase
        (
            {"rules": [{**rule(PROFILE), "repositoryFilters": [{"filter": "x*", "filterType": "PREFIX"}]}]},
            "ValidationException",
        ),
        ({"rules": [rule(PROFILE.replace("us-east-1", "eu-west-1"))]}, "InvalidParameterException"),  # cross-region
    ],
    ids=["11-rules", "not-signer", "filter-pattern", "filter-type", "other-region"],
)
def test_put_refuses_what_the_model_and_guide_refuse(registry, config, error):
    with pytest.raises(ClientError) as refused:
        registry.client().put_signing_configuration(signingConfiguration=config)
    # botocore leaves enums and patterns to the server: they are the server's ValidationException.
    assert code(refused) == error


def test_ten_rules_and_an_empty_rule_list_are_accepted(registry):
    ecr = registry.client()
    ten = {"rules": [rule(f"{PROFILE}{i}") for i in range(10)]}
    assert ecr.put_signing_configuration(signingConfiguration=ten)["signingConfiguration"] == ten
    assert ecr.put_signing_configuration(signingConfiguration={"rules": []})["signingConfiguration"] == {"rules": []}


# --- signing on push ----------------------------------------------------------------------------------------


def test_a_push_to_a_matching_repository_is_signed_once_per_matching_profile(repos, wire):
    ecr = repos.client()
    config = {"rules": [rule(PROFILE, "team/*"), rule(OTHER_PROFILE, "*app"), rule(PROFILE, "tools/*")]}
    ecr.put_signing_configuration(signingConfiguration=config)
    app = put(repos, "team/app", "v1", 1)
    web = put(repos, "team/web", "v1", 2)
    assert statuses(repos, "team/app", imageTag="v1") == [("release", "IN_PROGRESS"), ("audit", "IN_PROGRESS")]
    body = assert_fits_model(wire)
    assert body["imageId"] == {"imageDigest": app, "imageTag": "v1"} and body["repositoryName"] == "team/app"
    assert statuses(repos, "team/web", imageDigest=web) == [("release", "IN_PROGRESS")]
    assert referrers(repos, "team/app", app) == []  # nothing is pushed until signing completes
    repos.emulator.settle()
    assert statuses(repos, "team/app", imageDigest=app) == [("release", "COMPLETE"), ("audit", "COMPLETE")]
    signatures = referrers(repos, "team/app", app)
    assert_fits_model(wire)
    assert [(s["artifactType"], s["mediaType"], s["artifactStatus"]) for s in signatures] == [
        (NOTARY, OCI_MANIFEST, "ACTIVE"),
        (NOTARY, OCI_MANIFEST, "ACTIVE"),
    ]
    # Each signature is an image of the same repository whose subject is the signed image.
    details = ecr.describe_images(
        repositoryName="team/app", imageIds=[{"imageDigest": s["digest"]} for s in signatures]
    )
    assert {d["subjectManifestDigest"] for d in details["imageDetails"]} == {app}
    assert_fits_model(wire)
    for signature in signatures:
        image = ecr.batch_get_image(repositoryName="team/app", imageIds=[{"imageDigest": signature["digest"]}])
        manifest = json.loads(image["images"][0]["imageManifest"])
        assert manifest["subject"]["digest"] == app and manifest["artifactType"] == NOTARY
        assert signature["size"] == len(image["images"][0]["imageManifest"].encode())
        assert digest_of(image["images"][0]["imageManifest"].encode()) == signature["digest"]


def test_unmatched_repositories_and_signatures_themselves_are_not_signed(repos):
    ecr = repos.client()
    ecr.put_signing_configuration(signingConfiguration={"rules": [rule(PROFILE, "team/*")]})
    ci = put(repos, "tools/ci", "v1")
    assert statuses(repos, "tools/ci", imageDigest=ci) == []
    app = put(repos, "team/app", "v1")
    repos.emulator.settle()
    signature = referrers(repos, "team/app", app)[0]["digest"]
    repos.emulator.settle()
    assert statuses(repos, "team/app", imageDigest=signature) == []  # "Signatures cannot be signed"
    assert referrers(repos, "team/app", signature) == []


def test_a_rule_without_filters_signs_every_repository(repos):
    repos.client().put_signing_configuration(signingConfiguration={"rules": [rule(PROFILE)]})
    ci = put(repos, "tools/ci", "v1")
    repos.emulator.settle()
    assert statuses(repos, "tools/ci", imageDigest=ci) == [("release", "COMPLETE")]


def test_deleting_the_configuration_keeps_signatures_and_stops_signing(repos):
    ecr = repos.client()
    ecr.put_signing_configuration(signingConfiguration={"rules": [rule(PROFILE)]})
    signed = put(repos, "team/app", "v1", 1)
    repos.emulator.settle()
    ecr.delete_signing_configuration()
    later = put(repos, "team/app", "v2", 2)
    repos.emulator.settle()
    assert len(referrers(repos, "team/app", signed)) == 1
    assert referrers(repos, "team/app", later) == [] and statuses(repos, "team/app", imageDigest=later) == []


def test_the_pusher_signs_and_needs_sign_payload_on_the_profile(repos, wire):
    """The guide: images are signed with the pusher's identity, which needs signer:SignPayload on the profile."""
    repos.client().put_signing_configuration(signingConfiguration={"rules": [rule(PROFILE)]})
    builder = principals.act_as_role(repos, "builder")  # ecr:* only
    signer = principals.act_as_role(repos, "signer", ("ecr:*", "signer:SignPayload"))
    unsigned = put(builder, "team/app", "v1", 1)
    signed = put(signer, "team/app", "v2", 2)
    repos.emulator.settle()
    answer = repos.client().describe_image_signing_status(repositoryName="team/app", imageId={"imageDigest": unsigned})
    [failed] = answer["signingStatuses"]
    assert (failed["status"], failed["failureCode"]) == ("FAILED", "AccessDenied")
    assert "signer:SignPayload" in failed["failureReason"]
    assert_fits_model(wire)
    assert referrers(repos, "team/app", unsigned) == []
    assert statuses(repos, "team/app", imageDigest=signed) == [("release", "COMPLETE")]
    [signature] = referrers(repos, "team/app", signed)
    manifest = json.loads(
        repos.client().batch_get_image(repositoryName="team/app", imageIds=[{"imageDigest": signature["digest"]}])[
            "images"
        ][0]["imageManifest"]
    )
    envelope = json.loads(V2(repos)("GET", f"/v2/team/app/blobs/{manifest['layers'][0]['digest']}").data)
    assert ":assumed-role/signer/" in envelope["signedBy"] and envelope["subject"]["digest"] == signed


def test_a_v2_push_is_signed_as_its_pusher(repos):
    repos.client().put_signing_configuration(signingConfiguration={"rules": [rule(PROFILE)]})
    builder = principals.act_as_role(repos, "builder")  # ecr:* only: may push, may not sign
    _, digest = V2(builder).push("team/app", "v1", [b"layer"])
    repos.emulator.settle()
    assert statuses(repos, "team/app", imageDigest=digest) == [("release", "FAILED")]


def test_signing_status_errors(repos):
    ecr = repos.client()
    with pytest.raises(ClientError) as no_image:
        ecr.describe_image_signing_status(repositoryName="team/app", imageId={"imageTag": "nope"})
    assert code(no_image) == "ImageNotFoundException"
    with pytest.raises(ClientError) as no_repository:
        ecr.describe_image_signing_status(repositoryName="absent", imageId={"imageTag": "v1"})
    assert code(no_repository) == "RepositoryNotFoundException"


# --- referrers ----------------------------------------------------------------------------------------------


def sbom(v2: V2, repository: str, subject: bytes, kind: str = "application/spdx+json") -> tuple[str, object]:
    """Push an artifact referring to `subject` over /v2/ (as oras attach does); returns its digest and response."""
    blob = b'{"spdxVersion": "SPDX-2.3"}'
    empty = b"{}"
    for data in (blob, empty):
        v2.upload(repository, data)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": kind,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest_of(empty), "size": 2},
            "layers": [{"mediaType": kind, "digest": digest_of(blob), "size": len(blob)}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": digest_of(subject), "size": len(subject)},
            "annotations": {"org.example.kind": "sbom"},
        }
    ).encode()
    response = v2.put_manifest(repository, digest_of(manifest), manifest)
    return digest_of(manifest), response


def test_referrers_pushed_over_v2_are_listed_by_both_apis(repos, wire):
    v2 = V2(repos)
    subject, subject_digest = v2.push("team/app", "v1", [b"layer"])
    digest, response = sbom(v2, "team/app", subject)
    assert response.status == 201 and response.headers["OCI-Subject"] == subject_digest
    listed = v2("GET", f"/v2/team/app/referrers/{subject_digest}")
    assert listed.status == 200 and listed.headers["Content-Type"] == "application/vnd.oci.image.index.v1+json"
    index = json.loads(listed.data)
    assert index["schemaVersion"] == 2 and index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [(m["digest"], m["artifactType"], m["annotations"]) for m in index["manifests"]] == [
        (digest, "application/spdx+json", {"org.example.kind": "sbom"})
    ]
    api = referrers(repos, "team/app", subject_digest)
    assert_fits_model(wire)
    assert [(r["digest"], r["artifactType"], r["annotations"]) for r in api] == [
        (digest, "application/spdx+json", {"org.example.kind": "sbom"})
    ]


def test_referrers_filter_by_artifact_type(repos):
    v2 = V2(repos)
    subject, subject_digest = v2.push("team/app", "v1", [b"layer"])
    spdx, _ = sbom(v2, "team/app", subject)
    cyclone, _ = sbom(v2, "team/app", subject, "application/vnd.cyclonedx+json")
    filtered = v2("GET", f"/v2/team/app/referrers/{subject_digest}?artifactType=application/vnd.cyclonedx%2Bjson")
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["digest"] for m in json.loads(filtered.data)["manifests"]] == [cyclone]
    unfiltered = v2("GET", f"/v2/team/app/referrers/{subject_digest}")
    assert "OCI-Filters-Applied" not in unfiltered.headers
    assert [m["digest"] for m in json.loads(unfiltered.data)["manifests"]] == [spdx, cyclone]
    only = referrers(repos, "team/app", subject_digest, filter={"artifactTypes": ["application/spdx+json"]})
    assert [r["digest"] for r in only] == [spdx]


def test_referrers_api_errors_and_empty_answers(repos):
    v2 = V2(repos)
    unknown = "sha256:" + "0" * 64
    empty = v2("GET", f"/v2/team/app/referrers/{unknown}")
    assert empty.status == 200 and json.loads(empty.data)["manifests"] == []  # the spec: an empty index, not 404
    assert errors(v2("GET", "/v2/team/app/referrers/latest")) == ["DIGEST_INVALID"]
    assert errors(v2("GET", f"/v2/absent/referrers/{unknown}")) == ["NAME_UNKNOWN"]
    assert v2("DELETE", f"/v2/team/app/referrers/{unknown}").status == 405
    with pytest.raises(ClientError) as no_repository:
        referrers(repos, "absent", unknown)
    assert code(no_repository) == "RepositoryNotFoundException"
    with pytest.raises(ClientError) as six_types:
        referrers(repos, "team/app", unknown, filter={"artifactTypes": [f"t/{i}" for i in range(6)]})
    assert code(six_types) == "ValidationException"  # model: at most 5 artifact types


def test_list_image_referrers_pages(repos):
    v2 = V2(repos)
    subject, subject_digest = v2.push("team/app", "v1", [b"layer"])
    kinds = [f"application/vnd.example.{n}+json" for n in ("a", "b", "c")]
    pushed = [sbom(v2, "team/app", subject, kind)[0] for kind in kinds]
    ecr = repos.client()
    first = ecr.list_image_referrers(repositoryName="team/app", subjectId={"imageDigest": subject_digest}, maxResults=2)
    second = ecr.list_image_referrers(
        repositoryName="team/app", subjectId={"imageDigest": subject_digest}, nextToken=first["nextToken"]
    )
    assert [r["digest"] for r in first["referrers"] + second["referrers"]] == pushed
    assert "nextToken" not in second


def test_referrers_of_a_deleted_subject_are_removed_within_24_hours(repos):
    ecr = repos.client()
    ecr.put_signing_configuration(signingConfiguration={"rules": [rule(PROFILE)]})
    app = put(repos, "team/app", "v1")
    repos.emulator.settle()
    signature = referrers(repos, "team/app", app)[0]["digest"]
    ecr.batch_delete_image(repositoryName="team/app", imageIds=[{"imageDigest": app}])
    remaining = [d["imageDigest"] for d in ecr.describe_images(repositoryName="team/app")["imageDetails"]]
    assert remaining == [signature]  # still there right after the delete
    repos.emulator.advance(hours=23)
    assert len(ecr.describe_images(repositoryName="team/app")["imageDetails"]) == 1
    repos.emulator.advance(hours=1)  # due now: the next request carries out the clean-up first
    assert ecr.describe_images(repositoryName="team/app")["imageDetails"] == []


def test_checker_reports_members_the_model_lacks():
    # The shape check must be able to fail: an unknown member and a value outside the enum are both reported.
    body = {"signingStatuses": [{"status": "DONE", "colour": "green"}]}
    problems = output_problems("DescribeImageSigningStatus", body)
    assert any("colour" in p for p in problems) and any("DONE" in p for p in problems)
