"""The shared-registry fixture's content: see ecrlab/shared_registry.py (in the package for `ecrlab iam-policy`)."""

from typing import Any

from ecrlab.shared_registry import (  # noqa: F401
    ACCOUNT,
    ALERT,
    CACHE_RULES,
    DR_ACCOUNT,
    OTHER_EXCLUSIONS,
    OTHER_FILTERS,
    OTHER_RULES,
    OTHER_SIGNING_RULES,
    OTHER_STATEMENTS,
    POLICY_TEXT,
    REGION,
    REPOSITORIES,
    SCAN_TYPE,
    TEMPLATES,
    filters,
    populate,
    snapshot,
    statements,
)


def others_intact(snap: dict[str, Any]) -> None:
    """Assert every other team's part is in `snap` exactly as the fixture made it."""
    found = statements(snap)
    for statement in OTHER_STATEMENTS:
        assert statement in found, statement["Sid"]
    for rule in OTHER_RULES:
        assert rule in (snap["replication"] or {}).get("rules", []), rule
    assert snap["scanning"]["scanType"] == SCAN_TYPE
    for frequency, wanted in OTHER_FILTERS.items():
        assert set(wanted) <= set(filters(snap).get(frequency, [])), frequency
    assert set(CACHE_RULES) <= set(snap["pull-through-cache"])
    assert snap["eventbridge-rules"][ALERT]["Targets"] == sorted(
        [
            ("team-sec-pager", f"arn:aws:sqs:{REGION}:{ACCOUNT}:team-sec-pager"),
            ("team-sec-queue", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{ALERT}"),
        ]
    )
    assert "team-sec-events" in (snap["queues"][ALERT] or "")
    assert {name for name, _ in snap["repositories"]} >= set(REPOSITORIES)
    for rule in OTHER_SIGNING_RULES:
        assert rule in snap["signing"], rule
    assert set(OTHER_EXCLUSIONS) <= set(snap["pull-time-exclusions"])
