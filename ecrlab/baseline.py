"""A registry baseline: templates, pull through cache, scanning with alerts, the registry policy and
replication as one spec, planned and applied together, with a compliance report before and after.

This is the seed tutorial's closing advice made executable: every part is the feature's own spec and plan,
combined into one plan so one guard, one backup and one verification cover the whole change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecrlab import checks
from ecrlab.errors import ValidationError
from ecrlab.plan import Plan, combine

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.permissions import RegistryPolicy
    from ecrlab.pull_through_cache import PullThroughCacheRule
    from ecrlab.pull_time_exclusions import PullTimeExclusions
    from ecrlab.registry import Registry
    from ecrlab.replication import ReplicationSpec
    from ecrlab.scanning import ScanningSpec
    from ecrlab.signing import SigningConfiguration
    from ecrlab.templates import TemplateSpec

ALERT_TARGETS = ("sqs", "sns")  # what scan_alerts.alert_on_critical delivers to
COMPLIANCE_COLUMNS = ["feature", "setting", "compliant"]


@dataclass(frozen=True)
class Baseline:
    """Desired state across features; a part left empty (or None) is not managed."""

    templates: tuple[TemplateSpec, ...] = ()
    pull_through_cache: tuple[PullThroughCacheRule, ...] = ()
    scanning: ScanningSpec | None = None
    alert_target: str | None = None
    registry_policy: RegistryPolicy | None = None
    replication: ReplicationSpec | None = None
    signing: SigningConfiguration | None = None  # needs an AWS Signer profile, so only when one is named
    pull_time_exclusions: PullTimeExclusions | None = None  # scanner roles whose pulls keep no image alive
    remove_unlisted: bool = False  # shared settings: also remove others' statements, rules and filters
    keep_scan_type: bool = False  # plan `scanning`'s filters with the registry's scan type, whatever it is

    def __post_init__(self) -> None:
        from ecrlab.permissions import RegistryPolicy
        from ecrlab.pull_through_cache import PullThroughCacheRule
        from ecrlab.pull_time_exclusions import PullTimeExclusions
        from ecrlab.replication import ReplicationSpec
        from ecrlab.scanning import ScanningSpec
        from ecrlab.signing import SigningConfiguration
        from ecrlab.templates import TemplateSpec

        object.__setattr__(self, "templates", checks.items("templates", self.templates, TemplateSpec, "TemplateSpec"))
        rules = checks.items(
            "pull_through_cache", self.pull_through_cache, PullThroughCacheRule, "PullThroughCacheRule"
        )
        object.__setattr__(self, "pull_through_cache", rules)
        for name, kind in (
            ("scanning", ScanningSpec),
            ("registry_policy", RegistryPolicy),
            ("replication", ReplicationSpec),
            ("signing", SigningConfiguration),
            ("pull_time_exclusions", PullTimeExclusions),
        ):
            if getattr(self, name) is not None:
                checks.instance(name, getattr(self, name), kind, f"a {kind.__name__} or None")
        checks.flag("remove_unlisted", self.remove_unlisted)
        checks.flag("keep_scan_type", self.keep_scan_type)
        if checks.optional_text("alert_target", self.alert_target) not in (None, "", *ALERT_TARGETS):
            raise ValidationError("alert_target", self.alert_target, "must be sqs, sns or None")

    @classmethod
    def from_parameters(cls, params: Mapping[str, Any], registry: Registry) -> Baseline:
        """The baseline a runbook's validated parameters describe (see the `baseline` runbook's schema)."""
        from ecrlab import principals, signing
        from ecrlab.permissions import registry_policy
        from ecrlab.pull_through_cache import PullThroughCacheRule
        from ecrlab.pull_time_exclusions import PullTimeExclusions
        from ecrlab.replication import ReplicationSpec
        from ecrlab.scanning import ScanningSpec
        from ecrlab.templates import TemplateSpec

        account, region = registry.account_id, registry.region
        template = TemplateSpec(
            params["template_prefix"],
            tuple(params["template_applied_for"]),
            image_tag_mutability=params["template_image_tag_mutability"],
        )
        return cls(
            templates=(template,),
            pull_through_cache=tuple(PullThroughCacheRule(**rule) for rule in params["pull_through_cache_rules"]),
            scanning=ScanningSpec(on_push=tuple(params["scan_on_push_filters"])),
            # The registry's scan type is kept: switching it would hide or start every other team's findings.
            keep_scan_type=True,
            alert_target=None if params.get("alert_target") in (None, "none") else params["alert_target"],
            registry_policy=registry_policy.from_intents(
                account,
                region,
                admin_principals=principals.role_arns(registry, params["admin_roles"]),
                replication_sources=params["replication_source_accounts"],
                pull_through_cache_principals=principals.role_arns(registry, params["pull_through_cache_roles"]),
                pull_through_cache_prefix=[rule["ecr_repository_prefix"] for rule in params["pull_through_cache_rules"]]
                or "ROOT",
            ),
            replication=ReplicationSpec.single_rule(account, params["replication_destinations"]),
            signing=signing.single_rule(registry, params.get("signing_profile") or ""),
            pull_time_exclusions=PullTimeExclusions(
                tuple(principals.role_arns(registry, params.get("pull_time_update_exclusions", [])))
            )
            if params.get("pull_time_update_exclusions")
            else None,
            remove_unlisted=bool(params.get("remove_unlisted")),
        )

    def plan(self, registry: Registry) -> Plan:
        """One plan; templates first so repositories that later parts create already get them. Shared settings
        (registry policy, scanning, alert, replication, signing) get the baseline's parts and keep everyone else's."""
        from ecrlab import (
            pull_through_cache,
            pull_time_exclusions,
            replication,
            scan_alerts,
            scanning,
            signing,
            templates,
        )
        from ecrlab.permissions import registry_policy

        plans = [templates.plan(registry, *self.templates)]
        if self.registry_policy is not None:
            plans.append(registry_policy.plan(registry, self.registry_policy, remove_unlisted=self.remove_unlisted))
        plans.append(pull_through_cache.plan(registry, *self.pull_through_cache))
        if self.scanning is not None:
            plans.append(
                scanning.plan(
                    registry,
                    self.scanning,
                    remove_unlisted=self.remove_unlisted,
                    keep_scan_type=self.keep_scan_type,
                )
            )
        if self.alert_target:
            plans.append(scan_alerts.alert_on_critical(registry, self.alert_target))
        if self.replication is not None:
            plans.append(replication.plan(registry, self.replication, remove_unlisted=self.remove_unlisted))
        if self.signing is not None:
            plans.append(signing.plan(registry, self.signing, remove_unlisted=self.remove_unlisted))
        if self.pull_time_exclusions is not None:
            exclusions = self.pull_time_exclusions
            plans.append(pull_time_exclusions.plan(registry, exclusions, remove_unlisted=self.remove_unlisted))
        return combine(*plans)


def compliance(registry: Registry, baseline: Baseline) -> pd.DataFrame:
    """Every setting the baseline manages: compliant when the registry already holds the desired value."""
    import pandas as pd

    plan = baseline.plan(registry)
    changed = {change.setting.address for change in plan.changes}
    rows = [
        {"feature": address.split("/", 1)[0], "setting": address, "compliant": address not in changed}
        for address in plan.checked
    ]
    return pd.DataFrame(rows, columns=COMPLIANCE_COLUMNS)
