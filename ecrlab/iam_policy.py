"""The least-privilege IAM policy the runbooks need, derived from the calls they really make on a busy registry.

With `ECRLAB_RECORD_CALLS=FILE` set, every boto3 call made through a `Registry` appends its IAM action and the
resource IAM evaluates it on to FILE. `observe()` runs each runbook's dry run, apply and rollback against a private
emulator, first empty and then populated like a registry several teams share (`ecrlab.shared_registry`: other
teams' statements, rules, filters, templates, alerts, 20 repositories), because a populated registry makes the
runbooks read what an empty one never shows and an empty one makes rollbacks delete what they created.
`least_privilege()` folds the calls into one policy, so docs/iam-policy.json cannot drift from the code.

Resources are scoped where AWS allows it (Service Authorization Reference, list_amazonelasticcontainerregistry):
ECR actions whose resource type is `repository` get repository ARNs, SQS queues, EventBridge rules, SNS topics,
secrets and IAM roles get theirs; registry-level ECR actions (registry policy, replication, scanning configuration,
pull-through-cache rules, creation templates, account settings) have no resource type and need "*", as do the
list calls (ListQueues, ListRules, ListTopics, ListSecrets, ListRoles, ListUsers) and sts:GetCallerIdentity.
What the runbooks create keeps its name (the lesson repository `hello-ecrlab`; the alert queue, topic and rule by
the prefix of the default name `ecr-critical-findings`); what they find instead (other teams' repositories and roles,
the repositories a parameter names) is granted as every resource of its type (`repository/*`, `role/*`): a runbook
must read them all, and which repositories an archive run changes is a parameter, not known in advance.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RECORD_ENV = "ECRLAB_RECORD_CALLS"
PHASES = ("dry-run", "apply", "rollback")
ALERT = "ecr-critical-findings"  # the runbooks' default alert_name

# Each runbook's parameters for the derivation: every write path on (the lesson repository, an alert queue and an
# SNS topic), and one team's change that the shared registry does not already hold.
CHANGES: dict[str, dict[str, Any]] = {
    "start-here": {"demo_repository": True},
    "permissions": {"admin_roles": ["platform-admin"]},
    "pull-through-cache": {
        "rules": [{"ecr_repository_prefix": "team-c-docker", "upstream_registry_url": "public.ecr.aws"}]
    },
    # An update of the `prod` template, with every setting the runbook compares on the repositories it governs.
    "templates": {
        "prefix": "prod",
        "description": "prod team, reviewed by platform",
        "resource_tags": {"team": "prod"},
        "lifecycle_policy": json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 1,
                        "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 5},
                        "action": {"type": "expire"},
                    }
                ]
            }
        ),
        "repository_policy": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "ProdPull", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "ecr:BatchGetImage"}
                ],
            }
        ),
    },
    "replication": {"destinations": ["us-west-2"], "repository_prefixes": ["team-c/"]},
    "scanning": {"scan_on_push_filters": ["team-c/*"], "alert_target": "sqs", "alert_name": f"{ALERT}-team-c"},
    "baseline": {},  # its alert has the default name only, which another team owns on the shared registry
    "archive": {"repositories": ["team-a/service-0"]},
    "pull-time-exclusions": {"excluded_roles": ["ci-role"]},
}
# A repository the pull-through-cache rule `ecr-public` filled: the runbook reads its images.
CACHED_REPOSITORY = "ecr-public/docker/library/node"
# On the empty registry the default alert name is free: baseline sends its alert to an SNS topic there.
# Templates are created there (and updated on the shared registry, which has the `prod` template).
ON_EMPTY: dict[str, dict[str, Any]] = {"baseline": {"alert_target": "sns"}, "templates": {"prefix": "team-c"}}
# The alert queue, topic and rule are granted by name prefix: the default name, and the names one would choose
# where another team already owns a rule of the default name (as on the shared registry).
NAMED = (f"arn:aws:sqs:*:*:{ALERT}*", f"arn:aws:sns:*:*:{ALERT}*", f"arn:aws:events:*:*:rule/{ALERT}*")


def call_resource(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """The ARNs (region and account as `*`) IAM evaluates `service:operation` with these parameters on."""
    if service != "ecr":
        from ecrlab.emulator.service_authorization import request_arn

        return [request_arn(service, operation, params, "*", "*")]
    from ecrlab.permissions.actions import repository_actions

    if f"ecr:{operation}" not in repository_actions():
        return ["*"]
    names = list(params.get("repositoryNames") or [])
    if params.get("repositoryName"):
        names.append(params["repositoryName"])
    arn = params.get("resourceArn") or ""
    if ":repository/" in arn:
        names.append(arn.split(":repository/", 1)[1])
    return [f"arn:aws:ecr:*:*:repository/{name}" for name in names] or ["*"]


def record_calls(client: Any) -> None:
    """Append `{"action", "resources"}` to $ECRLAB_RECORD_CALLS before each call of `client` (when it is set)."""
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    service = client.meta.service_model.signing_name

    def resolve(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["ecrlab_resources"] = call_resource(service, model.name, params)

    def record(model: Any, context: dict[str, Any], **_: Any) -> None:
        # Only calls that are sent: a request botocore refuses (ParamValidationError) needs no permission.
        line = {"action": f"{service}:{model.name}", "resources": context.get("ecrlab_resources", ["*"])}
        with open(path, "a") as handle:
            handle.write(json.dumps(line) + "\n")

    name = client.meta.service_model.service_name
    client.meta.events.register(f"before-parameter-build.{name}", resolve)
    client.meta.events.register(f"before-call.{name}", record)


def _type_wildcard(arn: str) -> str:
    """Every resource of `arn`'s type: `...:repository/x` -> `...:repository/*`, `...:queue-name` -> `...:*`."""
    head, _, tail = arn.rpartition(":")
    return f"{head}:{tail.split('/', 1)[0]}/*" if "/" in tail else f"{head}:*"


def _named(arn: str) -> str:
    """The name-prefix pattern of NAMED that `arn` falls under, else `arn`."""
    from fnmatch import fnmatchcase

    return next((pattern for pattern in NAMED if fnmatchcase(arn, pattern)), arn)


def _without_covered(resources: set[str]) -> set[str]:
    """Drop the ARNs another pattern of the set already grants (`repository/x` beside `repository/*`)."""
    from fnmatch import fnmatchcase

    return {r for r in resources if not any(p != r and p.endswith("*") and fnmatchcase(r, p) for p in resources)}


def least_privilege(calls: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One statement per service and resource set, actions and resources sorted, so the policy diffs cleanly."""
    by_action: dict[str, set[str]] = {}
    for call in calls:
        by_action.setdefault(call["action"], set()).update(_named(r) for r in call["resources"])
    # What the runbooks create themselves keeps its name; what they find (other teams' repositories and roles, the
    # repositories a parameter names) may be any resource of its type.
    created = {r for action, rs in by_action.items() if action.split(":", 1)[1].startswith("Create") for r in rs}
    created |= set(NAMED)
    scoped: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for action, resources in by_action.items():
        if "*" not in resources:
            resources = {r if r in created else _type_wildcard(r) for r in resources}
        resources = {"*"} if "*" in resources else _without_covered(resources)
        service = action.split(":", 1)[0]
        scoped.setdefault((service, tuple(sorted(resources))), set()).add(action)
    statements = []
    for (service, scope), actions in sorted(scoped.items(), key=lambda item: (item[0][0], item[0][1] != ("*",))):
        name = service.title().replace("-", "")
        suffix = "Everywhere" if scope == ("*",) else "Scoped"
        same = [key for key in scoped if key[0] == service and (key[1] == ("*",)) == (scope == ("*",))]
        number = f"{sorted(same).index((service, scope)) + 1}" if len(same) > 1 else ""
        statements.append(
            {
                "Sid": f"Runbooks{name}{suffix}{number}",
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": scope[0] if scope == ("*",) else list(scope),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


@contextmanager
def _recording(url: str, path: Path) -> Iterator[None]:
    names = (RECORD_ENV, "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({RECORD_ENV: str(path), "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "AKIAIAMPOLICY0000000"})
    os.environ["AWS_SECRET_ACCESS_KEY"] = "x"
    os.environ.pop("AWS_PROFILE", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _read(path: Path) -> list[dict[str, Any]]:
    calls = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    path.unlink(missing_ok=True)
    return calls


def observe(features: Iterable[str], *, dry_run_only: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Each phase's calls: every runbook's dry run, apply and rollback (or only its dry run), on an empty and on a
    populated registry."""
    import ecrlab
    from ecrlab.emulator.server import EmulatorServer
    from ecrlab.registry import DEMO_ACCOUNT_ID
    from ecrlab.runs import rollback, run
    from ecrlab.shared_registry import create_roles, populate

    features = list(features)
    server = EmulatorServer().start()
    calls: dict[str, list[dict[str, Any]]] = {phase: [] for phase in PHASES}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "calls.jsonl"
            for populated in (False, True):
                admin = ecrlab.connect(endpoint_url=server.url)
                assert admin.emulator is not None
                admin.emulator.reset()
                if populated:
                    populate(admin)
                    admin.client().create_repository(repositoryName=CACHED_REPOSITORY)
                else:  # nothing but the roles and the repository the runs name
                    create_roles(admin)
                    admin.client().create_repository(repositoryName=CHANGES["archive"]["repositories"][0])
                with _recording(server.url, path):
                    for feature in features:
                        base = {"target": "aws", **CHANGES.get(feature, {})}
                        if not populated:  # nobody owns the default alert name on an empty registry
                            base.pop("alert_name", None)
                            base.update(ON_EMPTY.get(feature, {}))
                        phases = [("dry-run", {**base, "apply": False})]
                        if not dry_run_only:
                            phases.append(("apply", {**base, "apply": True, "expected_account_id": DEMO_ACCOUNT_ID}))
                        for phase, values in phases:
                            record = run(feature, values, str(Path(tmp) / "runs"))
                            if record.get("outcome") in ("failed", "refused"):
                                raise RuntimeError(f"runbook {feature} {record['outcome']}: {record.get('error')}")
                            calls[phase] += _read(path)
                        if not dry_run_only:
                            rollback(record, apply=True, expected_account_id=DEMO_ACCOUNT_ID)
                            calls["rollback"] += _read(path)
    finally:
        server.stop()
    return calls


def generate(features: Iterable[str], *, apply: bool = True) -> dict[str, Any]:
    """The policy for the runbooks' dry runs, or (`apply`) for their dry runs, applies and rollbacks."""
    calls = observe(features, dry_run_only=not apply)
    return policies(calls)["apply" if apply else "dry-run"]


def policies(calls: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The dry-run policy (reads only) and the full policy (dry run, apply and rollback) from `observe()`'s calls."""
    return {
        "dry-run": least_privilege(calls["dry-run"]),
        "apply": least_privilege(calls["dry-run"] + calls["apply"] + calls["rollback"]),
    }
