"""Pull through cache rules: what makes one valid, which rule covers a repository, where it maps upstream.

The emulator (answering the rule operations, filling the cache on a pull) and ecrlab's client
(`PullThroughCacheRule`) share this module, so the rule a lesson explains is the rule the emulator acts on.
Rules are read in their API shape (camelCase keys, as DescribePullThroughCacheRules returns them).
Sources: docs/fidelity.md S2 (botocore model enum and URL doc string, the user guide's PTC pages).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ecrlab.template_rules import ROLE_ARN, namespace

ROOT = "ROOT"
RULE_LIMIT = 50  # service quota, not adjustable (older docs said 10)
SECRET_PREFIX = "ecr-pullthroughcache/"
SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:ecr-pullthroughcache/.+")
ECR_HOST = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com")


@dataclass(frozen=True)
class Upstream:
    """One `upstreamRegistry` kind: its documented URL, which hosts are of this kind, and how ECR authenticates."""

    kind: str
    url: str  # as documented; <…> marks the part the user chooses
    hosts: re.Pattern[str]
    needs_credential: bool  # a Secrets Manager secret with username and accessToken


UPSTREAMS = {
    u.kind: u
    for u in (
        Upstream("ecr-public", "public.ecr.aws", re.compile(r"public\.ecr\.aws"), False),
        Upstream("k8s", "registry.k8s.io", re.compile(r"registry\.k8s\.io"), False),
        Upstream("quay", "quay.io", re.compile(r"quay\.io"), False),
        Upstream("docker-hub", "registry-1.docker.io", re.compile(r"registry-1\.docker\.io"), True),
        Upstream("github-container-registry", "ghcr.io", re.compile(r"ghcr\.io"), True),
        Upstream("azure-container-registry", "<custom>.azurecr.io", re.compile(r"[a-z0-9]+\.azurecr\.io"), True),
        Upstream("gitlab-container-registry", "registry.gitlab.com", re.compile(r"registry\.gitlab\.com"), True),
        # The model's URL doc string omits chainguard; cgr.dev is its registry in third-party guides (UNCONFIRMED [U3]).
        Upstream("chainguard", "cgr.dev", re.compile(r"cgr\.dev"), True),
        Upstream("ecr", "<accountId>.dkr.ecr.<region>.amazonaws.com", ECR_HOST, False),
    )
}
# Hosts people write for Docker Hub that are not its registry API host.
DOCKER_HUB_ALIASES = ("docker.io", "index.docker.io", "hub.docker.com")


@dataclass(frozen=True)
class Problem:
    """A rule field (API name) that breaks a rule, and the error code AWS answers with."""

    field: str
    value: Any
    rule: str
    code: str = "InvalidParameterException"


def kind_of(url: str) -> str | None:
    """The `upstreamRegistry` kind a registry host belongs to, or None when ECR does not support it."""
    return next((u.kind for u in UPSTREAMS.values() if u.hosts.fullmatch(url)), None)


def _url_problem(url: str) -> Problem | None:
    host, slash, path = url.removeprefix("https://").partition("/")
    if url.startswith(("http://", "https://")):
        return Problem(
            "upstreamRegistryUrl",
            url,
            f"must be a registry host without a scheme, e.g. '{host}'",
            "InvalidParameterException",
        )
    if slash:
        return Problem(
            "upstreamRegistryUrl",
            url,
            f"must be a registry host, not a path: use '{host}' and put the repository path '{path.strip('/')}' in "
            "the upstream repository prefix (or in the image path you pull)",
            "UnsupportedUpstreamRegistryException",
        )
    if url in DOCKER_HUB_ALIASES:
        return Problem(
            "upstreamRegistryUrl",
            url,
            "must be Docker Hub's registry API host 'registry-1.docker.io' (with a credential), not its web name",
            "UnsupportedUpstreamRegistryException",
        )
    if kind_of(url) is None:
        supported = ", ".join(u.url for u in UPSTREAMS.values())
        return Problem(
            "upstreamRegistryUrl", url, f"must be a supported upstream registry ({supported})",
            "UnsupportedUpstreamRegistryException",
        )  # fmt: skip
    return None


def _credential_problem(
    rule: Mapping[str, Any], kind: str, account_id: str | None, region: str | None
) -> Problem | None:
    arn = rule.get("credentialArn")
    upstream = UPSTREAMS[kind]
    if upstream.needs_credential and not arn:
        return Problem(
            "credentialArn",
            arn,
            f"must be set for {kind}: the ARN of a Secrets Manager secret named '{SECRET_PREFIX}<name>' holding "
            "JSON keys username and accessToken",
            # AWS's code for a missing credential (aws-controllers-k8s/community#2589 quotes the response).
            "UnsupportedUpstreamRegistryException",
        )
    if not arn:
        return None
    if not upstream.needs_credential:
        # That AWS refuses a credential for these kinds (rather than ignoring it) is UNCONFIRMED [U4].
        return Problem("credentialArn", arn, f"must be empty for {kind}, which ECR reaches without credentials")
    match = SECRET_ARN.fullmatch(arn)
    if not match:
        return Problem(
            "credentialArn", arn, f"must be a Secrets Manager secret ARN whose name starts with '{SECRET_PREFIX}'"
        )
    if (region and match[1] != region) or (account_id and match[2] != account_id):
        return Problem(
            "credentialArn", arn, f"must be a secret in the rule's own account {account_id} and region {region}"
        )
    return None


def _role_problem(rule: Mapping[str, Any], kind: str, url: str, account_id: str | None) -> Problem | None:
    role = rule.get("customRoleArn")
    if role and kind != "ecr":
        return Problem(
            "customRoleArn",
            role,
            "must be empty unless the upstream is ecr (it is the role ECR assumes to read an ECR upstream)",
        )
    ecr_host = ECR_HOST.fullmatch(url)  # matches exactly when kind is ecr
    if kind != "ecr" or ecr_host is None:
        return None
    if role:
        match = ROLE_ARN.fullmatch(role)
        if not match:
            return Problem("customRoleArn", role, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
        if account_id and match[1] != account_id:
            return Problem("customRoleArn", role, f"must be a role in the registry's own account {account_id}")
    upstream_account = ecr_host[1]
    if account_id and upstream_account != account_id and not role:
        # The documented setup for a cross-account ECR upstream; that Create refuses without it is UNCONFIRMED [U5].
        return Problem(
            "customRoleArn",
            role,
            f"must be set for an ECR upstream in another account ({upstream_account}): a role of account "
            f"{account_id} trusted by pullthroughcache.ecr.amazonaws.com",
        )
    return None


def rule_problem(rule: Mapping[str, Any], account_id: str | None = None, region: str | None = None) -> Problem | None:
    """The first rule a pull through cache rule (API shape) breaks beyond the model's patterns and lengths.

    `account_id` and `region` are the registry's; when given, the secret and the role must be in them.
    """
    url = rule.get("upstreamRegistryUrl") or ""
    problem = _url_problem(url)
    if problem:
        return problem
    kind = kind_of(url)
    assert kind is not None
    given = rule.get("upstreamRegistry")
    if given and given != kind:
        return Problem(
            "upstreamRegistry",
            given,
            f"must match the upstream registry URL {url!r}, which is {kind}; the URL for {given} is "
            f"{UPSTREAMS[given].url}",
        )
    upstream_prefix = rule.get("upstreamRepositoryPrefix") or ROOT
    if namespace(rule.get("ecrRepositoryPrefix", "")) == ROOT and upstream_prefix != ROOT:
        return Problem(
            "upstreamRepositoryPrefix", upstream_prefix, "can be set only when the ECR repository prefix is not ROOT"
        )
    return _credential_problem(rule, kind, account_id, region) or _role_problem(rule, kind, url, account_id)


R = TypeVar("R", bound=Mapping[str, Any])


def covers(prefix: str, repository_name: str) -> bool:
    """A rule's prefix covers names under it ('docker-hub' covers 'docker-hub/library/node'); ROOT covers all."""
    return namespace(prefix) == ROOT or repository_name.startswith(namespace(prefix) + "/")


def _specificity(prefix: str) -> int:
    return -1 if namespace(prefix) == ROOT else len(namespace(prefix))


def matching_rule(rules: Iterable[R], repository_name: str) -> R | None:
    """The rule a pull of `repository_name` goes through: the longest covering prefix, ROOT last."""
    covering = [r for r in rules if covers(r["ecrRepositoryPrefix"], repository_name)]
    if not covering:
        return None
    return max(covering, key=lambda r: _specificity(r["ecrRepositoryPrefix"]))


def upstream_repository(rule: Mapping[str, Any], repository_name: str) -> str:
    """The upstream repository a cache repository maps to (documented examples in docs/fidelity.md S2).

    `ecr-public/my-app/image1` → `my-app/image1`; with upstream prefix `upstream-app` under ECR prefix `my-app`,
    `my-app/image1` → `upstream-app/image1`.
    """
    prefix = namespace(rule["ecrRepositoryPrefix"])
    rest = repository_name if prefix == ROOT else repository_name.removeprefix(prefix + "/")
    upstream_prefix = namespace(rule.get("upstreamRepositoryPrefix") or ROOT)
    return rest if upstream_prefix == ROOT else f"{upstream_prefix}/{rest}"


def cache_repository(rule: Mapping[str, Any], upstream_repo: str) -> str | None:
    """The inverse: the cache repository name that pulls `upstream_repo` through `rule` (None if it cannot)."""
    upstream_prefix = namespace(rule.get("upstreamRepositoryPrefix") or ROOT)
    if upstream_prefix != ROOT:
        if not upstream_repo.startswith(upstream_prefix + "/"):
            return None
        upstream_repo = upstream_repo.removeprefix(upstream_prefix + "/")
    prefix = namespace(rule["ecrRepositoryPrefix"])
    return upstream_repo if prefix == ROOT else f"{prefix}/{upstream_repo}"
