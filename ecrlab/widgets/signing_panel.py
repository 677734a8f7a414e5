"""The managed signing panel: one signing rule (an AWS Signer profile and the repositories it signs on push).

Like every ecrlab form it edits a spec (`SigningConfiguration`, built by `signing.single_rule`) and its buttons call
`signing.plan` and the plan engine. The form edits the rule it opened with (the registry's first rule): a changed
rule replaces that one, an empty profile removes it, and every other team's rule stays. Copy as runbook names the
replaced rule in `remove_rules`, so the command plans what the form plans.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecrlab import signing
from ecrlab.parameters import runbook
from ecrlab.widgets.form import SpecForm, lines, text

if TYPE_CHECKING:
    from ecrlab.plan import Plan
    from ecrlab.registry import Registry


def runbook_parameters(values: dict[str, Any], removed: list[dict[str, Any]]) -> dict[str, Any]:
    """The `signing` runbook parameters for the form's values and the rules it takes out (as `remove_rules` spells
    them), only those that differ from the defaults."""
    wanted = {
        "signing_profile": values["signing_profile_arn"] or "",
        "repository_filters": list(values["repository_filters"]),
        "remove_rules": removed,
    }
    defaults = {p.name: p.default for p in runbook("signing").parameters}
    return {name: value for name, value in wanted.items() if value != defaults[name]}


def signing_form(registry: Registry, **apply_options: Any) -> SpecForm:
    """A form over the registry's signing rule, starting from its first current rule (if any)."""
    current = signing.read(registry)
    first = current.rules[0] if current and current.rules else None
    initial = {
        "signing_profile_arn": first.signing_profile_arn if first else "",
        "repository_filters": first.repository_filters if first else (),
    }
    fields = [
        text(
            "signing_profile_arn",
            "Signer profile",
            "a profile name in this account and region, or its ARN; empty: no signing",
        ),
        lines("repository_filters", "Repository filters", "one WILDCARD filter per line; none: every repository"),
    ]

    def build(signing_profile_arn: str | None, repository_filters: tuple[str, ...]) -> signing.SigningConfiguration:
        configured = signing.single_rule(registry, signing_profile_arn or "", repository_filters)
        return configured or signing.SigningConfiguration(())

    # The rule this form edits: the one it opened with, then whatever its last apply wrote.
    edited = {"rule": first, "planned": first}

    def replaced(spec: signing.SigningConfiguration) -> list[signing.SigningRule]:
        """The edited rule, when `spec` no longer holds it: Plan and Copy as runbook both take it out."""
        rule = edited["rule"]
        return [rule] if rule is not None and rule not in spec.rules else []

    def plan(registry: Registry, spec: signing.SigningConfiguration) -> Plan:
        edited["planned"] = spec.rules[0] if spec.rules else None
        return signing.plan(registry, spec, remove=replaced(spec))

    def applied(registry: Registry) -> str:
        edited["rule"] = edited["planned"]
        return ""

    def parameters(values: dict[str, Any]) -> dict[str, Any]:
        removed = [signing.rule_parameters(registry, rule) for rule in replaced(build(**values))]
        return runbook_parameters(values, removed)

    return SpecForm(
        registry,
        fields,
        build,
        plan,
        initial,
        after_apply=applied,
        runbook=("signing", parameters),
        **apply_options,
    )
