"""P6: a pull served from the pull through cache against the same pull that has to fetch from the upstream.

Both go through the embedded emulator's `/v2/`, for a single-platform image (`library/node:18-alpine`) and a
multi-arch index (`library/alpine:3.19`, all platforms) on the stand-in Docker Hub. A miss is made by deleting the
cache repository before each pull; the baseline for a hit is that miss, measured in the same run. The client logs
in once and reads manifests and blobs over one connection pool, as `docker login` then `docker pull` do; the
per-call token and layout writes of `ecrlab.images.pull` cost the same for both and only add noise. Misses and
hits alternate round by round, each round's ratio hit / miss. The stand-in
upstream is on loopback, so a miss here costs far less than against Docker Hub. Target: hit ≤ 0.5 × miss.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Callable

import urllib3
from rounds import interleaved, ratios, report

import ecrlab
from ecrlab.images import ACCEPT
from ecrlab.upstream_knobs import STAND_IN_CREDENTIALS

ROUNDS = 31
HUB = "registry-1.docker.io"
IMAGES = (("library/node", "18-alpine"), ("library/alpine", "3.19"))


class LoggedIn:
    """A registry's /v2/ with one login and one connection pool: what a pull costs the registry."""

    def __init__(self, endpoint: str, token: str) -> None:
        self.endpoint, self.http = endpoint, urllib3.PoolManager()
        self.headers = {"Authorization": f"Basic {token}", "Accept": ACCEPT}

    def get(self, path: str) -> bytes:
        response = self.http.request("GET", self.endpoint + path, headers=self.headers)
        assert response.status == 200, (path, response.status, response.data[:200])
        return response.data

    def pull(self, repository: str, reference: str) -> None:
        doc = json.loads(self.get(f"/v2/{repository}/manifests/{reference}"))
        for child in doc.get("manifests", []):
            self.pull(repository, child["digest"])
        for blob in (doc["config"], *doc["layers"]) if "config" in doc else ():
            self.get(f"/v2/{repository}/blobs/{blob['digest']}")


def pull_ms(action: Callable[[], object], before: Callable[[], object]) -> float:
    before()
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    registry = ecrlab.connect()
    assert registry.emulator is not None
    registry.emulator.reset()
    ecr = registry.client()
    arn = registry.client("secretsmanager").create_secret(
        Name="ecr-pullthroughcache/bench", SecretString=json.dumps(STAND_IN_CREDENTIALS)
    )["ARN"]
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="bench", upstreamRegistryUrl=HUB, credentialArn=arn)
    login = ecr.get_authorization_token()["authorizationData"][0]
    client = LoggedIn(login["proxyEndpoint"], login["authorizationToken"])

    print(f"pull through cache: {ROUNDS} rounds of a miss and a hit in turn (ms), miss = fetched from the upstream")
    for upstream_repo, tag in IMAGES:
        name = f"bench/{upstream_repo}"

        def forget(name: str = name) -> None:
            with contextlib.suppress(ecr.exceptions.RepositoryNotFoundException):
                ecr.delete_repository(repositoryName=name, force=True)

        def pull(name: str = name, tag: str = tag) -> None:
            client.pull(name, tag)

        pull()  # the cache is full before the first round, which may start with the hit
        misses, hits = interleaved(lambda: pull_ms(pull, forget), lambda: pull_ms(pull, lambda: None), ROUNDS)
        image = f"{upstream_repo}:{tag}"
        print(f"  {image:<24} miss {statistics.median(misses):6.1f}  hit {statistics.median(hits):6.1f} (medians)")
        report("P6", f"pull through cache hit / miss, {image}", ratios(hits, misses), 0.5)


if __name__ == "__main__":
    main()
