"""Backfill for a real account: which existing images go where, start one backfill per destination, follow them.

A replication configuration only copies what is pushed after it (docs/fidelity.md, "Replication"); a backfill
(`StartReplicationBackfill`, one per destination, at most one per destination region at a time and ten per
registry, botocore model) copies the rest. `plan` lists the images a backfill would replicate, `start` starts the
backfills behind the account guard (nothing is started in a dry run), and `follow` reads their status until each
ends or `timeout` seconds pass. boto3 only: the same code runs against AWS and the emulator.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from ecrlab.plan import check_account
from ecrlab.replication import Destination, ReplicationSpec, read
from ecrlab.replication_rules import routes

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

PLAN_COLUMNS = ["destination", "repository", "tag", "digest", "status"]
STARTED_COLUMNS = ["destination", "backfill_id", "status"]
FOLLOW_COLUMNS = ["destination", "backfill_id", "status", "total", "completed", "failed", "failure_codes"]
TERMINAL = ("COMPLETE", "FAILED", "STOPPED")
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json")


def _repositories(registry: Registry) -> list[str]:
    pages = registry.client().get_paginator("describe_repositories").paginate()
    return sorted(r["repositoryName"] for page in pages for r in page["repositories"])


def _images(registry: Registry, repository: str) -> list[dict[str, Any]]:
    """The repository's images, without the ones an index lists: those travel with their index."""
    ecr = registry.client()
    pages = ecr.get_paginator("describe_images").paginate(repositoryName=repository)
    found = [d for page in pages for d in page["imageDetails"]]
    indexes = [d["imageDigest"] for d in found if d.get("imageManifestMediaType") in INDEX_TYPES]
    listed: set[str] = set()
    if indexes:
        answer = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageDigest": d} for d in indexes])
        for image in answer["images"]:
            listed |= {m["digest"] for m in json.loads(image["imageManifest"]).get("manifests", [])}
    return sorted(
        (d for d in found if d["imageDigest"] not in listed),
        key=lambda d: (sorted(d.get("imageTags", [])), d["imageDigest"]),
    )


def _statuses(registry: Registry, repository: str, digest: str) -> dict[str, str]:
    """The image's replication status at each destination it has one for, by destination label."""
    answer = registry.client().describe_image_replication_status(
        repositoryName=repository, imageId={"imageDigest": digest}
    )
    found = {}
    for status in answer["replicationStatuses"]:
        code = status.get("failureCode")
        label = Destination(status["registryId"], status["region"]).label()
        found[label] = f"{status['status']} ({code})" if code else status["status"]
    return found


def plan(registry: Registry, spec: ReplicationSpec | None = None) -> pd.DataFrame:
    """Every replication a backfill to each destination of `spec` (default: the live configuration) would make.

    One row per destination, image and tag (an untagged image is one row with tag ""), as a backfill counts them.
    Columns (`PLAN_COLUMNS`): destination (its label), repository, tag, digest, status (the image's replication
    status there now: "" never replicated, COMPLETE, IN_PROGRESS or `FAILED (<code>)`).
    """
    import pandas as pd

    spec = read(registry) if spec is None else spec
    rules = spec.to_api()["rules"]
    rows = []
    for repository in _repositories(registry):
        targets = [Destination(registry_id, region) for registry_id, region in routes(rules, repository)]
        if not targets:
            continue
        for image in _images(registry, repository):
            digest = image["imageDigest"]
            statuses = _statuses(registry, repository, digest)
            for destination in targets:
                for tag in sorted(image.get("imageTags", [])) or [""]:
                    rows.append([destination.label(), repository, tag, digest, statuses.get(destination.label(), "")])
    frame = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    return frame.sort_values(["destination", "repository", "tag", "digest"], kind="stable").reset_index(drop=True)


def start(
    registry: Registry, destinations: list[Destination], *, dry_run: bool, expected_account_id: str | None = None
) -> pd.DataFrame:
    """Start one backfill per destination behind the account guard; in a dry run start nothing.

    Columns (`STARTED_COLUMNS`): destination, backfill_id ("" in a dry run), status (PREPARING as AWS answers a
    start, or "dry run: not started").
    """
    import pandas as pd

    check_account(registry, expected_account_id, writing=not dry_run)
    rows = []
    for destination in destinations:
        if dry_run:
            rows.append([destination.label(), "", "dry run: not started"])
            continue
        answer = registry.client().start_replication_backfill(destination=destination.to_api())
        rows.append([destination.label(), answer["replicationBackfillId"], answer["status"]])
    return pd.DataFrame(rows, columns=STARTED_COLUMNS)


def follow(registry: Registry, started: pd.DataFrame, *, timeout: float = 600, poll: float = 1) -> pd.DataFrame:
    """Each started backfill's status and progress, read until every one has ended or `timeout` seconds passed.

    Polls back off from `poll` seconds to at most 30. Columns (`FOLLOW_COLUMNS`): destination, backfill_id,
    status, total / completed / failed replication counts (empty while PREPARING, when AWS reports no progress),
    failure_codes.
    """
    import pandas as pd

    ecr = registry.client()
    deadline = time.monotonic() + timeout
    wanted = [(row.destination, row.backfill_id) for row in started.itertuples() if row.backfill_id]
    while True:
        rows = []
        for label, backfill_id in wanted:
            answer = ecr.describe_replication_backfill_results(replicationBackfillId=backfill_id, maxResults=1)
            progress = answer.get("progress") or {}
            rows.append(
                [
                    label,
                    backfill_id,
                    answer["status"],
                    progress.get("totalReplicationCount", ""),
                    progress.get("completedReplicationCount", ""),
                    progress.get("failedReplicationCount", ""),
                    ", ".join(progress.get("failureCodes", [])),
                ]
            )
        if all(row[2] in TERMINAL for row in rows) or time.monotonic() >= deadline:
            return pd.DataFrame(rows, columns=FOLLOW_COLUMNS)
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        poll = min(poll * 2, 30)
