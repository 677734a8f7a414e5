"""The parameters of every runbook notebook, described once and validated before anything runs.

papermill injects values as Python literals and turns `-p expected_account_id 012345678901` into an int, so
every value is coerced here (an account id keeps its leading zeros) and checked with errors naming the
parameter. The notebook's `parameters` cell must list exactly these names with these defaults (tested).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecrlab.errors import ValidationError

TARGETS = ("emulator", "aws")


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # str | bool | int | region | account_id | choice | json
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False
    # json only: "list[str]", "list[object]" or "object[str]"; when empty, read from the default (a list of what
    # its first item is, strings when it is empty; a dict maps strings to strings). Set it where that guess is wrong.
    schema: str = ""

    def json_schema(self) -> str:
        """The shape a json parameter's value must have."""
        if self.schema:
            return self.schema
        if isinstance(self.default, dict):
            return "object[str]"
        if self.default and isinstance(self.default[0], dict):
            return "list[object]"
        return "list[str]"

    def _shaped(self, value: Any) -> Any:
        schema = self.json_schema()
        rules = {
            "list[str]": 'must be a JSON list of strings, e.g. ["a", "b"]',
            "list[object]": 'must be a JSON list of objects, e.g. [{"field": "value"}]',
            "object[str]": 'must be a JSON object of strings, e.g. {"key": "value"}',
        }
        if schema == "object[str]":
            ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        else:
            item = str if schema == "list[str]" else dict
            ok = isinstance(value, list) and all(isinstance(v, item) for v in value)
        if not ok:
            raise ValidationError(self.name, value, rules[schema])
        return value

    def coerce(self, value: Any) -> Any:
        """The value in its Python type, or `ValidationError` naming this parameter and the rule."""
        if value is None:
            if self.kind in ("bool", "region", "choice") and self.default is not None:
                raise ValidationError(self.name, value, "must be set")
            return None
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValidationError(self.name, value, "must be True or False")
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
                raise ValidationError(self.name, value, "must be a whole number of 0 or more")
            return int(value)
        if self.kind == "account_id":
            text = f"{value:012d}" if isinstance(value, int) else str(value)
            if not re.fullmatch(r"\d{12}", text):
                raise ValidationError(self.name, value, "must be a 12-digit AWS account id")
            return text
        if self.kind == "region":
            from ecrlab.ecr_model import is_region

            if not is_region(value):
                raise ValidationError(self.name, value, "must be an AWS region such as us-east-1")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise ValidationError(self.name, value, f"must be one of {', '.join(self.choices)}")
            return value
        if self.kind == "json":
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError as error:
                    raise ValidationError(self.name, value, f"must be JSON ({error.msg})") from None
            return self._shaped(value)
        return str(value)


COMMON = (
    Parameter("target", "choice", "emulator", "where to run: the embedded emulator or AWS", TARGETS),
    Parameter("region", "region", "us-east-1", "the registry's region"),
    Parameter("profile", "str", None, "AWS profile (target aws only)"),
    Parameter("apply", "bool", False, "against AWS, write only when True (the emulator lesson always applies)"),
    Parameter("expected_account_id", "account_id", None, "the account the credentials must reach to write"),
    Parameter("assume_role_arn", "str", None, "act through this role (how `ecrlab fleet` reaches each account)"),
    Parameter(
        "reviewed_plan",
        "str",
        None,
        "a plan saved with `ecrlab run --plan-out`: write only if the registry is still as that plan read it",
    ),
)

# A parameter whose default is None and that is listed here takes its default from the target: lesson artefacts
# (a demo repository, an alert queue and rule) are made on the emulator and never unasked in a real account.
TARGET_DEFAULTS: dict[str, dict[str, Any]] = {
    "demo_repository": {"emulator": True, "aws": False},
    "alert_target": {"emulator": "sqs", "aws": "none"},
}

REMOVE_UNLISTED = Parameter(
    "remove_unlisted",
    "bool",
    False,
    "also remove every part of the shared settings (statements, rules, filters) not listed; each is named in the plan",
)


# Shared by the scanning and baseline runbooks, which set the same things.
SCAN_ON_PUSH_FILTERS = Parameter(
    "scan_on_push_filters", "json", ["*"], "WILDCARD filters of repositories scanned on push"
)
ALERT_TARGET = Parameter(
    "alert_target",
    "choice",
    None,
    "where CRITICAL findings are sent, or none (default: sqs on the emulator, none on aws)",
    ("sqs", "sns", "none"),
)


@dataclass(frozen=True)
class Runbook:
    """A notebook that runs as a runbook: its name on the command line, its file, its parameters."""

    feature: str
    notebook: str
    parameters: tuple[Parameter, ...]
    summary: str

    def parameter(self, name: str) -> Parameter:
        for item in self.parameters:
            if item.name == name:
                return item
        known = ", ".join(p.name for p in self.parameters)
        raise ValidationError(name, None, f"is not a parameter of the {self.feature} runbook (known: {known})")

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults filled in, every value coerced, cross-parameter rules checked, then the feature's spec built
        from them (`ecrlab.runbook_checks`), so a value the notebook would refuse is refused before it runs."""
        for name in values:
            self.parameter(name)
        result = {p.name: p.coerce(values.get(p.name, p.default)) for p in self.parameters}
        for name, by_target in TARGET_DEFAULTS.items():
            if name in result and result[name] is None:
                result[name] = by_target[result["target"]]
        if result["target"] == "aws" and result["apply"] and not result["expected_account_id"]:
            raise ValidationError("expected_account_id", None, "is required when target is aws and apply is True")
        if result["target"] == "emulator" and result["profile"]:
            raise ValidationError("profile", result["profile"], "only applies when target is aws")
        from ecrlab import runbook_checks  # the specs' modules: loaded only when a runbook is validated

        runbook_checks.check(self.feature, result)
        return result

    def redacted(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Values safe to write into an audit record."""
        secret = {p.name for p in self.parameters if p.secret}
        return {name: "***" if name in secret and value else value for name, value in values.items()}


RUNBOOKS = {
    runbook.feature: runbook
    for runbook in (
        Runbook(
            "start-here",
            "00_start_here.ipynb",
            (
                *COMMON,
                Parameter(
                    "demo_repository",
                    "bool",
                    None,
                    "create the lesson's repository hello-ecrlab (default: on the emulator only)",
                ),
            ),
            "connect, read the registry, create one repository (on a real account only when asked)",
        ),
        Runbook(
            "permissions",
            "01_registry_permissions.ipynb",
            (
                *COMMON,
                Parameter(
                    "admin_roles",
                    "json",
                    ["devops-role"],
                    "roles (names or ARNs) that alone may create and delete repositories; [] for no restriction",
                ),
                Parameter(
                    "replication_source_accounts", "json", [], "accounts allowed to replicate into this registry"
                ),
                Parameter("pull_through_cache_roles", "json", [], "roles allowed to fill the pull-through cache"),
                Parameter("pull_through_cache_prefix", "str", "ROOT", "cache repository prefix for those roles"),
                Parameter(
                    "force", "bool", False, "apply even a policy that locks out the caller or every admin (exit 3 else)"
                ),
                Parameter(
                    "extra_statements",
                    "json",
                    [],
                    "more statements to have in the policy, as JSON (each with a Sid; one of the same Sid is replaced)",
                ),
                Parameter("remove_statements", "json", [], "Sids of statements to take out of the registry policy"),
                REMOVE_UNLISTED,
            ),
            "the registry policy's statements from intents: repository admins, replication sources, cache users; "
            "other statements are kept",
        ),
        Runbook(
            "pull-through-cache",
            "02_pull_through_cache.ipynb",
            (
                *COMMON,
                Parameter(
                    "rules",
                    "json",
                    [
                        # The documented ECR Public form: pull ecr-public/docker/library/node (pull-through-cache.html)
                        {"ecr_repository_prefix": "ecr-public", "upstream_registry_url": "public.ecr.aws"}
                    ],
                    "pull through cache rules, each a dict of PullThroughCacheRule fields (credential_arn: an existing "
                    "ecr-pullthroughcache/ secret)",
                ),
                Parameter("delete_other_rules", "bool", False, "also delete the registry's rules not listed"),
            ),
            "pull through cache rules: which upstream registry each ECR prefix caches",
        ),
        Runbook(
            "templates",
            "03_repository_creation_templates.ipynb",
            (
                *COMMON,
                # One parameter per TemplateSpec field, same names; "" and {} mean "not set".
                Parameter("prefix", "str", "apps", "names the template covers (a '/' is assumed at its end), or ROOT"),
                Parameter(
                    "applied_for",
                    "json",
                    ["CREATE_ON_PUSH"],
                    "when ECR uses it: any of CREATE_ON_PUSH, PULL_THROUGH_CACHE, REPLICATION",
                ),
                Parameter("description", "str", "", "what the template is for"),
                Parameter(
                    "image_tag_mutability",
                    "choice",
                    "IMMUTABLE",
                    "tag mutability of the repositories it creates",
                    ("MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"),
                ),
                Parameter(
                    "image_tag_mutability_exclusion_filters", "json", [], "wildcard tags exempt from the mutability"
                ),
                Parameter("encryption_type", "choice", "AES256", "encryption at rest", ("AES256", "KMS", "KMS_DSSE")),
                Parameter("kms_key", "str", "", "full KMS key ARN (KMS or KMS_DSSE only)"),
                Parameter("resource_tags", "json", {}, "tags for every repository it creates (needs custom_role_arn)"),
                Parameter("lifecycle_policy", "str", "", "lifecycle policy JSON for every repository it creates"),
                Parameter("repository_policy", "str", "", "repository policy JSON for every repository it creates"),
                Parameter(
                    "custom_role_arn", "str", "", "role (name or ARN) ECR assumes to create them; needed for tags, KMS"
                ),
            ),
            "a repository creation template: what repositories ECR creates for you look like",
        ),
        Runbook(
            "replication",
            "04_replication.ipynb",
            (
                *COMMON,
                Parameter(
                    "destinations",
                    "json",
                    ["eu-west-1"],
                    "where images go: regions of this account (eu-west-1) or ACCOUNT/REGION; [] removes replication",
                ),
                Parameter("repository_prefixes", "json", [], "only repositories with these name prefixes; [] = all"),
                Parameter("delete_replication", "bool", False, "also replicate image deletions and tag removals"),
                Parameter(
                    "backfill", "bool", False, "also replicate the images pushed before (one backfill per destination)"
                ),
                Parameter(
                    "rules",
                    "json",
                    [],
                    "more rules, as JSON: each {destinations, repository_prefixes, delete_replication}",
                    schema="list[object]",
                ),
                Parameter(
                    "remove_rules", "json", [], "rules to take out, in the same form as rules", schema="list[object]"
                ),
                REMOVE_UNLISTED,
            ),
            "replication rules: a rule from its destinations, prefixes and delete replication, or several as JSON "
            "(other rules are kept); optionally a backfill of the images already there",
        ),
        Runbook(
            "scanning",
            "05_scanning.ipynb",
            (
                *COMMON,
                Parameter(
                    "scan_type",
                    "choice",
                    None,
                    "BASIC (OS packages) or ENHANCED (Inspector); default: keep the registry's",
                    ("BASIC", "ENHANCED"),
                ),
                SCAN_ON_PUSH_FILTERS,
                Parameter(
                    "continuous_filters", "json", [], "ENHANCED only: filters of repositories scanned continuously"
                ),
                ALERT_TARGET,
                Parameter(
                    "alert_name", "str", "ecr-critical-findings", "name of the EventBridge rule and its queue/topic"
                ),
                Parameter(
                    "remove_filters",
                    "json",
                    [],
                    'filters to take out, each "SCAN_ON_PUSH filter" or "CONTINUOUS_SCAN filter"',
                ),
                REMOVE_UNLISTED,
            ),
            "the registry scanning configuration, and an EventBridge alert on CRITICAL findings",
        ),
        Runbook(
            "baseline",
            "06_registry_baseline.ipynb",
            (
                *COMMON,
                Parameter("template_prefix", "str", "ROOT", "creation template prefix; ROOT covers every repository"),
                Parameter(
                    "template_applied_for",
                    "json",
                    ["PULL_THROUGH_CACHE", "REPLICATION", "CREATE_ON_PUSH"],
                    "when ECR applies the template",
                ),
                Parameter(
                    "template_image_tag_mutability",
                    "choice",
                    "IMMUTABLE",
                    "tag mutability of repositories ECR creates",
                    ("MUTABLE", "IMMUTABLE", "MUTABLE_WITH_EXCLUSION", "IMMUTABLE_WITH_EXCLUSION"),
                ),
                Parameter(
                    "pull_through_cache_rules",
                    "json",
                    [{"ecr_repository_prefix": "ecr-public", "upstream_registry_url": "public.ecr.aws"}],
                    "pull through cache rules (PullThroughCacheRule fields)",
                ),
                SCAN_ON_PUSH_FILTERS,
                ALERT_TARGET,
                Parameter("admin_roles", "json", ["devops-role"], "roles that alone may create or delete repositories"),
                Parameter(
                    "pull_through_cache_roles",
                    "json",
                    [],
                    "roles whose first pull fills the cache (they may create repositories under the rules' prefixes)",
                ),
                Parameter(
                    "replication_source_accounts", "json", [], "accounts allowed to replicate into this registry"
                ),
                Parameter("replication_destinations", "json", ["eu-west-1"], "regions or ACCOUNT/region to copy to"),
                Parameter(
                    "signing_profile",
                    "str",
                    "",
                    "AWS Signer profile (name or ARN) that signs every push; '' leaves managed signing alone "
                    "(a profile must exist first, and pushers need signer:SignPayload)",
                ),
                Parameter(
                    "pull_time_update_exclusions",
                    "json",
                    [],
                    "roles (names or ARNs) whose pulls do not update lastRecordedPullTime, e.g. scanners",
                ),
                REMOVE_UNLISTED,
            ),
            "templates, pull through cache, scanning with alerts, the registry policy and replication, together",
        ),
        Runbook(
            "signing",
            "07_managed_signing.ipynb",
            (
                *COMMON,
                Parameter(
                    "signing_profile",
                    "str",
                    "release",
                    "AWS Signer profile that signs on push (a name in this account and region, or its ARN); '' "
                    "adds no rule (with remove_unlisted: removes the signing configuration)",
                ),
                Parameter(
                    "repository_filters", "json", [], "WILDCARD filters of repositories signed on push; [] = all"
                ),
                Parameter(
                    "remove_rules",
                    "json",
                    [],
                    'rules to take out, each {"signing_profile": name or ARN, "repository_filters": [...]} (filters '
                    "as the rule has them, [] or left out: every repository); a rule that is not there plans nothing",
                    schema="list[object]",
                ),
                REMOVE_UNLISTED,
            ),
            "managed signing: images pushed to matching repositories are signed with an AWS Signer profile",
        ),
        Runbook(
            "archive",
            "08_archive.ipynb",
            (
                *COMMON,
                Parameter(
                    "repositories",
                    "json",
                    ["shop/api"],
                    "repositories whose lifecycle policy becomes the archive policy",
                ),
                Parameter("archive_after_days", "int", 90, "archive images not pulled (or pushed) for this many days"),
                Parameter(
                    "since", "choice", "pulled", "age images from their last pull or their push", ("pulled", "pushed")
                ),
                Parameter(
                    "delete_after_days",
                    "int",
                    None,
                    "delete archived images after this many days in archive (at least 90); None keeps them",
                ),
            ),
            "an archive policy: a lifecycle rule that moves unused images to the ARCHIVE storage class",
        ),
        Runbook(
            "pull-time-exclusions",
            "09_pull_time_exclusions.ipynb",
            (
                *COMMON,
                Parameter(
                    "excluded_roles",
                    "json",
                    ["scanner"],
                    "roles or users (names or ARNs) whose pulls do not update lastRecordedPullTime, e.g. scanners",
                ),
                Parameter("deregister_others", "bool", False, "also deregister the exclusions not listed"),
            ),
            "pull-time update exclusions: pulls by scanners no longer keep images alive under pull-age rules",
        ),
    )
}


def runbook(feature: str) -> Runbook:
    if feature not in RUNBOOKS:
        raise ValidationError("feature", feature, f"must be one of {', '.join(RUNBOOKS)}")
    return RUNBOOKS[feature]


def commands(feature: str, values: Mapping[str, Any], region: str = "us-east-1") -> tuple[str, str]:
    """The `ecrlab run` and `papermill` commands that apply `values` to a real account (dry-run first)."""
    import shlex

    book = runbook(feature)
    for name in values:
        book.parameter(name)
    run = ["ecrlab", "run", feature, "--target", "aws", "--region", region]
    paper = ["papermill", f"notebooks/{book.notebook}", "out.ipynb", "-p", "target", "aws", "-p", "region", region]
    for name, value in values.items():
        if isinstance(value, str):
            run += ["-p", f"{name}={value}"]
            paper += ["-p", name, value]
        else:
            encoded = json.dumps(value)
            run += ["-p", f"{name}={encoded}"]
            paper += ["-y", f"{name}: {encoded}"]
    return shlex.join(run), shlex.join(paper)
