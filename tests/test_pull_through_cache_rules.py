"""The shared rules of pull through cache: validity per upstream kind, the covering rule, the repository mapping."""

from __future__ import annotations

import pytest

from ecrlab.pull_through_cache_rules import (
    UPSTREAMS,
    cache_repository,
    kind_of,
    matching_rule,
    rule_problem,
    upstream_repository,
)

ACCOUNT, REGION = "123456789012", "us-east-1"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/hub-AbCdEf"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ptc-reader"


def problem(**rule):
    return rule_problem({"ecrRepositoryPrefix": "cache", **rule}, ACCOUNT, REGION)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("public.ecr.aws", "ecr-public"),
        ("registry.k8s.io", "k8s"),
        ("quay.io", "quay"),
        ("registry-1.docker.io", "docker-hub"),
        ("ghcr.io", "github-container-registry"),
        ("myteam.azurecr.io", "azure-container-registry"),
        ("registry.gitlab.com", "gitlab-container-registry"),
        ("cgr.dev", "chainguard"),
        ("210987654321.dkr.ecr.eu-west-1.amazonaws.com", "ecr"),
        ("docker.io", None),
        ("gcr.io", None),
    ],
)
def test_every_model_kind_has_its_documented_host(url, kind):
    assert kind_of(url) == kind


def test_the_nine_kinds_are_the_models_enum():
    from ecrlab.ecr_model import ecr_model

    assert sorted(UPSTREAMS) == sorted(ecr_model().shape_for("UpstreamRegistry").enum)


def test_a_path_in_the_url_is_the_seeds_mistake():
    found = problem(upstreamRegistryUrl="public.ecr.aws/docker/library")
    assert (found.field, found.code) == ("upstreamRegistryUrl", "UnsupportedUpstreamRegistryException")
    assert "registry host, not a path" in found.rule and "'docker/library'" in found.rule
    assert "upstream repository prefix" in found.rule


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://public.ecr.aws", "without a scheme"),
        ("docker.io", "registry-1.docker.io"),
        ("gcr.io", "supported upstream registry"),
    ],
)
def test_urls_that_are_not_supported_hosts(url, words):
    assert words in problem(upstreamRegistryUrl=url).rule


def test_the_kind_must_match_the_url():
    found = problem(upstreamRegistryUrl="quay.io", upstreamRegistry="docker-hub")
    assert found.field == "upstreamRegistry" and "registry-1.docker.io" in found.rule


@pytest.mark.parametrize("url", ["registry-1.docker.io", "ghcr.io", "x.azurecr.io", "registry.gitlab.com", "cgr.dev"])
def test_authenticated_upstreams_need_a_credential(url):
    found = problem(upstreamRegistryUrl=url)
    assert found.field == "credentialArn" and "ecr-pullthroughcache/" in found.rule
    assert problem(upstreamRegistryUrl=url, credentialArn=SECRET) is None


def test_a_credential_is_refused_where_none_is_used_and_must_be_local():
    assert problem(upstreamRegistryUrl="public.ecr.aws", credentialArn=SECRET).field == "credentialArn"
    elsewhere = SECRET.replace(REGION, "eu-west-1")
    assert "own account" in problem(upstreamRegistryUrl="ghcr.io", credentialArn=elsewhere).rule
    other_name = SECRET.replace("ecr-pullthroughcache/", "docker/")
    assert "ecr-pullthroughcache/" in problem(upstreamRegistryUrl="ghcr.io", credentialArn=other_name).rule


def test_roles_are_for_ecr_upstreams_and_needed_across_accounts():
    assert problem(upstreamRegistryUrl="quay.io", customRoleArn=ROLE).field == "customRoleArn"
    same = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"
    other = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
    assert problem(upstreamRegistryUrl=same) is None
    assert "another account" in problem(upstreamRegistryUrl=other).rule
    assert problem(upstreamRegistryUrl=other, customRoleArn=ROLE) is None
    foreign_role = "arn:aws:iam::210987654321:role/ptc-reader"
    assert "own account" in problem(upstreamRegistryUrl=other, customRoleArn=foreign_role).rule


def test_upstream_prefix_only_under_a_named_ecr_prefix():
    root = rule_problem(
        {"ecrRepositoryPrefix": "ROOT", "upstreamRegistryUrl": "quay.io", "upstreamRepositoryPrefix": "libpod"}
    )
    assert root.field == "upstreamRepositoryPrefix"
    assert problem(upstreamRegistryUrl="quay.io", upstreamRepositoryPrefix="libpod") is None


RULES = [
    {"ecrRepositoryPrefix": "ROOT", "upstreamRegistryUrl": "quay.io"},
    {"ecrRepositoryPrefix": "docker-hub", "upstreamRegistryUrl": "registry-1.docker.io"},
    {"ecrRepositoryPrefix": "docker-hub/library/", "upstreamRegistryUrl": "public.ecr.aws"},
]


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("docker-hub/library/node", "docker-hub/library/"),
        ("docker-hub/bitnami/redis", "docker-hub"),
        ("docker-hubx/node", "ROOT"),
        ("docker-hub", "ROOT"),
    ],
)
def test_the_longest_covering_prefix_wins_and_root_is_last(name, prefix):
    assert matching_rule(RULES, name)["ecrRepositoryPrefix"] == prefix


def test_no_rule_covers_a_name_without_root():
    assert matching_rule(RULES[1:], "app") is None


@pytest.mark.parametrize(
    ("ecr_prefix", "upstream_prefix", "name", "upstream"),
    [  # the documented mappings (pull-through-cache-private-wildcards.html)
        ("ecr-public", None, "ecr-public/my-app/image1", "my-app/image1"),
        ("ROOT", "ROOT", "my-app/image1", "my-app/image1"),
        ("team-a", "team-a", "team-a/myapp/image1", "team-a/myapp/image1"),
        ("my-app", "upstream-app", "my-app/image1", "upstream-app/image1"),
        ("docker", "docker/library", "docker/node", "docker/library/node"),
    ],
)
def test_repository_mapping_both_ways(ecr_prefix, upstream_prefix, name, upstream):
    rule = {"ecrRepositoryPrefix": ecr_prefix, "upstreamRepositoryPrefix": upstream_prefix}
    assert upstream_repository(rule, name) == upstream
    assert cache_repository(rule, upstream) == name


def test_an_upstream_outside_the_upstream_prefix_has_no_cache_repository():
    assert (
        cache_repository({"ecrRepositoryPrefix": "my-app", "upstreamRepositoryPrefix": "upstream-app"}, "x/y") is None
    )
