"""Shared by several test modules (moved from test_scanning_emulator.py so no test module imports another)."""

from __future__ import annotations

from botocore.config import Config

from ecrlab import images
from tests.conftest import ROOT

IMAGES = ROOT / "data" / "images"


def ecr(registry):
    """A client that does not retry: LimitExceededException is throttling to boto3, retried for ~45 s."""
    session = registry.session
    return session.client("ecr", region_name=registry.region, endpoint_url=registry.endpoint_url,
                          config=Config(retries={"max_attempts": 1}))  # fmt: skip


def scan_on_push(registry, *filters: str, scan_type: str = "BASIC", continuous: tuple[str, ...] = ()) -> None:
    rules = []
    if filters:
        rules.append({"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [wildcard(f) for f in filters]})
    if continuous:
        rules.append({"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [wildcard(f) for f in continuous]})
    registry.client().put_registry_scanning_configuration(scanType=scan_type, rules=rules)
    registry.emulator.settle()  # ENHANCED's initial scans finish, as if their time had come


def wildcard(value: str) -> dict[str, str]:
    return {"filter": value, "filterType": "WILDCARD"}


def push(registry, layout: str, repository: str, **options) -> str:
    if repository not in {r["repositoryName"] for r in registry.client().describe_repositories()["repositories"]}:
        registry.client().create_repository(repositoryName=repository, **options)
    digest = images.push(registry, IMAGES / layout, repository)
    registry.emulator.settle()  # a scan on push finishes, as after `aws ecr wait image-scan-complete`
    return digest
