"""Registry scanning rules: which repositories a filter matches and how each repository is scanned — plain functions.

The emulator (deciding whether a push is scanned) and ecrlab's client (`matching_repositories`, `ScanningSpec`)
share this module, so the answer a lesson explains is the answer the emulator acts on. Rules are read in their API
shape (`{"scanFrequency": ..., "repositoryFilters": [{"filter": ..., "filterType": "WILDCARD"}]}`).

Semantics (docs/fidelity.md S5): a filter without `*` matches every name that *contains* it; with `*`, it must match
the whole name, `*` standing for any run of characters. BASIC scans on push where a SCAN_ON_PUSH rule matches and
allows manual scans everywhere; ENHANCED scans where a SCAN_ON_PUSH or CONTINUOUS_SCAN rule matches (continuous
wins when both do) and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SCAN_TYPES = ("BASIC", "ENHANCED")
SUPPORTED_FREQUENCIES = {"BASIC": ("SCAN_ON_PUSH",), "ENHANCED": ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")}
# When a repository matches rules of both frequencies, the first listed here decides.
PRECEDENCE = ("CONTINUOUS_SCAN", "SCAN_ON_PUSH")
MAX_RULES = 2
DEFAULT_CONFIGURATION: dict[str, Any] = {"scanType": "BASIC", "rules": []}


def filter_matches(pattern: str, repository_name: str) -> bool:
    """Whether one WILDCARD filter covers a repository: `prod` covers `repo-prod-x`; `prod*` covers only names
    starting with `prod`. Matched part by part, so a filter full of `*` stays linear (no regex backtracking)."""
    if "*" not in pattern:
        return pattern in repository_name
    first, *middle, last = pattern.split("*")
    if len(first) + len(last) > len(repository_name):
        return False
    if not (repository_name.startswith(first) and repository_name.endswith(last)):
        return False
    position, end = len(first), len(repository_name) - len(last)
    for part in middle:
        found = repository_name.find(part, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return True


@dataclass(frozen=True)
class RepositoryScanning:
    """How one repository is scanned, as BatchGetRepositoryScanningConfiguration reports it, and why."""

    repository: str
    scan_type: str
    scan_frequency: str  # SCAN_ON_PUSH | CONTINUOUS_SCAN | MANUAL
    applied_filters: tuple[str, ...]  # the deciding rule's filters that match the name

    @property
    def scanned_on_push(self) -> bool:
        """A push is scanned: on-push rules in either type, and continuous scanning starts with a push too."""
        return self.scan_frequency in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")

    @property
    def manual_scans(self) -> bool:
        """StartImageScan is basic scanning's; under ENHANCED Amazon Inspector alone decides."""
        return self.scan_type == "BASIC"

    @property
    def summary(self) -> str:
        """In words, for tables and widgets."""
        if self.scan_frequency == "CONTINUOUS_SCAN":
            return "scanned on push and continuously"
        if self.scan_frequency == "SCAN_ON_PUSH":
            return "scanned on push"
        return "manual scans only" if self.manual_scans else "not scanned"


def _matching(rule: Mapping[str, Any], repository_name: str) -> tuple[str, ...]:
    return tuple(
        f["filter"] for f in rule.get("repositoryFilters") or () if filter_matches(f["filter"], repository_name)
    )


def resolve(
    configuration: Mapping[str, Any], repository_name: str, *, repository_scan_on_push: bool = False
) -> RepositoryScanning:
    """How `repository_name` is scanned under a registry scanning configuration.

    `repository_scan_on_push` is the deprecated repository-level `imageScanningConfiguration.scanOnPush`: AWS still
    accepts it, so under BASIC it still scans on push (UNCONFIRMED [U18]: AWS documents only its deprecation); under
    ENHANCED only the registry's filters count.
    """
    scan_type = configuration.get("scanType", "BASIC")
    rules = configuration.get("rules") or ()
    for frequency in PRECEDENCE:
        if frequency not in SUPPORTED_FREQUENCIES.get(scan_type, ()):
            continue
        filters = tuple(
            f for rule in rules if rule.get("scanFrequency") == frequency for f in _matching(rule, repository_name)
        )
        if filters:
            return RepositoryScanning(repository_name, scan_type, frequency, tuple(dict.fromkeys(filters)))
    if scan_type == "BASIC" and repository_scan_on_push:
        return RepositoryScanning(repository_name, scan_type, "SCAN_ON_PUSH", ())
    return RepositoryScanning(repository_name, scan_type, "MANUAL", ())


def configuration_problem(configuration: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, rule broken) for what the model's shapes cannot say: which frequencies a scan type takes."""
    scan_type = configuration.get("scanType", "BASIC")
    rules: Sequence[Mapping[str, Any]] = configuration.get("rules") or ()
    if len(rules) > MAX_RULES:
        return "rules", f"a registry takes at most {MAX_RULES} scanning rules"
    allowed = SUPPORTED_FREQUENCIES.get(scan_type, ())
    for rule in rules:
        frequency = rule.get("scanFrequency")
        if frequency not in allowed:
            return "scanFrequency", f"{scan_type} scanning supports {' and '.join(allowed)} rules, not {frequency}"
    return None


def normalized(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """One rule per frequency, in a fixed order, without empty rules: configurations that scan the same
    repositories the same way compare equal (what a plan diffs)."""
    rules: dict[str, list[str]] = {}
    for rule in configuration.get("rules") or ():
        filters = rules.setdefault(rule["scanFrequency"], [])
        filters += [f["filter"] for f in rule.get("repositoryFilters") or () if f["filter"] not in filters]
    order = [*reversed(PRECEDENCE), *(f for f in rules if f not in PRECEDENCE)]
    return {
        "scanType": configuration.get("scanType", "BASIC"),
        "rules": [
            {"scanFrequency": f, "repositoryFilters": [{"filter": x, "filterType": "WILDCARD"} for x in rules[f]]}
            for f in order
            if rules.get(f)
        ],
    }
