"""Each runbook's parameters checked by the feature's own spec, before any cell runs.

A runbook's notebook builds its spec (`ReplicationSpec`, `TemplateSpec`, …) from its parameters; building that
spec here, from the same parameters, applies exactly the rules the notebook would hit at cell 17 — without a
second copy of them. What a spec calls a field is mapped back to the parameter the user typed, so the error
names `-p repository_prefixes`, not the spec's `prefixes`. `ecrlab.parameters.Runbook.validate` calls `check`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ecrlab.errors import ValidationError

if TYPE_CHECKING:
    from ecrlab.registry import Registry

# Whose account a spec is built for when the parameters do not say: any valid id, as only the shape is checked.
PLACEHOLDER_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Where:
    """What specs read from a registry to be built (its account and region); no AWS call is made."""

    account_id: str
    region: str


@dataclass(frozen=True)
class Part:
    """One spec built from parameters. Errors about a field the runbook has no parameter for name `parameter`."""

    parameter: str
    build: Callable[[Mapping[str, Any], Where], object]
    fields: Mapping[str, str] = field(default_factory=dict)  # spec field -> parameter, where the names differ


CHECKS: dict[str, tuple[Part, ...]] = {}


def register(feature: str, *parts: Part) -> None:
    """Make `parts` part of `feature`'s validation (later registrations add to earlier ones)."""
    CHECKS[feature] = CHECKS.get(feature, ()) + parts


def check(feature: str, params: Mapping[str, Any]) -> None:
    """Build every spec of `feature` from coerced `params`; `ValidationError` names the parameter and the rule."""
    where = Where(params.get("expected_account_id") or PLACEHOLDER_ACCOUNT, params.get("region") or "us-east-1")
    for part in CHECKS.get(feature, ()):
        try:
            part.build(params, where)
        except ValidationError as error:
            name = part.fields.get(error.field, error.field)
            if name in params:
                raise ValidationError(name, error.value, error.rule) from None
            raise ValidationError(part.parameter, error.value, f"{error.field} {error.rule}") from None


def objects(parameter: str, items: list[Any], spec: type) -> list[Any]:
    """`spec(**item)` for each item, refusing what would be a `TypeError`: not an object, an unknown or a missing
    field, or a field that is not text (every field of these specs is text)."""
    names = [f.name for f in dataclasses.fields(spec)]
    required = [
        f.name
        for f in dataclasses.fields(spec)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    shape = f"an object with {', '.join(required)} and optionally {', '.join(n for n in names if n not in required)}"
    built = []
    for item in items:
        if not isinstance(item, dict):
            raise ValidationError(parameter, item, f"each item must be {shape}")
        unknown = sorted(set(item) - set(names))
        if unknown:
            raise ValidationError(parameter, item, f"has unknown field {unknown[0]}; each item must be {shape}")
        missing = [name for name in required if name not in item]
        if missing:
            raise ValidationError(parameter, item, f"lacks {missing[0]}; each item must be {shape}")
        for key, value in item.items():
            if not isinstance(value, str):
                raise ValidationError(parameter, item, f"field {key} must be text")
        try:
            built.append(spec(**item))
        except ValidationError as error:
            raise ValidationError(parameter, error.value, f"{error.field} {error.rule}") from None
    return built


def role_arns(parameter: str, names: list[str], where: Where) -> list[str]:
    """Role names or ARNs as the notebooks turn them into ARNs, each checked against IAM's role ARN rule."""
    from ecrlab import principals
    from ecrlab.template_rules import ROLE_ARN

    arns = principals.role_arns(cast("Registry", where), names)
    for name, arn in zip(names, arns, strict=True):
        if not ROLE_ARN.fullmatch(arn):
            raise ValidationError(parameter, name, "must be an IAM role name or ARN (arn:aws:iam::<account>:role/NAME)")
    return arns


def _permissions(params: Mapping[str, Any], where: Where) -> object:
    from ecrlab.ecr_model import check as check_shape
    from ecrlab.permissions import registry_policy

    check_shape(
        "PullThroughCacheRuleRepositoryPrefix", "pull_through_cache_prefix", params["pull_through_cache_prefix"]
    )
    return registry_policy.from_intents(
        where.account_id,
        where.region,
        admin_principals=role_arns("admin_roles", params["admin_roles"], where),
        replication_sources=params["replication_source_accounts"],
        pull_through_cache_principals=role_arns("pull_through_cache_roles", params["pull_through_cache_roles"], where),
        pull_through_cache_prefix=params["pull_through_cache_prefix"],
    )


def _pull_through_cache(params: Mapping[str, Any], where: Where) -> object:
    from ecrlab.pull_through_cache import PullThroughCacheRule

    return objects("rules", params["rules"], PullThroughCacheRule)


def _templates(params: Mapping[str, Any], where: Where) -> object:
    from ecrlab import templates
    from ecrlab.templates import TemplateSpec

    values = {name: params[name] for name in templates.SPEC_FIELDS.values() if name in params}
    if values.get("custom_role_arn"):
        values["custom_role_arn"] = role_arns("custom_role_arn", [values["custom_role_arn"]], where)[0]
    return TemplateSpec(**values)


def _replication(params: Mapping[str, Any], where: Where) -> object:
    """The rules the runbook adds (its first rule's parameters and `rules`) and those it takes out."""
    from ecrlab.replication import ReplicationSpec

    try:
        ReplicationSpec.from_parameters(where.account_id, {"rules": params["remove_rules"]})
    except ValidationError as error:
        raise ValidationError("remove_rules", error.value, error.rule) from None
    return ReplicationSpec.from_parameters(where.account_id, params)


def _signing_removals(params: Mapping[str, Any], where: Where) -> object:
    """The rules the runbook takes out, built as notebook 07 builds them (a profile name becomes its ARN)."""
    from ecrlab import signing

    return signing.listed_rules(cast("Registry", where), params["remove_rules"], "remove_rules")


def _scanning(params: Mapping[str, Any], where: Where) -> object:
    from ecrlab.scanning import ScanningSpec

    return ScanningSpec(
        # No scan type keeps the registry's, unknown until the run reads it: check the filters as ENHANCED takes them.
        params["scan_type"] or "ENHANCED",
        on_push=params["scan_on_push_filters"],
        continuous=params["continuous_filters"],
    )


def _alert_name(params: Mapping[str, Any], where: Where) -> object:
    from ecrlab.alert_names import check_alert_name

    return check_alert_name("alert_name", params["alert_name"])


def _baseline(params: Mapping[str, Any], where: Where) -> object:
    from ecrlab.baseline import Baseline
    from ecrlab.pull_through_cache import PullThroughCacheRule

    objects("pull_through_cache_rules", params["pull_through_cache_rules"], PullThroughCacheRule)
    for name in ("admin_roles", "pull_through_cache_roles", "pull_time_update_exclusions"):
        role_arns(name, params.get(name, []), where)
    return Baseline.from_parameters(params, cast("Registry", where))


def _assume_role(params: Mapping[str, Any], where: Where) -> object:
    from ecrlab.template_rules import ROLE_ARN

    arn = params.get("assume_role_arn")
    if arn and not ROLE_ARN.fullmatch(arn):
        raise ValidationError("assume_role_arn", arn, "must be an IAM role ARN (arn:aws:iam::<account>:role/NAME)")
    return arn


_BASELINE_FIELDS = {
    "signing_profile_arn": "signing_profile",
    "prefix": "template_prefix",
    "applied_for": "template_applied_for",
    "image_tag_mutability": "template_image_tag_mutability",
    "on_push": "scan_on_push_filters",
    "destinations": "replication_destinations",
    "allowed_principal_arns": "admin_roles",
    "source_account_ids": "replication_source_accounts",
    "principal_arns": "pull_through_cache_roles",
}

for _feature in ("start-here", "permissions", "pull-through-cache", "templates", "replication", "scanning", "baseline"):
    register(_feature, Part("assume_role_arn", _assume_role))
_PERMISSIONS_FIELDS = {
    "allowed_principal_arns": "admin_roles",
    "source_account_ids": "replication_source_accounts",
    "principal_arns": "pull_through_cache_roles",
    "prefix": "pull_through_cache_prefix",
}
register("permissions", Part("admin_roles", _permissions, _PERMISSIONS_FIELDS))
register("pull-through-cache", Part("rules", _pull_through_cache))
register("templates", Part("prefix", _templates))
register("replication", Part("destinations", _replication, {"prefixes": "repository_prefixes"}))
register(
    "scanning",
    Part("scan_on_push_filters", _scanning, {"on_push": "scan_on_push_filters", "continuous": "continuous_filters"}),
)
register("baseline", Part("template_prefix", _baseline, _BASELINE_FIELDS))
register("scanning", Part("alert_name", _alert_name))


def _feature_check(module: str) -> Callable[[Mapping[str, Any], Where], object]:
    """The feature module's own `check_parameters`, for runbooks whose spec needs more than one constructor."""

    def build(params: Mapping[str, Any], where: Where) -> object:
        import importlib

        importlib.import_module(module).check_parameters(params)
        return None

    return build


register(
    "signing",
    Part("signing_profile", _feature_check("ecrlab.signing")),
    Part("remove_rules", _signing_removals),
)
register("archive", Part("repositories", _feature_check("ecrlab.archive")))
register("pull-time-exclusions", Part("excluded_roles", _feature_check("ecrlab.pull_time_exclusions")))
