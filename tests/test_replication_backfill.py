"""Replication backfill: PREPARING → IN_PROGRESS → COMPLETE, limits, stopping, per-image results."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from ecrlab import images, replication
from tests.replication_helpers import ACCOUNT, IMAGES, OTHER, configure, put, rule, statuses, tags_in

EU = {"region": "eu-west-1", "registryId": ACCOUNT}


def results(registry, backfill_id: str, **options) -> dict:
    answer = registry.client().describe_replication_backfill_results(replicationBackfillId=backfill_id, **options)
    answer.pop("ResponseMetadata")
    return answer


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


@pytest.fixture
def before(registry):
    """Two repositories with images pushed before replication was configured to eu-west-1."""
    for name in ("app", "web"):
        registry.client().create_repository(repositoryName=name)
    pushed = {"app": put(registry, "app", "v1", 1), "web": put(registry, "web", "v1", 2)}
    put(registry, "app", "latest", 1)  # a second tag on the same image: a second replication
    configure(registry, rule("eu-west-1"))
    return pushed


def test_a_backfill_replicates_what_was_there_and_reports_per_image(registry, before):
    started = registry.client().start_replication_backfill(destination=EU)
    assert (started["status"], started["destination"], started["registryId"]) == ("PREPARING", EU, ACCOUNT)
    preparing = results(registry, started["replicationBackfillId"])
    assert preparing["status"] == "PREPARING" and "progress" not in preparing and preparing["results"] == []
    registry.emulator.settle()
    done = results(registry, started["replicationBackfillId"])
    assert done["status"] == "COMPLETE" and done["endedAt"] == done["startedAt"]  # the clock is frozen
    assert done["progress"] == {
        "totalReplicationCount": 3,
        "completedReplicationCount": 3,
        "failedReplicationCount": 0,
        "failureCodes": [],
    }
    assert [(r["repositoryName"], r["imageId"].get("imageTag"), r["status"]) for r in done["results"]] == [
        ("app", "v1", "COMPLETE"),
        ("app", "latest", "COMPLETE"),
        ("web", "v1", "COMPLETE"),
    ]
    frame = replication.backfill_results(registry, started["replicationBackfillId"])
    assert list(frame.columns) == replication.BACKFILL_COLUMNS
    assert frame[["repository", "tag", "status", "failure_code"]].values.tolist() == [
        ["app", "v1", "COMPLETE", ""],
        ["app", "latest", "COMPLETE", ""],
        ["web", "v1", "COMPLETE", ""],
    ]
    eu = registry.in_region("eu-west-1")
    assert tags_in(eu, "app") == {before["app"]: ["latest", "v1"]}
    assert statuses(registry, "web", before["web"]) == [(f"{ACCOUNT}/eu-west-1", "COMPLETE", "")]
    listed = registry.client().list_replication_backfills()["backfills"]
    assert [b["replicationBackfillId"] for b in listed] == [started["replicationBackfillId"]]


def test_a_backfill_moves_through_its_statuses_on_the_emulator_clock(registry, before):
    backfill_id = registry.client().start_replication_backfill(destination=EU)["replicationBackfillId"]
    registry.emulator.advance(seconds=10)
    running = results(registry, backfill_id)
    assert running["status"] == "IN_PROGRESS" and running["results"] == []
    assert running["progress"]["totalReplicationCount"] == 3 and running["progress"]["completedReplicationCount"] == 0
    registry.emulator.advance(seconds=10)
    assert results(registry, backfill_id)["status"] == "COMPLETE"


def test_the_destination_must_be_configured(registry, before):
    with pytest.raises(ClientError) as refused:
        registry.client().start_replication_backfill(destination={"region": "ap-south-1", "registryId": ACCOUNT})
    assert code(refused) == "InvalidParameterException"


def test_one_backfill_per_destination_region_and_ten_at_a_time(registry, before):
    regions = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1"]
    regions += ["ap-southeast-1", "ap-southeast-2", "sa-east-1", "ca-central-1"]
    configure(registry, rule(*regions), rule(f"{OTHER}/eu-west-1"))
    ecr = registry.client()
    ecr.start_replication_backfill(destination=EU)
    with pytest.raises(ClientError) as busy:
        ecr.start_replication_backfill(destination={"region": "eu-west-1", "registryId": OTHER})
    assert code(busy) == "ReplicationBackfillInProgressException"
    for region in regions[1:10]:
        ecr.start_replication_backfill(destination={"region": region, "registryId": ACCOUNT})
    with pytest.raises(ClientError) as limit:
        ecr.start_replication_backfill(destination={"region": regions[10], "registryId": ACCOUNT})
    assert code(limit) == "LimitExceededException"
    registry.emulator.settle()
    ecr.start_replication_backfill(destination=EU)  # finished ones no longer count
    assert len(ecr.list_replication_backfills(maxResults=50)["backfills"]) == 11
    page = ecr.list_replication_backfills(maxResults=4)
    assert len(page["backfills"]) == 4 and "nextToken" in page


def test_stopping_a_backfill_and_stopping_a_finished_one(registry, before):
    ecr = registry.client()
    backfill_id = ecr.start_replication_backfill(destination=EU)["replicationBackfillId"]
    stopped = ecr.stop_replication_backfill(replicationBackfillId=backfill_id)
    assert stopped["status"] == "STOPPED"
    registry.emulator.settle()
    answer = results(registry, backfill_id)
    assert answer["status"] == "STOPPED" and "progress" not in answer and answer["results"] == []
    assert tags_in(registry.in_region("eu-west-1"), "app") == {}
    with pytest.raises(ClientError) as finished:
        ecr.stop_replication_backfill(replicationBackfillId=backfill_id)
    assert code(finished) == "ReplicationBackfillInvalidStatusException"
    running = ecr.start_replication_backfill(destination=EU)["replicationBackfillId"]
    registry.emulator.advance(seconds=10)  # prepared: three replications queued
    ecr.stop_replication_backfill(replicationBackfillId=running)
    registry.emulator.settle()
    assert results(registry, running)["progress"]["completedReplicationCount"] == 0


def test_failed_replications_are_counted_and_the_backfill_still_completes(registry, before):
    configure(registry, rule(f"{OTHER}/us-west-2"))  # no registry policy there: every copy is refused
    backfill_id = registry.client().start_replication_backfill(
        destination={"region": "us-west-2", "registryId": OTHER}
    )["replicationBackfillId"]
    registry.emulator.settle()
    answer = results(registry, backfill_id)
    assert answer["status"] == "COMPLETE"
    assert answer["progress"]["failedReplicationCount"] == 3
    assert answer["progress"]["failureCodes"] == ["ReplicateImageAccessDenied"]
    assert results(registry, backfill_id, resultStatusFilter="COMPLETE")["results"] == []
    first = results(registry, backfill_id, maxResults=1)
    assert len(first["results"]) == 1 and first["nextToken"]
    rest = results(registry, backfill_id, maxResults=5, nextToken=first["nextToken"])
    assert len(rest["results"]) == 2 and "nextToken" not in rest


def test_a_backfill_whose_destination_left_the_configuration_fails(registry, before):
    backfill_id = registry.client().start_replication_backfill(destination=EU)["replicationBackfillId"]
    configure(registry, rule("ap-south-1"))
    registry.emulator.settle()
    answer = results(registry, backfill_id)
    assert (answer["status"], answer["failureCode"]) == ("FAILED", "DestinationNotConfigured")


def test_an_index_counts_as_one_replication_and_brings_its_images(registry):
    registry.client().create_repository(repositoryName="alpine")
    images.push(registry, IMAGES / "alpine-multiarch", "alpine", "3.19")
    configure(registry, rule("eu-west-1"))
    backfill_id = registry.client().start_replication_backfill(destination=EU)["replicationBackfillId"]
    registry.emulator.settle()
    answer = results(registry, backfill_id)
    assert answer["progress"]["totalReplicationCount"] == 1
    assert answer["results"][0]["subImageFailureCodes"] == []
    assert len(tags_in(registry.in_region("eu-west-1"), "alpine")) == 3


def test_an_unknown_backfill_is_not_found(registry):
    with pytest.raises(ClientError) as missing:
        registry.client().describe_replication_backfill_results(
            replicationBackfillId="00000000-0000-4000-8000-000000000000"
        )
    assert code(missing) == "ReplicationBackfillNotFoundException"
