"""Managed signing as a plannable spec, and what it produced: signing statuses and signature referrers.

The registry's signing configuration is one setting (`signing-configuration/registry`): absent, or its rules. A rule
names an AWS Signer signing profile and, optionally, WILDCARD_MATCH repository filters (none: every repository).
Limits and patterns come from botocore's model: at most 10 rules, 100 filters per rule. Teams share the one
configuration, so it is planned, written and rolled back rule by rule (a rule is its content), like replication.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ecrlab.ecr_model import check
from ecrlab.errors import ValidationError
from ecrlab.plan import Parts, Plan, Setting, Wanted, make_plan, setting_kind

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

MAX_RULES = 10
SIGNATURE_TYPE = "application/vnd.cncf.notary.signature"


@dataclass(frozen=True)
class SigningRule:
    """Sign images pushed to repositories matching `repository_filters` (all when empty) with `signing_profile_arn`."""

    signing_profile_arn: str
    repository_filters: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check("SigningProfileArn", "signing_profile_arn", self.signing_profile_arn)
        for value in self.repository_filters:
            check("SigningRepositoryFilterValue", "repository_filters", value)
        if len(self.repository_filters) > 100:
            raise ValidationError("repository_filters", len(self.repository_filters), "at most 100 filters per rule")

    def to_api(self) -> dict[str, Any]:
        api: dict[str, Any] = {"signingProfileArn": self.signing_profile_arn}
        if self.repository_filters:
            api["repositoryFilters"] = [{"filter": f, "filterType": "WILDCARD_MATCH"} for f in self.repository_filters]
        return api

    @classmethod
    def from_api(cls, api: dict[str, Any]) -> SigningRule:
        filters = tuple(f["filter"] for f in api.get("repositoryFilters", []))
        return cls(api["signingProfileArn"], filters)


@dataclass(frozen=True)
class SigningConfiguration:
    """The registry's signing rules; `None` as a spec means no signing configuration."""

    rules: tuple[SigningRule, ...]

    def __post_init__(self) -> None:
        if len(self.rules) > MAX_RULES:
            raise ValidationError("rules", len(self.rules), f"at most {MAX_RULES} signing rules per registry")

    def to_api(self) -> dict[str, Any]:
        return {"rules": [rule.to_api() for rule in self.rules]}


def rule_key(rule: Mapping[str, Any]) -> str:
    """A rule's part key: its profile and filters, however the API spells them."""
    return json.dumps(SigningRule.from_api(dict(rule)).to_api(), sort_keys=True)


def _split(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return {rule_key(rule): rule for rule in (value or {}).get("rules", ())}


def _join(parts: dict[str, Any]) -> dict[str, Any] | None:
    return {"rules": list(parts.values())} if parts else None


def _label(key: str, rule: Any) -> str:
    spec = SigningRule.from_api(rule)
    where = ", ".join(spec.repository_filters) or "every repository"
    return f"{spec.signing_profile_arn.rsplit('/', 1)[-1]} signs {where}"


RULE_PARTS = Parts(_split, _join, "signing rule", _label)


@setting_kind("signing-configuration")
def signing_setting(key: str = "registry") -> Setting:
    """The registry's one signing configuration, shared by every team with a rule in it; absent (None) when it has
    no rules (ECR refuses an empty rule list, so the last rule's removal deletes the configuration)."""

    def read_api(registry: Registry) -> dict[str, Any] | None:
        try:
            configuration = registry.client().get_signing_configuration()["signingConfiguration"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "SigningConfigurationNotFoundException":
                return None
            raise
        return configuration if configuration.get("rules") else None

    def write_api(registry: Registry, value: dict[str, Any] | None) -> None:
        if value is None:
            registry.client().delete_signing_configuration()
        else:
            registry.client().put_signing_configuration(signingConfiguration=value)

    return Setting("signing-configuration", key, read_api, write_api, RULE_PARTS)


def signs(spec: SigningConfiguration | None, repository: str) -> list[str]:
    """The profiles that sign a push to `repository`: every rule whose WILDCARD_MATCH filters match the whole name
    (`*` matches any characters, `/` included), or that has no filters; one signature per matching profile."""
    if spec is None:
        return []
    return [
        rule.signing_profile_arn
        for rule in spec.rules
        if not rule.repository_filters or any(fnmatch.fnmatchcase(repository, f) for f in rule.repository_filters)
    ]


def what_if(spec: SigningConfiguration | None, repositories: Sequence[str]) -> pd.DataFrame:
    """For each repository name, the profiles (by name) that would sign a push to it; empty: not signed."""
    import pandas as pd

    rows = [(name, ", ".join(arn.rsplit("/", 1)[-1] for arn in signs(spec, name))) for name in repositories]
    return pd.DataFrame(rows, columns=["repository", "signed_with"])


def profile_arn(registry: Registry, name_or_arn: str) -> str:
    """A Signer profile name becomes its ARN in this registry's account and region (profiles must be in the
    registry's region); an ARN is kept as given."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return f"arn:aws:signer:{registry.region}:{registry.account_id}:/signing-profiles/{name_or_arn}"


def single_rule(
    registry: Registry, profile: str, repository_filters: Sequence[str] = ()
) -> SigningConfiguration | None:
    """The configuration a runbook describes: one rule signing with `profile` (name or ARN) the repositories
    matching `repository_filters` (none: every repository); an empty `profile` means no configuration."""
    if not profile:
        return None
    return SigningConfiguration((SigningRule(profile_arn(registry, profile), tuple(repository_filters)),))


RULE_FIELDS = ("signing_profile", "repository_filters")


def listed_rules(registry: Registry, items: Sequence[Any], parameter: str) -> tuple[SigningRule, ...]:
    """Rules spelled as the runbook spells its own: `{"signing_profile": name or ARN, "repository_filters": [...]}`
    (filters optional; none: every repository), as `remove_rules` lists the rules to take out. A bad rule raises
    `ValidationError` naming `parameter`, the rule and its field, so it is refused before anything runs."""
    shape = 'each rule must be {"signing_profile": NAME or ARN, "repository_filters": [WILDCARD filters]}'
    rules = []
    for item in items:
        if not isinstance(item, Mapping):
            raise ValidationError(parameter, item, shape)
        unknown = sorted(set(item) - set(RULE_FIELDS))
        if unknown:
            raise ValidationError(parameter, item, f"has unknown field {unknown[0]}; {shape}")
        profile = item.get("signing_profile")
        if not isinstance(profile, str) or not profile:
            raise ValidationError(parameter, item, f"signing_profile must be a Signer profile name or ARN; {shape}")
        filters = item.get("repository_filters", [])
        if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
            raise ValidationError(parameter, item, "repository_filters must be a list of WILDCARD repository filters")
        try:
            rules.append(SigningRule(profile_arn(registry, profile), tuple(filters)))
        except ValidationError as error:
            field = "signing_profile" if error.field == "signing_profile_arn" else error.field
            raise ValidationError(parameter, item, f"{field} {error.rule}") from None
    return tuple(rules)


def rule_parameters(registry: Registry, rule: SigningRule) -> dict[str, Any]:
    """`rule` as `listed_rules` reads it, its profile by name when the name means that ARN in this registry (a
    command that reads the same in every account), else by ARN."""
    name = rule.signing_profile_arn.rsplit("/", 1)[-1]
    profile = name if profile_arn(registry, name) == rule.signing_profile_arn else rule.signing_profile_arn
    return {"signing_profile": profile, "repository_filters": list(rule.repository_filters)}


def read(registry: Registry) -> SigningConfiguration | None:
    """The registry's signing configuration, or None when it has none."""
    api = signing_setting().read(registry)
    return None if api is None else SigningConfiguration(tuple(SigningRule.from_api(r) for r in api["rules"]))


def plan(
    registry: Registry,
    spec: SigningConfiguration | None,
    *,
    remove: Iterable[SigningRule] = (),
    remove_unlisted: bool = False,
) -> Plan:
    """Add `spec`'s rules (None: none) to the registry's signing configuration, keeping every other team's rule.

    `remove` names rules to take out; `remove_unlisted` takes out every rule `spec` does not list (with no rules
    left the configuration is deleted). Each removal is listed in the plan.
    """
    setting = signing_setting()
    current = RULE_PARTS.split(setting.read(registry))
    rules = () if spec is None else spec.rules
    # A rule already there is kept as the registry spells it: it is the same part.
    wanted = {rule_key(r.to_api()): current.get(rule_key(r.to_api()), r.to_api()) for r in rules}
    removals = tuple(rule_key(rule.to_api()) for rule in remove)
    result = make_plan(registry, [(setting, Wanted(wanted, removals, remove_unlisted))])
    for change in result.changes:
        count = len((change.after or {}).get("rules", []))
        if count > MAX_RULES:
            raise ValidationError(
                "rules", count, f"at most {MAX_RULES} signing rules per registry (with the rules of others kept)"
            )
    return result


def signing_status(
    registry: Registry, repository: str, tag: str | None = None, digest: str | None = None
) -> pd.DataFrame:
    """One row per signing profile that signs (or signed) the image: profile, status, failure."""
    import pandas as pd

    image_id = {"imageTag": tag} if tag else {"imageDigest": digest}
    answer = registry.client().describe_image_signing_status(repositoryName=repository, imageId=image_id)
    rows = [
        (s["signingProfileArn"], s["status"], s.get("failureCode", ""), s.get("failureReason", ""))
        for s in answer["signingStatuses"]
    ]
    return pd.DataFrame(rows, columns=["signing_profile", "status", "failure_code", "failure_reason"])


def referrers(registry: Registry, repository: str, digest: str, artifact_type: str | None = None) -> pd.DataFrame:
    """The artifacts that refer to image `digest` (signatures, SBOMs), in push order."""
    import pandas as pd

    ecr = registry.client()
    params: dict[str, Any] = {"repositoryName": repository, "subjectId": {"imageDigest": digest}}
    if artifact_type:
        params["filter"] = {"artifactTypes": [artifact_type]}
    rows = []
    while True:
        answer = ecr.list_image_referrers(**params)
        rows += [(r["digest"], r.get("artifactType", ""), r["mediaType"], r["size"]) for r in answer["referrers"]]
        if "nextToken" not in answer:
            break
        params["nextToken"] = answer["nextToken"]
    return pd.DataFrame(rows, columns=["digest", "artifact_type", "media_type", "size"])


def check_parameters(params: Mapping[str, Any]) -> None:
    """Check the `signing` runbook's coerced parameters as the spec will (a profile name is checked as the ARN it
    becomes), raising `ValidationError` naming the parameter; no registry needed."""
    filters = params["repository_filters"]
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        raise ValidationError("repository_filters", filters, "must be a list of WILDCARD repository filters")
    profile = params["signing_profile"] or ""
    if not profile:
        return
    arn = (
        profile
        if profile.startswith("arn:")
        else f"arn:aws:signer:{params['region']}:000000000000:/signing-profiles/{profile}"
    )
    try:
        SigningRule(arn, tuple(filters))
    except ValidationError as error:
        field = "signing_profile" if error.field == "signing_profile_arn" else error.field
        raise ValidationError(field, profile if field == "signing_profile" else error.value, error.rule) from None
