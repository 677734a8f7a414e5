"""Pull through cache rules as a plannable spec, their credentials, an audit of cached repositories, a traced pull.

The same code runs against AWS and the emulator (boto3 and the OCI client only). Validation and the repository
mapping come from `ecrlab.pull_through_cache_rules`, which the emulator itself runs, so a spec that passes here is
one the emulator accepts and `cache_image_uri` names what a pull really fetches.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from ecrlab import checks
from ecrlab.ecr_model import check
from ecrlab.errors import RegistryError, ValidationError
from ecrlab.plan import Plan, Setting, make_plan, setting_kind
from ecrlab.pull_through_cache_rules import (
    ROOT,
    SECRET_PREFIX,
    cache_repository,
    kind_of,
    matching_rule,
    rule_problem,
    upstream_repository,
)
from ecrlab.template_rules import namespace

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

# API field (as pull_through_cache_rules names problems) -> PullThroughCacheRule field.
SPEC_FIELDS = {
    "ecrRepositoryPrefix": "ecr_repository_prefix",
    "upstreamRegistryUrl": "upstream_registry_url",
    "upstreamRegistry": "upstream_registry",
    "upstreamRepositoryPrefix": "upstream_repository_prefix",
    "credentialArn": "credential_arn",
    "customRoleArn": "custom_role_arn",
}
PREFIX_RULE = "must be ROOT, or 2 to 30 lowercase letters and digits in parts joined by '.', '_', '__', '-' or '/'"
# The only fields UpdatePullThroughCacheRule changes (and it cannot clear them).
UPDATABLE = {"credential_arn": "credentialArn", "custom_role_arn": "customRoleArn"}
AUDIT_COLUMNS = ["repository", "rule", "upstream", "images", "tags", "last_sync"]


def _check_prefix(field: str, value: str) -> None:
    try:
        check("PullThroughCacheRuleRepositoryPrefix", field, value)
    except ValidationError:
        raise ValidationError(field, value, PREFIX_RULE) from None


@dataclass(frozen=True)
class PullThroughCacheRule:
    """One pull through cache rule as desired state, validated on construction.

    `upstream_registry_url` is a registry *host* (`public.ecr.aws`, `registry-1.docker.io`); a repository path
    belongs in `upstream_repository_prefix`. `upstream_registry` (the kind) is inferred from the host when empty.
    """

    ecr_repository_prefix: str
    upstream_registry_url: str
    upstream_registry: str = ""
    upstream_repository_prefix: str = ROOT
    credential_arn: str = ""
    custom_role_arn: str = ""

    def __post_init__(self) -> None:
        for item in fields(self):
            checks.text(item.name, getattr(self, item.name))
        _check_prefix("ecr_repository_prefix", self.ecr_repository_prefix)
        _check_prefix("upstream_repository_prefix", self.upstream_repository_prefix or ROOT)
        if self.upstream_registry:
            check("UpstreamRegistry", "upstream_registry", self.upstream_registry)
        problem = rule_problem(self.to_api())
        if problem:
            raise ValidationError(SPEC_FIELDS[problem.field], problem.value, problem.rule)
        if self.credential_arn:
            check("CredentialArn", "credential_arn", self.credential_arn)
        if self.custom_role_arn:
            check("CustomRoleArn", "custom_role_arn", self.custom_role_arn)
        object.__setattr__(self, "upstream_registry", self.upstream_registry or kind_of(self.upstream_registry_url))
        object.__setattr__(self, "upstream_repository_prefix", self.upstream_repository_prefix or ROOT)

    def to_api(self) -> dict[str, Any]:
        """Keyword arguments for CreatePullThroughCacheRule."""
        api = {"ecrRepositoryPrefix": self.ecr_repository_prefix, "upstreamRegistryUrl": self.upstream_registry_url}
        optional = {
            "upstreamRegistry": self.upstream_registry,
            "upstreamRepositoryPrefix": ""
            if self.upstream_repository_prefix == ROOT
            else self.upstream_repository_prefix,
            "credentialArn": self.credential_arn,
            "customRoleArn": self.custom_role_arn,
        }
        return api | {key: value for key, value in optional.items() if value}

    @classmethod
    def from_api(cls, rule: dict[str, Any]) -> PullThroughCacheRule:
        """From one rule as DescribePullThroughCacheRules returns it."""
        return cls(**{spec: rule[api] for api, spec in SPEC_FIELDS.items() if rule.get(api)})

    def settings(self) -> dict[str, str]:
        """Everything but the prefix: the state a plan compares."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "ecr_repository_prefix"}

    def image_uri(self, registry: Registry, upstream_image: str) -> str:
        """What to pull from ECR to get `upstream_image` (e.g. `library/node:18-alpine`) through this rule."""
        if "@" in upstream_image:
            repository, sep, reference = upstream_image.partition("@")
        else:
            repository, sep, reference = upstream_image.rpartition(":")
            if not sep:
                repository, sep, reference = upstream_image, ":", "latest"
        name = cache_repository(self.to_api(), repository)
        if name is None:
            raise ValidationError(
                "upstream_image",
                upstream_image,
                f"must start with the upstream prefix '{self.upstream_repository_prefix}/'",
            )
        host = f"{registry.account_id}.dkr.ecr.{registry.region}.amazonaws.com"
        return f"{host}/{name}{sep}{reference}"


def _describe(registry: Registry, prefix: str) -> dict[str, Any] | None:
    ecr = registry.client()
    try:
        found = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=[prefix])["pullThroughCacheRules"]
    except ecr.exceptions.PullThroughCacheRuleNotFoundException:
        return None
    return next((r for r in found if namespace(r["ecrRepositoryPrefix"]) == namespace(prefix)), None)


@setting_kind("pull-through-cache-rule")
def pull_through_cache_rule(prefix: str) -> Setting:
    """The rule for one ECR repository prefix: absent (None) or its settings."""

    def read(registry: Registry) -> dict[str, str] | None:
        rule = _describe(registry, prefix)
        return None if rule is None else PullThroughCacheRule.from_api(rule).settings()

    def write(registry: Registry, value: dict[str, str] | None) -> None:
        ecr = registry.client()
        current = read(registry)
        if value is None:
            ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
            return
        changed = {key for key in value if current is None or current[key] != value[key]}
        if current is not None and changed <= set(UPDATABLE) and all(value[key] for key in changed):
            update = {UPDATABLE[key]: value[key] for key in changed}
            ecr.update_pull_through_cache_rule(ecrRepositoryPrefix=prefix, **update)
            return
        # Anything else (the upstream, or clearing a credential) needs the rule created anew.
        if current is not None:
            ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
        ecr.create_pull_through_cache_rule(**PullThroughCacheRule(prefix, **value).to_api())

    return Setting("pull-through-cache-rule", prefix, read, write)


def read(registry: Registry) -> list[PullThroughCacheRule]:
    """The registry's rules, sorted by prefix."""
    pages = registry.client().get_paginator("describe_pull_through_cache_rules").paginate()
    specs = [PullThroughCacheRule.from_api(r) for page in pages for r in page["pullThroughCacheRules"]]
    return sorted(specs, key=lambda spec: spec.ecr_repository_prefix)


def plan(registry: Registry, *specs: PullThroughCacheRule, delete_others: bool = False) -> Plan:
    """What making the registry's rules match `specs` changes; `delete_others` also removes the rest."""
    wanted: dict[str, PullThroughCacheRule] = {}
    for spec in specs:
        if namespace(spec.ecr_repository_prefix) in wanted:
            raise ValidationError("ecr_repository_prefix", spec.ecr_repository_prefix, "appears in more than one rule")
        problem = rule_problem(spec.to_api(), registry.account_id, registry.region)
        if problem:
            raise ValidationError(SPEC_FIELDS[problem.field], problem.value, problem.rule)
        wanted[namespace(spec.ecr_repository_prefix)] = spec
    desired: list[tuple[Setting, Any]] = [
        (pull_through_cache_rule(s.ecr_repository_prefix), s.settings()) for s in specs
    ]
    if delete_others:
        desired += [
            (pull_through_cache_rule(r.ecr_repository_prefix), None)
            for r in read(registry)
            if namespace(r.ecr_repository_prefix) not in wanted
        ]
    return make_plan(registry, desired)


# --- credentials -----------------------------------------------------------------------------------------


def credentials(registry: Registry) -> list[str]:
    """ARNs of the registry's Secrets Manager secrets a rule can use (named `ecr-pullthroughcache/…`)."""
    pages = (
        registry.client("secretsmanager")
        .get_paginator("list_secrets")
        .paginate(Filters=[{"Key": "name", "Values": [SECRET_PREFIX]}])
    )
    names = [(s["Name"], s["ARN"]) for page in pages for s in page["SecretList"] if s["Name"].startswith(SECRET_PREFIX)]
    return [arn for _, arn in sorted(names)]


def create_credential(registry: Registry, name: str, username: str, access_token: str) -> str:
    """Store an upstream login as a secret a rule can use (`ecr-pullthroughcache/<name>`); returns its ARN.

    Secrets are written here, not through plan/apply, because a plan's backup would put the token on disk.
    An existing secret of that name gets the new value.
    """
    import json

    full = name if name.startswith(SECRET_PREFIX) else SECRET_PREFIX + name
    check("CredentialArn", "name", f"arn:aws:secretsmanager:{registry.region}:{registry.account_id}:secret:{full}")
    if not username or not access_token:
        raise ValidationError("username" if not username else "access_token", "", "must not be empty")
    value = json.dumps({"username": username, "accessToken": access_token})
    secrets = registry.client("secretsmanager")
    try:
        return secrets.create_secret(Name=full, SecretString=value)["ARN"]
    except secrets.exceptions.ResourceExistsException:
        return secrets.put_secret_value(SecretId=full, SecretString=value)["ARN"]


def validate(registry: Registry, prefix: str) -> dict[str, Any]:
    """ECR's own check of a rule: it reads the secret and authenticates to the upstream (`isValid`, `failure`)."""
    result = registry.client().validate_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    return {
        key: result[key]
        for key in ("ecrRepositoryPrefix", "upstreamRegistryUrl", "isValid", "failure")
        if key in result
    }


# --- what is cached, and what one pull did ----------------------------------------------------------------


def audit(registry: Registry) -> pd.DataFrame:
    """Every repository a rule covers, with its upstream and what it holds.

    Columns (`AUDIT_COLUMNS`): repository; rule (the ECR prefix); upstream (`host/repository` it maps to);
    images (count, an index and its images each count); tags (comma-separated); last_sync (when the newest image
    was cached: ECR exposes no time of its 24-hour re-checks). Reads only, so it runs against AWS as well.
    """
    import pandas as pd

    ecr = registry.client()
    rules = [r.to_api() for r in read(registry)]
    rows = []
    for page in ecr.get_paginator("describe_repositories").paginate():
        for repo in page["repositories"]:
            name = repo["repositoryName"]
            rule = matching_rule(rules, name)
            if rule is None:
                continue
            details = [
                d for p in ecr.get_paginator("describe_images").paginate(repositoryName=name) for d in p["imageDetails"]
            ]
            rows.append(
                {
                    "repository": name,
                    "rule": rule["ecrRepositoryPrefix"],
                    "upstream": f"{rule['upstreamRegistryUrl']}/{upstream_repository(rule, name)}",
                    "images": len(details),
                    "tags": ", ".join(sorted({t for d in details for t in d.get("imageTags", [])})),
                    "last_sync": max((d["imagePushedAt"] for d in details), default=None),
                }
            )
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS).sort_values("repository", ignore_index=True)


@dataclass(frozen=True, repr=False)
class PullReport:
    """One pull from ECR and what it cost upstream: `outcome` is miss, hit, re-checked, refreshed or failed.

    `requests` are the emulator's own requests to the upstream during the pull; AWS shows none, so there a miss
    is told from the image not being in the repository before the pull.
    """

    registry: str
    repository: str
    reference: str
    outcome: str
    digest: str | None
    upstream: str | None
    requests: tuple[dict[str, Any], ...]
    error: str | None = None
    status: int | None = None  # ECR's HTTP status when the pull failed

    def summary(self) -> str:
        fetched = sum(1 for r in self.requests if r["method"] == "GET" and r["status"] == 200)
        what = {
            "miss": f"cache miss: ECR fetched {f'{fetched} object(s)' if self.requests else 'the image'} from "
            f"{self.upstream} and stored it",
            "hit": "cache hit: served from ECR, no upstream request",
            "re-checked": f"24 hours passed: re-checked the tag on {self.upstream} ({self._answers()}), "
            "then served the cached image",
            "refreshed": f"the tag moved on {self.upstream}: ECR fetched {fetched} object(s) and serves the new image",
            "failed": f"failed with {self.status}: {self._failure()}",
        }[self.outcome]
        shown = f" → {self.digest[:19]}" if self.digest else ""
        return f"{self.repository}:{self.reference}{shown} ({what})"

    __str__ = __repr__ = summary

    def _failure(self) -> str:
        """The registry's own words: from ECR's upstream error onwards when there is one."""
        error = self.error or ""
        start = error.find("UnableToGetUpstream")
        return error[start:] if start >= 0 else error

    def _answers(self) -> str:
        return ", ".join(f"{r['method']} {r['status'] or 'no answer'}" for r in self.requests)

    def mermaid(self) -> str:
        """A Mermaid sequence diagram of the pull as it happened (client, ECR, upstream)."""
        lines = [
            "sequenceDiagram",
            "    participant C as client",
            f"    participant E as ECR {self.registry}",
        ]
        if self.upstream:
            lines.append(f"    participant U as {self.upstream}")
        lines.append(f"    C->>E: GET manifest {self.repository}:{self.reference}")
        for request in self.requests:
            lines.append(f"    E->>U: {request['method']} {_shown(request['path'])}")
            lines.append(f"    U-->>E: {request['status'] or 'no answer'}")
        if self.outcome == "miss" and self.upstream and not self.requests:  # AWS does not show its requests
            lines += ["    E->>U: fetch the image", "    U-->>E: manifest and blobs"]
        note = {
            "miss": "not cached until now: ECR stores what it fetched",
            "hit": "cached: served without asking upstream",
        }
        if self.outcome in note:
            lines.append(f"    Note over E: {note[self.outcome]}")
        failure = re.search(
            r"\b(Upstream[A-Za-z]+|ImageNotFound|[A-Z]+_UNKNOWN|DENIED|UNAUTHORIZED)\b", self.error or ""
        )
        answer = f"200 {self.digest[:19]}" if self.digest else f"{self.status} {failure[0] if failure else 'error'}"
        lines.append(f"    E-->>C: {answer}")
        return "\n".join(line.replace(";", ",").replace("#", "") for line in lines)

    def _repr_markdown_(self) -> str:
        return f"{self.summary()}\n\n```mermaid\n{self.mermaid()}\n```\n"


def _shown(path: str) -> str:
    """A request path as a diagram shows it: `library/node:18-alpine`, `blob sha256:e0ad8cab3381`."""
    path = path.removeprefix("/v2/")
    if "/blobs/" in path:
        return "blob " + path.rpartition("/blobs/")[2][:19]
    name, marker, reference = path.rpartition("/manifests/")
    if not marker:
        return "/v2/" + path
    return f"{name}@{reference[:19]}" if reference.startswith("sha256:") else f"{name}:{reference}"


def _present(registry: Registry, repository: str, reference: str) -> bool:
    ecr = registry.client()
    image_id = {"imageDigest": reference} if reference.startswith("sha256:") else {"imageTag": reference}
    try:
        return bool(ecr.describe_images(repositoryName=repository, imageIds=[image_id])["imageDetails"])
    except (ecr.exceptions.RepositoryNotFoundException, ecr.exceptions.ImageNotFoundException):
        return False


def try_pull(registry: Registry, repository: str, reference: str) -> PullReport:
    """Pull `repository:reference` from ECR (into a scratch layout) and report what happened upstream."""
    from ecrlab import images
    from ecrlab.upstream_knobs import Upstreams

    watch = Upstreams(registry) if registry.emulator is not None else None
    since = watch.last_request() if watch else 0
    present = _present(registry, repository, reference)
    digest, error, status = None, None, None
    try:
        with tempfile.TemporaryDirectory() as scratch:
            digest = images.pull(registry, repository, reference, scratch, progress=None)
    except RegistryError as exc:
        error, status = str(exc), exc.status
    requests = tuple(r for r in watch.requests(since) if r["repository"] == repository) if watch else ()
    rule = matching_rule([r.to_api() for r in read(registry)], repository)
    if error:
        outcome = "failed"
    elif not present:
        outcome = "miss"
    elif any(r["method"] == "GET" and "/manifests/" in r["path"] for r in requests):
        outcome = "refreshed"
    else:
        outcome = "re-checked" if requests else "hit"
    return PullReport(
        f"{registry.account_id} {registry.region}",
        repository,
        reference,
        outcome,
        digest,
        rule["upstreamRegistryUrl"] if rule else None,
        requests,
        error,
        status,
    )
