"""Automatic checks for the notebooks' exercises: right or wrong, and why, in one sentence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ecrlab import lifecycle
from ecrlab.archive import ArchivePolicy
from ecrlab.errors import ValidationError
from ecrlab.permissions import simulate
from ecrlab.pull_through_cache import PullThroughCacheRule
from ecrlab.pull_through_cache_rules import covers, upstream_repository
from ecrlab.pull_time_exclusions import PullTimeExclusions
from ecrlab.replication import ReplicationSpec
from ecrlab.replication_rules import routes
from ecrlab.scan_rules import resolve as scanning_of
from ecrlab.scanning import ScanningSpec
from ecrlab.signing import SigningConfiguration, signs
from ecrlab.template_rules import creation_needs_role, resolve
from ecrlab.templates import TemplateSpec

_ACCOUNT = "123456789012"


def _kind(value: object) -> str:
    """A learner's value named in words: "the number 3", "the text 'abc'", "a list"."""
    if isinstance(value, bool):
        return f"the value {value}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "…"
        return f"the text {shown!r}"
    article = "an" if type(value).__name__[:1].lower() in "aeiou" else "a"
    return f"{article} {type(value).__name__}"


_ALL_ECR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}


def check_only_ci_deletes(policy: dict[str, Any] | None) -> str:
    """Exercise 01: a registry policy under which only ci-role deletes repositories and everyone may create."""
    if policy is None:
        return "Not yet: set my_policy to a registry policy document (a dict) and run this cell again."
    if not isinstance(policy, dict):
        return f"Not yet: my_policy must be a policy document (a dict with Version and Statement), not {_kind(policy)}."
    resource = f"arn:aws:ecr:us-east-1:{_ACCOUNT}:repository/app"
    cases = [
        ("ci-role", "ecr:DeleteRepository", True),
        ("dev-role", "ecr:DeleteRepository", False),
        ("dev-role", "ecr:CreateRepository", True),
        ("ci-role", "ecr:CreateRepository", True),
    ]
    for role, action, expected in cases:
        try:
            decision = simulate(
                f"arn:aws:iam::{_ACCOUNT}:role/{role}",
                action,
                resource,
                identity_policies={"ecr-all": _ALL_ECR},
                registry_policy=policy,
                resource_account=_ACCOUNT,
            )
        except ValidationError as error:  # what ECR's SetRegistryPolicy would refuse, said the same way
            return f"Not yet: ECR would refuse this policy. {error}"
        if decision.allowed != expected:
            verb = "may" if expected else "must not"
            return (
                f"Not yet: {role} {verb} perform {action}, but the simulator says {decision.outcome}. "
                f"{decision.explanation}"
            )
    return "Right: only ci-role can delete repositories, and creating is still open to everyone in the account."


def check_k8s_pause_rule(rule: PullThroughCacheRule | None) -> str:
    """Exercise 02: nodes pull registry.k8s.io/pause:3.9 from ECR as <registry>/k8s/pause:3.9."""
    if rule is None:
        return "Not yet: set my_rule to a PullThroughCacheRule and run this cell again."
    if not isinstance(rule, PullThroughCacheRule):
        return 'Not yet: my_rule must be a PullThroughCacheRule, e.g. PullThroughCacheRule("...", "...").'
    if rule.upstream_registry_url != "registry.k8s.io":
        return f"Not yet: the rule caches {rule.upstream_registry_url}, but pause comes from the host registry.k8s.io."
    api = rule.to_api()
    if not covers(rule.ecr_repository_prefix, "k8s/pause"):
        return (
            f"Not yet: prefix '{rule.ecr_repository_prefix}' does not cover k8s/pause; the prefix is the first part "
            "of the ECR path, and everything after it is the upstream repository."
        )
    upstream = upstream_repository(api, "k8s/pause")
    if upstream != "pause":
        return (
            f"Not yet: a pull of k8s/pause:3.9 would fetch registry.k8s.io/{upstream}:3.9. With prefix "
            f"'{rule.ecr_repository_prefix}' and upstream prefix '{rule.upstream_repository_prefix}', ECR maps "
            "<prefix>/<rest> to <upstream prefix>/<rest>."
        )
    return (
        "Right: k8s/pause:3.9 in your registry is registry.k8s.io/pause:3.9 upstream; the host is the rule's URL "
        "and the path after the prefix is the upstream repository."
    )


def _expires_untagged_after_a_day(spec: TemplateSpec) -> bool:
    now = datetime(2025, 6, 2, 9, tzinfo=UTC)
    old_untagged = lifecycle.Image("sha256:old-untagged", (), now - timedelta(days=2))
    new_untagged = lifecycle.Image("sha256:new-untagged", (), now - timedelta(hours=1))
    old_tagged = lifecycle.Image("sha256:old-tagged", ("run-1",), now - timedelta(days=30))
    acted_on = lifecycle.evaluate(spec.lifecycle_policy, [old_tagged, old_untagged, new_untagged], now)
    return [(o.image.digest, o.action) for o in acted_on] == [("sha256:old-untagged", "expire")]


def check_ml_templates(specs: Sequence[TemplateSpec] | None) -> str:
    """Exercise 03: pushes create immutable repos under ml/, self-cleaning mutable ones under ml/experiments/."""
    if specs is None or (isinstance(specs, (list, tuple)) and not specs):
        return "Not yet: set my_templates to a list of TemplateSpec and run this cell again."
    if isinstance(specs, TemplateSpec):
        return "Not yet: my_templates must be a list of TemplateSpec; put this one in brackets: [TemplateSpec(...)]."
    if not isinstance(specs, (list, tuple)):
        return f"Not yet: my_templates must be a list of TemplateSpec, not {_kind(specs)}."
    if not all(isinstance(spec, TemplateSpec) for spec in specs):
        return 'Not yet: my_templates must be a list of TemplateSpec, e.g. [TemplateSpec("ml", "CREATE_ON_PUSH")].'
    serving = resolve(specs, "ml/serving", "CREATE_ON_PUSH")
    experiment = resolve(specs, "ml/experiments/run-7", "CREATE_ON_PUSH")
    elsewhere = resolve(specs, "web/frontend", "CREATE_ON_PUSH")
    chosen: list[TemplateSpec] = []
    for resolution in (serving, experiment):
        if resolution.template is None:
            return f"Not yet: a push to {resolution.repository_name} would be refused. {resolution.explanation}"
        if creation_needs_role(resolution.template.to_api()):
            return (
                f"Not yet: template '{resolution.template.prefix}' sets tags or KMS without custom_role_arn, so "
                f"ECR would fail to create {resolution.repository_name}."
            )
        chosen.append(resolution.template)
    serving_template, experiment_template = chosen
    if serving_template.image_tag_mutability != "IMMUTABLE":
        return (
            f"Not yet: ml/serving would get {serving_template.image_tag_mutability} tags from template "
            f"'{serving_template.prefix}'; serving images need IMMUTABLE."
        )
    if experiment_template.image_tag_mutability != "MUTABLE":
        return (
            f"Not yet: ml/experiments/run-7 would get {experiment_template.image_tag_mutability} tags from template "
            f"'{experiment_template.prefix}'; experiments retag freely, so they need MUTABLE."
        )
    if not experiment_template.lifecycle_policy or not _expires_untagged_after_a_day(experiment_template):
        return (
            f"Not yet: template '{experiment_template.prefix}' must expire untagged images pushed more than 1 day "
            "ago and nothing else (tagStatus untagged, countType sinceImagePushed, countUnit days, countNumber 1)."
        )
    if elsewhere.template is not None:
        return (
            f"Not yet: template '{elsewhere.template.prefix}' would also create web/frontend on push; only ml/ "
            "should be created on push."
        )
    return (
        "Right: the most specific prefix wins, so ml/experiments/ gets mutable, self-cleaning repositories while "
        "the rest of ml/ stays immutable, and a push anywhere else is still refused."
    )


def _label(destination: tuple[str, str]) -> str:
    return "/".join(destination)


def check_prod_replication(spec: ReplicationSpec | None) -> str:
    """Exercise 04: prod/ mirrored to eu-west-1 with deletes, kept in the DR account without; nothing else moves."""
    if spec is None:
        return "Not yet: set my_spec to a ReplicationSpec and run this cell again."
    if not isinstance(spec, ReplicationSpec):
        return "Not yet: my_spec must be a ReplicationSpec, e.g. ReplicationSpec((ReplicationRule.parse(...),))."
    mirror, dr = (_ACCOUNT, "eu-west-1"), ("444455556666", "us-west-2")
    rules = spec.to_api()["rules"]
    for repository in ("products/catalog", "dev/api", "prod/api", "prod/web/frontend"):
        routed = routes(rules, repository)
        deletes = {d: any(spec.rules[i].delete_replication for i in idx) for d, idx in routed.items()}
        if not repository.startswith("prod/"):
            if routed:
                rule_numbers = {i for indexes in routed.values() for i in indexes}
                loose = [p for i in sorted(rule_numbers) for p in spec.rules[i].prefixes if repository.startswith(p)]
                why = (
                    f"the prefix '{loose[0]}' matches it too, as a PREFIX_MATCH filter is a plain string prefix"
                    if loose
                    else "a rule without prefixes takes every repository, and only prod/ should replicate"
                )
                return f"Not yet: {repository} would replicate to {', '.join(map(_label, routed))}; {why}."
            continue
        for destination in (mirror, dr):
            if destination not in routed:
                return f"Not yet: {repository} would not reach {_label(destination)}."
        extra = [d for d in routed if d not in (mirror, dr)]
        if extra:
            return f"Not yet: {repository} would also go to {', '.join(map(_label, extra))}."
        if not deletes[mirror]:
            return (
                f"Not yet: deleting an image in {repository} would leave it in {_label(mirror)}; turn "
                "delete_replication on for the rule that sends prod/ there."
            )
        if deletes[dr]:
            return (
                f"Not yet: a mistaken delete in {repository} would also delete the copy in {_label(dr)}; "
                "deleteReplication is per rule, so give the DR destination a rule of its own without it."
            )
    return (
        "Right: two rules, because deleteReplication belongs to a rule: eu-west-1 mirrors prod/ deletions included, "
        "the DR account keeps every image, and products/catalog stays home because the prefix ends with '/'."
    )


def check_prod_scanning(spec: ScanningSpec | None) -> str:
    """Exercise 05: scan on push the prod* and *-release repositories and nothing else, keeping manual scans."""
    if spec is None:
        return "Not yet: set my_spec to a ScanningSpec and run this cell again."
    if not isinstance(spec, ScanningSpec):
        return 'Not yet: my_spec must be a ScanningSpec, e.g. ScanningSpec("BASIC", on_push=["..."]).'
    configuration = spec.to_api()
    for name in ("prod", "prod-api", "prod/web", "payments-release"):
        decision = scanning_of(configuration, name)
        if not decision.scanned_on_push:
            return f"Not yet: a push to {name} would not be scanned ({decision.summary})."
    for name in ("nonprod-sandbox", "app-prod", "preprod", "release-notes"):
        decision = scanning_of(configuration, name)
        if decision.scanned_on_push:
            culprit = decision.applied_filters[0] if decision.applied_filters else ""
            why = (
                "a filter without '*' matches every name that contains it"
                if "*" not in culprit
                else "with '*' a filter must match the whole name, '*' standing for any characters"
            )
            return f"Not yet: {name} would be scanned on push too, matched by '{culprit}': {why}."
    if spec.scan_type != "BASIC":
        return (
            "Not yet: under ENHANCED the other repositories would not be scanned at all, not even by hand; "
            "BASIC keeps manual scans (StartImageScan) everywhere."
        )
    return (
        "Right: 'prod*' and '*-release' match whole names, so nonprod-sandbox and app-prod stay out, and BASIC "
        "still lets anyone start a manual scan in the other repositories."
    )


_RELEASE = f"arn:aws:signer:us-east-1:{_ACCOUNT}:/signing-profiles/release"


def check_release_signing(spec: SigningConfiguration | None) -> str:
    """Exercise 07: the release profile signs pushes to repositories under prod/ and those ending -release, once."""
    if spec is None:
        return "Not yet: set my_spec to a SigningConfiguration and run this cell again."
    if not isinstance(spec, SigningConfiguration):
        return "Not yet: my_spec must be a SigningConfiguration((SigningRule(...), ...))."
    signed = ["prod/api", "prod/web/frontend", "payments-release"]
    unsigned = ["products/catalog", "tools/ci", "release-notes", "prod"]
    for name in signed:
        profiles = signs(spec, name)
        if profiles.count(_RELEASE) != 1 or len(profiles) != 1:
            found = ", ".join(p.rsplit("/", 1)[-1] for p in profiles) or "no profile"
            return f"Not yet: a push to {name} must be signed once, by the release profile; it would be by {found}."
    for name in unsigned:
        if signs(spec, name):
            return (
                f"Not yet: {name} would be signed too. A WILDCARD filter matches the whole name, so prod* also "
                "takes products/…, and a rule without filters signs every repository."
            )
    return "Right: prod/… and …-release are signed once by release, and nothing else is."


def check_archive_policy(policy: ArchivePolicy | None) -> str:
    """Exercise 08: archive what nobody pulled for 180 days, even if it is old but deployed; delete after 2 years."""
    if policy is None:
        return "Not yet: set my_policy to an ArchivePolicy and run this cell again."
    if not isinstance(policy, ArchivePolicy):
        return f"Not yet: my_policy must be an ArchivePolicy(...), not {_kind(policy)}."
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def days_ago(days: int) -> datetime:
        return now - timedelta(days=days)

    cases = [  # (image, expected action or None, why)
        (lifecycle.Image("sha256:a", ("1.0",), days_ago(400), days_ago(1)), None, "1.0 is old but pulled yesterday"),
        (lifecycle.Image("sha256:b", ("1.1",), days_ago(200)), "transition", "1.1 was never pulled in 200 days"),
        (lifecycle.Image("sha256:c", ("1.2",), days_ago(100)), None, "1.2 was pushed only 100 days ago"),
        (
            lifecycle.Image("sha256:d", ("0.9",), days_ago(1000), None, "archive", days_ago(800)),
            "expire",
            "0.9 has been in the archive for 800 days",
        ),
        (
            lifecycle.Image("sha256:e", ("0.8",), days_ago(1000), None, "archive", days_ago(400)),
            None,
            "0.8 has been in the archive only 400 days",
        ),
    ]
    acted = {o.image.digest: o.action for o in lifecycle.evaluate(policy.policy_text(), [c[0] for c in cases], now)}
    for image, expected, why in cases:
        if acted.get(image.digest) != expected:
            wanted = {None: "be left alone", "transition": "be archived", "expire": "be deleted"}[expected]
            done = {None: "keep it", "transition": "archive it", "expire": "delete it"}[acted.get(image.digest)]
            return f"Not yet: {why}, so it should {wanted}; your policy would {done}."
    return "Right: what is deployed stays, unused images are archived after 180 days, and deleted two years later."


def check_scanner_exclusion(spec: PullTimeExclusions | None) -> str:
    """Exercise 09: exclude the scanner seen in CloudTrail as assumed-role/wiz-scanner/session-42, and only it."""
    if spec is None:
        return "Not yet: set my_spec to a PullTimeExclusions and run this cell again."
    if not isinstance(spec, PullTimeExclusions):
        return f"Not yet: my_spec must be a PullTimeExclusions(...), not {_kind(spec)}."
    wanted = f"arn:aws:iam::{_ACCOUNT}:role/wiz-scanner"
    if spec.principal_arns != (wanted,):
        return (
            f"Not yet: the exclusion names the IAM role the session belongs to ({wanted}), and only that role; "
            f"yours lists {list(spec.principal_arns)}."
        )
    return "Right: every session of the wiz-scanner role now pulls without moving lastRecordedPullTime."
