"""The registry's image-scanning configuration as a plannable spec, and which repositories its filters match.

One registry setting shared by every team with a filter in it. Which repositories a filter matches comes from
`ecrlab.scan_rules`, the function the emulator itself decides with. Findings are `ecrlab.scan_results`, the CI gate
`ecrlab.scan_gate`, the alert on CRITICAL findings `ecrlab.scan_alerts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ecrlab import checks
from ecrlab.ecr_model import check
from ecrlab.errors import ValidationError
from ecrlab.plan import Parts, Plan, Setting, Wanted, make_plan, setting_kind
from ecrlab.scan_rules import DEFAULT_CONFIGURATION, configuration_problem, normalized, resolve

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

MATCH_COLUMNS = ["repository", "scanning", "scan_frequency", "matched_filters"]


@dataclass(frozen=True)
class ScanningSpec:
    """The registry's scanning configuration: the scan type and the repository filters of each frequency.

    BASIC scans on push where an `on_push` filter matches and allows manual scans everywhere; ENHANCED (Amazon
    Inspector) scans where an `on_push` or `continuous` filter matches — continuous wins — and nowhere else.
    Filters are ECR's WILDCARD filters: without `*` a filter matches every name that contains it.
    """

    scan_type: str = "BASIC"
    on_push: Sequence[str] = ()
    continuous: Sequence[str] = ()

    def __post_init__(self) -> None:
        for name in ("on_push", "continuous"):
            object.__setattr__(self, name, checks.strings(name, getattr(self, name)))
        check("ScanType", "scan_type", self.scan_type)
        for name in ("on_push", "continuous"):
            filters = getattr(self, name)
            if len(filters) > 100:
                raise ValidationError(name, len(filters), "a rule takes at most 100 repository filters")
            for value in filters:
                check("ScanningRepositoryFilterValue", name, value)
        if self.scan_type == "BASIC" and self.continuous:
            raise ValidationError(
                "continuous", list(self.continuous), "continuous scanning needs scan_type ENHANCED (Amazon Inspector)"
            )

    def to_api(self) -> dict[str, Any]:
        """The PutRegistryScanningConfiguration arguments (scanType, rules), one rule per frequency."""
        rules = [
            {
                "scanFrequency": frequency,
                "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in filters],
            }
            for frequency, filters in (("SCAN_ON_PUSH", self.on_push), ("CONTINUOUS_SCAN", self.continuous))
            if filters
        ]
        return normalized({"scanType": self.scan_type, "rules": rules})

    @classmethod
    def from_api(cls, configuration: dict[str, Any]) -> ScanningSpec:
        """From GetRegistryScanningConfiguration's `scanningConfiguration` (rules of one frequency merge)."""
        problem = configuration_problem(configuration)
        if problem:
            raise ValidationError("rules", configuration.get("rules"), problem[1])
        rules = normalized(configuration)["rules"]
        filters = {r["scanFrequency"]: tuple(f["filter"] for f in r["repositoryFilters"]) for r in rules}
        return cls(
            configuration.get("scanType", "BASIC"), filters.get("SCAN_ON_PUSH", ()), filters.get("CONTINUOUS_SCAN", ())
        )


SCAN_TYPE = "@scanType"  # the registry's scan type: one part every filter depends on


def _split_scanning(value: Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    parts: dict[str, Any] = {SCAN_TYPE: value.get("scanType", "BASIC")}
    for rule in value.get("rules") or ():
        for item in rule.get("repositoryFilters") or ():
            kind = item.get("filterType", "WILDCARD")
            parts[f"{rule['scanFrequency']} {item['filter']}"] = {
                "scanFrequency": rule["scanFrequency"],
                "filter": item["filter"],
                "filterType": kind,
            }
    return parts


def _join_scanning(parts: dict[str, Any]) -> dict[str, Any]:
    rules: dict[str, list[dict[str, str]]] = {}
    for key, part in parts.items():
        if key != SCAN_TYPE:
            rules.setdefault(part["scanFrequency"], []).append(
                {"filter": part["filter"], "filterType": part["filterType"]}
            )
    return normalized(
        {
            "scanType": parts.get(SCAN_TYPE, "BASIC"),
            "rules": [{"scanFrequency": f, "repositoryFilters": filters} for f, filters in rules.items()],
        }
    )


def _label_scanning(key: str, part: Any) -> str:
    return f"scan type {part}" if key == SCAN_TYPE else key


SCANNING_PARTS = Parts(_split_scanning, _join_scanning, "filter", _label_scanning)


@setting_kind("scanning-configuration")
def scanning_configuration(key: str = "registry") -> Setting:
    """The registry's one scanning configuration, shared by every team with a filter in it: its scan type and
    each (frequency, filter) are parts; absent means the default."""

    def read(registry: Registry) -> dict[str, Any]:
        return normalized(registry.client().get_registry_scanning_configuration()["scanningConfiguration"])

    def write(registry: Registry, value: dict[str, Any] | None) -> None:
        value = value or DEFAULT_CONFIGURATION
        problem = configuration_problem(value)
        if problem:  # checked on the merged value, with every other team's filters in it
            raise ValidationError(problem[0], value.get(problem[0]), f"{problem[1]} (with the filters of others kept)")
        registry.client().put_registry_scanning_configuration(scanType=value["scanType"], rules=value["rules"])

    return Setting("scanning-configuration", key, read, write, SCANNING_PARTS)


def read(registry: Registry) -> ScanningSpec:
    """The registry's scanning configuration now."""
    return ScanningSpec.from_api(scanning_configuration("registry").read(registry))


def plan(
    registry: Registry,
    spec: ScanningSpec,
    *,
    remove: Iterable[str] = (),
    remove_unlisted: bool = False,
    keep_scan_type: bool = False,
) -> Plan:
    """Give the registry `spec`'s scan type and add its filters, keeping every other filter.

    `remove` names filters to take out as `"SCAN_ON_PUSH filter"` or `"CONTINUOUS_SCAN filter"`;
    `remove_unlisted` takes out every filter `spec` does not list. Each removal is listed in the plan. A scan type
    that the kept filters cannot have (BASIC with continuous filters) is refused when applied, before any write.
    `keep_scan_type` plans the filters with the registry's scan type instead of `spec`'s, whatever it is.
    """
    setting = scanning_configuration("registry")
    read: dict[str, Any] = {}
    if keep_scan_type:
        read[setting.address] = setting.read(registry)
        spec = replace(spec, scan_type=ScanningSpec.from_api(read[setting.address]).scan_type)
    wanted = _split_scanning(spec.to_api())
    return make_plan(registry, [(setting, Wanted(wanted, tuple(remove), remove_unlisted))], read=read)


def matching_repositories(spec: ScanningSpec, names: Iterable[str]) -> pd.DataFrame:
    """Which repositories does this configuration scan, and how? One row per name, sorted.

    Columns (`MATCH_COLUMNS`): repository, scanning (in words), scan_frequency (as
    BatchGetRepositoryScanningConfiguration reports it), matched_filters (the deciding filters, comma-separated).
    """
    import pandas as pd

    rows = []
    for name in sorted(set(names)):
        decision = resolve(spec.to_api(), name)
        rows.append([name, decision.summary, decision.scan_frequency, ", ".join(decision.applied_filters)])
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)
