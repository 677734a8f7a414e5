"""Replication rules as ECR reads them: which rules a repository matches, where its images go, and the quotas.

The emulator (which replicates by these rules) and `ecrlab.replication` (which plans and predicts with them) share
this module, so a what-if and the emulator cannot disagree. Rules are read in their API shape, as
`DescribeRegistry` returns them: `{"destinations": [{"region", "registryId"}], "repositoryFilters": [...],
"deleteReplication": {"enabled": bool}}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ecrlab.ecr_model import ecr_model


def _model_max(shape: str) -> int:
    return int(ecr_model().shape_for(shape).metadata["max"])


# The limits of botocore's current ECR model (ReplicationRuleList, ReplicationDestinationList, RepositoryFilterList;
# docs/fidelity.md "Limits"): 25 rules, 100 destinations and 100 filters per rule. Older user-guide pages said 10
# rules and 25 unique destinations; the model and the API reference are newer.
MAX_RULES = _model_max("ReplicationRuleList")
MAX_DESTINATIONS_PER_RULE = _model_max("ReplicationDestinationList")
MAX_FILTERS_PER_RULE = _model_max("RepositoryFilterList")

Rule = Mapping[str, Any]
Destination = tuple[str, str]  # (registryId, region)


def destinations_of(rule: Rule) -> list[Destination]:
    return [(d["registryId"], d["region"]) for d in rule.get("destinations", ())]


def prefixes_of(rule: Rule) -> list[str]:
    return [f["filter"] for f in rule.get("repositoryFilters") or () if f.get("filterType") == "PREFIX_MATCH"]


def deletes_replicate(rule: Rule) -> bool:
    return bool((rule.get("deleteReplication") or {}).get("enabled"))


def rule_matches(rule: Rule, repository: str) -> bool:
    """A rule without filters takes every repository; a PREFIX_MATCH filter is a plain string prefix."""
    prefixes = prefixes_of(rule)
    return not prefixes or any(repository.startswith(prefix) for prefix in prefixes)


def routes(rules: Sequence[Rule], repository: str) -> dict[Destination, list[int]]:
    """Where `repository`'s images go: each destination (in configuration order) and the rules (0-based) sending it.

    A destination several rules name still receives one copy per push.
    """
    found: dict[Destination, list[int]] = {}
    for index, rule in enumerate(rules):
        if rule_matches(rule, repository):
            for destination in destinations_of(rule):
                found.setdefault(destination, []).append(index)
    return found


def delete_destinations(rules: Sequence[Rule], repository: str) -> list[Destination]:
    """Where deletions and tag removals in `repository` are replicated: matching rules with deleteReplication on."""
    return list(
        dict.fromkeys(
            destination
            for rule in rules
            if deletes_replicate(rule) and rule_matches(rule, repository)
            for destination in destinations_of(rule)
        )
    )


def unique_destinations(rules: Iterable[Rule]) -> list[Destination]:
    return list(dict.fromkeys(d for rule in rules for d in destinations_of(rule)))


@dataclass(frozen=True)
class Problem:
    """A rule the configuration breaks: which part (`rules`, `destinations`, `prefixes`), the value, the rule."""

    field: str
    value: Any
    rule: str


def configuration_problem(rules: Sequence[Rule], account_id: str, region: str) -> Problem | None:
    """The first quota or rule a configuration for registry `account_id`/`region` breaks, or None."""
    if len(rules) > MAX_RULES:
        return Problem("rules", len(rules), f"a replication configuration holds at most {MAX_RULES} rules")
    for number, rule in enumerate(rules, start=1):
        if len(destinations_of(rule)) > MAX_DESTINATIONS_PER_RULE:
            return Problem(
                "destinations",
                len(destinations_of(rule)),
                f"rule {number} has more than {MAX_DESTINATIONS_PER_RULE} destinations",
            )
        filters = prefixes_of(rule)
        if len(filters) > MAX_FILTERS_PER_RULE:
            return Problem(
                "prefixes", len(filters), f"rule {number} has more than {MAX_FILTERS_PER_RULE} repository filters"
            )
        if (account_id, region) in destinations_of(rule):
            return Problem(
                "destinations",
                f"{account_id}/{region}",
                "Replication destination cannot be the same as the source registry",
            )
    return None
