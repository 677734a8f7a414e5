"""Replication as a plannable spec, a what-if, a status matrix and a topology diagram — boto3 only.

The same code runs against AWS and the emulator. Which rules a repository matches and the quotas come from
`ecrlab.replication_rules`, the module the emulator replicates by, so `what_if` predicts what the emulator does.
A destination is written `eu-west-1` (this account) or `444455556666/eu-west-1` (another account).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecrlab import checks
from ecrlab.ecr_model import check, is_region
from ecrlab.errors import ValidationError
from ecrlab.plan import Parts, Plan, Setting, Wanted, make_plan, setting_kind
from ecrlab.replication_rules import (
    MAX_FILTERS_PER_RULE,
    configuration_problem,
    deletes_replicate,
    destinations_of,
    prefixes_of,
    routes,
)

if TYPE_CHECKING:
    import pandas as pd
    from IPython.display import Markdown

    from ecrlab.registry import Registry

PREFIX_RULE = "must be 2 to 256 characters: lowercase letters and digits in parts joined by '.', '_', '-' or '/'"
WHAT_IF_COLUMNS = ["repository", "replicated", "destination", "rules", "delete_replication"]
BACKFILL_COLUMNS = ["repository", "tag", "digest", "status", "failure_code"]
STATUS_COLUMNS = ["repository", "tags", "digest"]  # then one column per destination, labelled as destinations are


def _destination_list(destinations: Any) -> list[Any]:
    """Destinations as a list: one written as text or a mapping counts as one, never as its characters or keys."""
    if isinstance(destinations, str | Mapping | Destination):
        return [destinations]
    if not isinstance(destinations, list | tuple | set | frozenset):
        raise ValidationError("destinations", destinations, "must be a list of destinations such as 'eu-west-1'")
    return list(destinations)


@dataclass(frozen=True, order=True)
class Destination:
    """One registry images are copied to: an account's registry in a region."""

    registry_id: str
    region: str

    def __post_init__(self) -> None:
        checks.text("destinations", self.registry_id)
        checks.text("destinations", self.region)
        if not re.fullmatch(r"\d{12}", self.registry_id):
            raise ValidationError("destinations", self.registry_id, "an account id must be 12 digits")
        if not is_region(self.region):
            raise ValidationError("destinations", self.region, "must be an AWS region such as eu-west-1")

    @classmethod
    def parse(cls, value: str | Mapping[str, str] | Destination, account_id: str) -> Destination:
        """`eu-west-1` (in `account_id`), `444455556666/eu-west-1`, or an API `{"region", "registryId"}`."""
        checks.text("account_id", account_id)
        if isinstance(value, Destination):
            return value
        if isinstance(value, Mapping):
            return cls(value.get("registryId", account_id), value.get("region", ""))
        registry_id, _, region = checks.text("destinations", value).strip().rpartition("/")
        return cls(registry_id or account_id, region)

    def label(self) -> str:
        return f"{self.registry_id}/{self.region}"

    def to_api(self) -> dict[str, str]:
        return {"region": self.region, "registryId": self.registry_id}


@dataclass(frozen=True)
class ReplicationRule:
    """Where images of matching repositories go; no prefixes means every repository.

    A prefix is a plain string prefix (PREFIX_MATCH): `prod` also takes `products/…`, `prod/` does not.
    `delete_replication` also replicates image deletions and tag removals.
    """

    destinations: tuple[Destination, ...]
    prefixes: tuple[str, ...] = ()
    delete_replication: bool = False

    def __post_init__(self) -> None:
        destinations = checks.items("destinations", self.destinations, Destination, "Destination")
        object.__setattr__(self, "destinations", destinations)
        object.__setattr__(self, "prefixes", checks.strings("prefixes", self.prefixes))
        checks.flag("delete_replication", self.delete_replication)
        if not self.destinations:
            raise ValidationError("destinations", [], "a rule needs at least one destination")
        for name, values in (("destinations", [d.label() for d in self.destinations]), ("prefixes", self.prefixes)):
            repeated = checks.first_repeated(values)
            if repeated is not None:
                raise ValidationError(name, repeated, "appears more than once in the rule")
        if len(self.prefixes) > MAX_FILTERS_PER_RULE:
            raise ValidationError(
                "prefixes", len(self.prefixes), f"a rule holds at most {MAX_FILTERS_PER_RULE} repository filters"
            )
        for prefix in self.prefixes:
            try:
                check("RepositoryFilterValue", "prefixes", prefix)
            except ValidationError:
                raise ValidationError("prefixes", prefix, PREFIX_RULE) from None

    @classmethod
    def parse(
        cls,
        account_id: str,
        destinations: Iterable[str | Mapping[str, str] | Destination],
        prefixes: Iterable[str] = (),
        delete_replication: bool = False,
    ) -> ReplicationRule:
        """A rule from what a form or runbook parameter holds (destinations as text)."""
        checks.text("account_id", account_id)
        return cls(
            tuple(Destination.parse(d, account_id) for d in _destination_list(destinations)),
            checks.strings("prefixes", prefixes),
            delete_replication,
        )

    def to_api(self) -> dict[str, Any]:
        api: dict[str, Any] = {"destinations": [d.to_api() for d in self.destinations]}
        if self.prefixes:
            api["repositoryFilters"] = [{"filter": p, "filterType": "PREFIX_MATCH"} for p in self.prefixes]
        if self.delete_replication:
            api["deleteReplication"] = {"enabled": True}
        return api

    @classmethod
    def from_api(cls, rule: Mapping[str, Any]) -> ReplicationRule:
        return cls(
            tuple(Destination(registry_id, region) for registry_id, region in destinations_of(rule)),
            tuple(prefixes_of(rule)),
            deletes_replicate(rule),
        )


def _strings(field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(field, value, "must be a JSON list of strings")
    return value


@dataclass(frozen=True)
class ReplicationSpec:
    """A registry's whole replication configuration (one per registry): up to 25 rules of up to 100 destinations."""

    rules: tuple[ReplicationRule, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", checks.items("rules", self.rules, ReplicationRule, "ReplicationRule"))
        # The same-registry rule needs the source, so plan() checks it; the quotas need nothing else.
        problem = configuration_problem(self.to_api()["rules"], "", "")
        if problem:
            raise ValidationError(problem.field, problem.value, problem.rule)

    @classmethod
    def single_rule(
        cls,
        account_id: str,
        destinations: Iterable[str | Mapping[str, str]],
        prefixes: Iterable[str] = (),
        delete_replication: bool = False,
    ) -> ReplicationSpec:
        """One rule from runbook parameters; no destinations means no replication at all."""
        checks.text("account_id", account_id)
        checks.strings("prefixes", prefixes)
        checks.flag("delete_replication", delete_replication)
        destinations = _destination_list(destinations)
        if not destinations:
            return cls()
        return cls((ReplicationRule.parse(account_id, destinations, prefixes, delete_replication),))

    @classmethod
    def from_parameters(cls, account_id: str, params: Mapping[str, Any]) -> ReplicationSpec:
        """The rules a runbook's parameters describe: one from `destinations`, `repository_prefixes` and
        `delete_replication` (when it has destinations), then each of `rules`, a JSON list of
        `{"destinations", "repository_prefixes", "delete_replication"}`."""
        rules = []
        if params.get("destinations"):
            rules.append(
                ReplicationRule.parse(
                    account_id,
                    _strings("destinations", params["destinations"]),
                    _strings("repository_prefixes", params.get("repository_prefixes") or []),
                    bool(params.get("delete_replication")),
                )
            )
        listed = params.get("rules") or []
        if not isinstance(listed, list):
            raise ValidationError("rules", listed, "must be a JSON list of rules")
        for rule in listed:
            if not isinstance(rule, Mapping) or set(rule) - {
                "destinations",
                "repository_prefixes",
                "delete_replication",
            }:
                raise ValidationError(
                    "rules",
                    rule,
                    "each rule must be an object of destinations, repository_prefixes, delete_replication",
                )
            delete = rule.get("delete_replication", False)
            if not isinstance(delete, bool):
                raise ValidationError("rules", delete, "delete_replication must be true or false")
            rules.append(
                ReplicationRule.parse(
                    account_id,
                    _strings("rules", rule.get("destinations")),
                    _strings("rules", rule.get("repository_prefixes") or []),
                    delete,
                )
            )
        return cls(tuple(rules))

    def to_api(self) -> dict[str, Any]:
        """The `replicationConfiguration` of PutReplicationConfiguration."""
        return {"rules": [rule.to_api() for rule in self.rules]}

    @classmethod
    def from_api(cls, configuration: Mapping[str, Any] | None) -> ReplicationSpec:
        return cls(tuple(ReplicationRule.from_api(rule) for rule in (configuration or {}).get("rules", ())))

    def destinations(self) -> list[Destination]:
        """Every destination once, in the order the rules name them."""
        return list(dict.fromkeys(d for rule in self.rules for d in rule.destinations))


def rule_key(rule: Mapping[str, Any]) -> str:
    """A rule's part key: its content (destinations, prefixes, delete replication), however the API spells it."""
    return json.dumps(ReplicationRule.from_api(rule).to_api(), sort_keys=True)


def _split(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {rule_key(rule): rule for rule in (value or {}).get("rules", ())}


def _join(parts: dict[str, Any]) -> dict[str, Any] | None:
    return {"rules": list(parts.values())} if parts else None


def _label(key: str, rule: Any) -> str:
    spec = ReplicationRule.from_api(rule)
    where = ", ".join(f"{p}*" for p in spec.prefixes) or "every repository"
    deletes = " (+ deletions)" if spec.delete_replication else ""
    return f"{where} -> {', '.join(d.label() for d in spec.destinations)}{deletes}"


RULE_PARTS = Parts(_split, _join, "rule", _label)


@setting_kind("replication-configuration")
def replication_configuration(key: str = "registry") -> Setting:
    """The registry's one replication configuration, shared by every team with a rule in it: planned and written
    rule by rule (a rule is its content), absent (None) when it has no rules."""

    def current(registry: Registry) -> dict[str, Any] | None:
        configuration = registry.client().describe_registry().get("replicationConfiguration") or {}
        return {"rules": configuration["rules"]} if configuration.get("rules") else None

    def write(registry: Registry, value: dict[str, Any] | None) -> None:
        registry.client().put_replication_configuration(replicationConfiguration=value or {"rules": []})

    return Setting("replication-configuration", key, current, write, RULE_PARTS)


def read(registry: Registry) -> ReplicationSpec:
    """The registry's replication configuration as a spec (no rules when none is set)."""
    return ReplicationSpec.from_api(registry.client().describe_registry().get("replicationConfiguration"))


def plan(
    registry: Registry,
    spec: ReplicationSpec,
    *,
    remove: Iterable[ReplicationRule] = (),
    remove_unlisted: bool = False,
) -> Plan:
    """Add `spec`'s rules to the registry's configuration, keeping every other rule.

    `remove` names rules to take out; `remove_unlisted` takes out every rule `spec` does not list (a spec without
    rules then removes replication). Each removal is listed in the plan.
    """
    setting = replication_configuration()
    now = setting.read(registry)
    current = RULE_PARTS.split(now)
    # A rule already there is kept as the registry spells it: it is the same part.
    wanted = {rule_key(api): current.get(rule_key(api), api) for api in spec.to_api()["rules"]}
    removals = tuple(rule_key(rule.to_api()) for rule in remove)
    result = make_plan(registry, [(setting, Wanted(wanted, removals, remove_unlisted))], read={setting.address: now})
    for change in result.changes:
        problem = configuration_problem((change.after or {}).get("rules", []), registry.account_id, registry.region)
        if problem:
            raise ValidationError(problem.field, problem.value, f"{problem.rule} (with the rules of others kept)")
    return result


def what_if(spec: ReplicationSpec, repository_names: Iterable[str]) -> pd.DataFrame:
    """Where each repository's images would go under `spec`: one row per repository and destination.

    Columns (`WHAT_IF_COLUMNS`): repository, replicated (False: no rule matches, one row), destination (its label),
    rules (the 1-based numbers of the rules that send it there), delete_replication (whether deletions follow).
    """
    import pandas as pd

    api_rules = spec.to_api()["rules"]
    rows = []
    for name in repository_names:
        found = routes(api_rules, name)
        if not found:
            rows.append(
                {"repository": name, "replicated": False, "destination": "", "rules": "", "delete_replication": False}
            )
        for (registry_id, region), indexes in found.items():
            rows.append(
                {
                    "repository": name,
                    "replicated": True,
                    "destination": Destination(registry_id, region).label(),
                    "rules": ", ".join(str(i + 1) for i in indexes),
                    "delete_replication": any(spec.rules[i].delete_replication for i in indexes),
                }
            )
    return pd.DataFrame(rows, columns=WHAT_IF_COLUMNS)


def _images(registry: Registry, repository: str) -> list[dict[str, Any]]:
    pages = registry.client().get_paginator("describe_images").paginate(repositoryName=repository)
    found = (d for page in pages for d in page["imageDetails"])
    return sorted(found, key=lambda d: (d["imagePushedAt"], sorted(d.get("imageTags", [])), d["imageDigest"]))


def status_matrix(registry: Registry, repositories: Sequence[str] | None = None) -> pd.DataFrame:
    """Each image × each destination → its replication status, from DescribeImageReplicationStatus.

    Columns: `STATUS_COLUMNS` (repository, tags, digest) then one per destination (`123456789012/eu-west-1`,
    configured ones first). Cells are COMPLETE, IN_PROGRESS, `FAILED (<failure code>)`, or "" for an image never
    replicated there (pushed before the configuration, or its repository matched no rule).
    """
    import pandas as pd

    ecr = registry.client()
    if repositories is None:
        pages = ecr.get_paginator("describe_repositories").paginate()
        repositories = sorted(r["repositoryName"] for page in pages for r in page["repositories"])
    destinations = [d.label() for d in read(registry).destinations()]
    rows = []
    for name in repositories:
        for image in _images(registry, name):
            answer = ecr.describe_image_replication_status(
                repositoryName=name, imageId={"imageDigest": image["imageDigest"]}
            )
            row = {
                "repository": name,
                "tags": ", ".join(sorted(image.get("imageTags", []))),
                "digest": image["imageDigest"],
            }
            for status in answer["replicationStatuses"]:
                label = Destination(status["registryId"], status["region"]).label()
                if label not in destinations:
                    destinations.append(label)
                code = status.get("failureCode")
                row[label] = f"{status['status']} ({code})" if code else status["status"]
            rows.append(row)
    return pd.DataFrame(rows, columns=STATUS_COLUMNS + destinations).fillna("")


def backfill_results(registry: Registry, backfill_id: str) -> pd.DataFrame:
    """A backfill's per-image results (available once it has ended), one row per image and tag.

    Columns (`BACKFILL_COLUMNS`): repository, tag ("" for an untagged image), digest, status (COMPLETE or
    FAILED), failure_code ("" when it succeeded).
    """
    import pandas as pd

    pages = (
        registry.client()
        .get_paginator("describe_replication_backfill_results")
        .paginate(replicationBackfillId=backfill_id)
    )
    rows = [
        {
            "repository": result["repositoryName"],
            "tag": result["imageId"].get("imageTag", ""),
            "digest": result["imageId"]["imageDigest"],
            "status": result["status"],
            "failure_code": result.get("failureCode", ""),
        }
        for page in pages
        for result in page["results"]
    ]
    return pd.DataFrame(rows, columns=BACKFILL_COLUMNS)


def _node(destination: Destination) -> str:
    return "r_" + re.sub(r"\W", "_", destination.label())


def topology_mermaid(source: ReplicationSpec | Registry) -> str:
    """A Mermaid flowchart of a configuration: registries grouped by account, one edge per rule and destination.

    Given a registry, the diagram is drawn from its live configuration (DescribeRegistry); given a spec, from the
    spec, with the source drawn as "this registry".
    """
    if isinstance(source, ReplicationSpec):
        spec, origin, home = source, "this registry", None
    else:
        spec, origin, home = read(source), f"{source.region} (source)", Destination(source.account_id, source.region)
    accounts: dict[str, list[str]] = {}
    if home:
        accounts[home.registry_id] = [f'    src["{origin}"]']
    for destination in spec.destinations():
        accounts.setdefault(destination.registry_id, []).append(f'    {_node(destination)}["{destination.region}"]')
    lines = ["flowchart LR"]
    if not home:
        lines.append(f'  src["{origin}"]')
    for account, nodes in accounts.items():
        lines += [f'  subgraph a{account}["account {account}"]', *[f"  {node}" for node in nodes], "  end"]
    for number, rule in enumerate(spec.rules, start=1):
        label = ", ".join(f"{p}*" for p in rule.prefixes) or "all repositories"
        label += " + deletes" if rule.delete_replication else ""
        for destination in rule.destinations:
            lines.append(f'  src -->|"rule {number}: {label}"| {_node(destination)}')
    return "\n".join(lines)


def show_topology(source: ReplicationSpec | Registry) -> Markdown:
    """The topology as a Markdown ```mermaid block, which JupyterLab draws as a diagram."""
    from IPython.display import Markdown

    return Markdown(f"```mermaid\n{topology_mermaid(source)}\n```")
