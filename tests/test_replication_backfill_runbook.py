"""The replication runbook backfills a real account: `ecrlab run replication --target aws -p backfill=true` against
`ecrlab emulator serve` plans which existing images go where, starts one backfill per destination only with apply,
and follows it until it ends. Backfill semantics come from botocore's model (StartReplicationBackfill,
DescribeReplicationBackfillResults): a configuration replicates only what is pushed after it; a backfill copies the
rest to one destination that is in the configuration."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import ecrlab
from ecrlab import images, replication_backfill
from ecrlab.registry import EmulatorControl
from ecrlab.replication import ReplicationSpec
from ecrlab.runs import run
from tests.conftest import ROOT

IMAGES = ROOT / "data" / "images"
ACCOUNT = "123456789012"


def _outputs(record: dict, cell_marker: str) -> str:
    """The text the executed notebook's cell containing `cell_marker` displayed."""
    notebook = json.loads((Path(record["location"]) / "notebook.ipynb").read_text())
    [cell] = [c for c in notebook["cells"] if cell_marker in "".join(c["source"])]
    return "".join(
        "".join(o.get("data", {}).get("text/plain", "")) + "".join(o.get("text", "")) for o in cell["outputs"]
    )


def _before(operator) -> dict[str, str]:
    """Images pushed before any replication configuration: two in shop/api, one outside the prefix."""
    ecr = operator.client()
    for name in ("shop/api", "tools/ci"):
        ecr.create_repository(repositoryName=name)
    return {
        "1.0": images.push(operator, IMAGES / "alpine-node", "shop/api", "1.0"),
        "1.1": images.push(operator, IMAGES / "alpine-node-fixed", "shop/api", "1.1"),
        "ci": images.push(operator, IMAGES / "scratch-binary", "tools/ci", "latest"),
    }


@pytest.mark.slow
def test_the_runbook_backfills_images_pushed_before_the_configuration(aws_env, tmp_path):
    operator = ecrlab.connect("aws", region="us-east-1")
    pushed = _before(operator)
    values = {"target": "aws", "destinations": ["eu-west-1"], "repository_prefixes": ["shop/"], "backfill": True}

    dry = run("replication", values, str(tmp_path))
    assert dry["outcome"] == "dry-run", dry.get("error")
    assert [row["backfill_id"] for row in dry["started"]["replication_backfills"]] == [""]  # nothing started
    planned = _outputs(dry, "replication_backfill.plan")
    assert "shop/api" in planned and "tools/ci" not in planned and "dry run: not started" in planned
    assert operator.client().list_replication_backfills()["backfills"] == []

    # The server's clock runs; settling meanwhile lets the runbook's follow see the end without waiting 10 s steps.
    control, stop = EmulatorControl(aws_env), threading.Event()
    settler = threading.Thread(target=lambda: [control.settle() for _ in iter(lambda: stop.wait(0.2), True)])
    settler.start()
    try:
        applied = run("replication", {**values, "apply": True, "expected_account_id": ACCOUNT}, str(tmp_path))
    finally:
        stop.set()
        settler.join()
    assert applied["outcome"] == "applied", applied.get("error")
    [recorded] = applied["started"]["replication_backfills"]  # what no rollback undoes is in the audit record
    assert recorded["destination"] == f"{ACCOUNT}/eu-west-1" and recorded["backfill_id"]
    followed = _outputs(applied, "replication_backfill.follow")
    assert f"{ACCOUNT}/eu-west-1" in followed and "COMPLETE" in followed
    [backfill] = operator.client().list_replication_backfills()["backfills"]
    assert backfill["status"] == "COMPLETE" and backfill["destination"] == {
        "region": "eu-west-1",
        "registryId": ACCOUNT,
    }

    eu = operator.in_region("eu-west-1").client()
    copied = {
        d["imageDigest"]: d.get("imageTags", []) for d in eu.describe_images(repositoryName="shop/api")["imageDetails"]
    }
    assert {pushed["1.0"], pushed["1.1"]} <= set(copied)
    assert copied[pushed["1.0"]] == ["1.0"] and copied[pushed["1.1"]] == ["1.1"]
    assert "tools/ci" not in {r["repositoryName"] for r in eu.describe_repositories()["repositories"]}


def test_plan_lists_each_image_and_tag_per_destination_with_its_status(registry):
    pushed = _before(registry)
    spec = ReplicationSpec.single_rule(ACCOUNT, ["eu-west-1", "444455556666/us-west-2"], ["shop/"], False)
    plan = replication_backfill.plan(registry, spec)
    assert plan[["destination", "repository", "tag", "digest", "status"]].values.tolist() == [
        ["123456789012/eu-west-1", "shop/api", "1.0", pushed["1.0"], ""],
        ["123456789012/eu-west-1", "shop/api", "1.1", pushed["1.1"], ""],
        ["444455556666/us-west-2", "shop/api", "1.0", pushed["1.0"], ""],
        ["444455556666/us-west-2", "shop/api", "1.1", pushed["1.1"], ""],
    ]
    started = replication_backfill.start(registry, spec.destinations(), dry_run=True)
    assert started["status"].tolist() == ["dry run: not started"] * 2 and started["backfill_id"].tolist() == ["", ""]
    assert registry.client().list_replication_backfills()["backfills"] == []


def test_start_and_follow_against_the_embedded_emulator(registry):
    pushed = _before(registry)
    spec = ReplicationSpec.single_rule(ACCOUNT, ["eu-west-1"], ["shop/"], False)
    registry.client().put_replication_configuration(replicationConfiguration=spec.to_api())
    started = replication_backfill.start(registry, spec.destinations(), dry_run=False)
    assert started["status"].tolist() == ["PREPARING"]  # StartReplicationBackfill's answer (botocore model)
    early = replication_backfill.follow(registry, started, timeout=0)
    assert early["status"].tolist() == ["PREPARING"] and early["total"].tolist() == [""]  # progress null then
    registry.emulator.settle()
    done = replication_backfill.follow(registry, started, timeout=0)
    assert done[["status", "total", "completed", "failed"]].values.tolist() == [["COMPLETE", 2, 2, 0]]
    plan = replication_backfill.plan(registry, spec)
    assert plan["status"].tolist() == ["COMPLETE", "COMPLETE"] and set(plan["digest"]) == {pushed["1.0"], pushed["1.1"]}
