"""P-stream and P6: a pull through cache miss against a direct pull from the same upstream, and a hit against a miss.

A 50 MB image (five 10 MB layers of random bytes) lives in an upstream registry: an `ecrlab emulator serve`
process of its own. A second `ecrlab emulator serve` process is the cache: its Docker Hub rule reaches the upstream
(`--upstream registry-1.docker.io=<upstream>`, logged in with the upstream's ECR token kept in Secrets Manager).
This process is the client: it logs in once and reads manifests and blobs over one connection pool, as
`docker login` then `docker pull` do, in full, and throws the bytes away. Each round pulls the image three ways:
straight from the upstream (direct), through the cache after deleting its repository (miss) and through the
filled cache (hit); the order alternates round by round (direct, miss, hit; hit, miss, direct). A miss streams each
layer from the upstream to the client while it fills the cache, so it should cost about one direct pull.
Targets: miss / direct <= 1.2; hit / miss <= 0.5.
Usage: python benchmarks/bench_pull_through_cache.py [ROUNDS]
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import urllib3
from rounds import ratios, report

ROUNDS = 15
LAYERS, LAYER_BYTES = 5, 10_000_000
HUB = "registry-1.docker.io"
BIN = Path(sys.executable).parent
ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"


def serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    command = [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def client(service: str, url: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIABENCH00000000000",
        aws_secret_access_key="x",
    )  # fmt: skip


class LoggedIn:
    """A registry's /v2/ with one login and one connection pool: what a pull costs the registry."""

    def __init__(self, url: str) -> None:
        self.url, self.http = url, urllib3.PoolManager(retries=False)
        token = client("ecr", url).get_authorization_token()["authorizationData"][0]["authorizationToken"]
        self.password = base64.b64decode(token).decode().partition(":")[2]
        self.auth = {"Authorization": f"Basic {token}"}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> bytes:
        response = self.http.request(method, self.url + path, body=body, headers={**self.auth, **(headers or {})})
        assert response.status < 300, (path, response.status, response.data[:200])
        return response.data

    def pull(self, repository: str, reference: str) -> None:
        doc = json.loads(self.request("GET", f"/v2/{repository}/manifests/{reference}", headers={"Accept": ACCEPT}))
        for blob in (doc["config"], *doc["layers"]):
            response = self.http.request(
                "GET", f"{self.url}/v2/{repository}/blobs/{blob['digest']}", headers=self.auth, preload_content=False
            )
            assert response.status == 200, (blob["digest"], response.status)
            for _ in response.stream(1 << 20):
                pass
            response.release_conn()

    def push(self, repository: str, tag: str) -> None:
        """An image of LAYERS random layers, uploaded monolithically."""

        def upload(data: bytes) -> dict:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            self.request("POST", f"/v2/{repository}/blobs/uploads/?digest={digest}", body=data)
            return {"digest": digest, "size": len(data)}

        config = {"mediaType": "application/vnd.oci.image.config.v1+json", **upload(b'{"os":"linux"}')}
        layers = [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **upload(os.urandom(LAYER_BYTES))}
            for _ in range(LAYERS)
        ]
        manifest = {"schemaVersion": 2, "mediaType": ACCEPT.split(",")[0], "config": config, "layers": layers}
        headers = {"Content-Type": ACCEPT.split(",")[0]}
        self.request("PUT", f"/v2/{repository}/manifests/{tag}", json.dumps(manifest).encode(), headers)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    upstream_proc, upstream_url = serve()
    cache_proc = None
    try:
        client("ecr", upstream_url).create_repository(repositoryName="library/big")
        upstream = LoggedIn(upstream_url)
        upstream.push("library/big", "1")
        cache_proc, cache_url = serve("--upstream", f"{HUB}={upstream_url}")
        secret = json.dumps({"username": "AWS", "accessToken": upstream.password})
        arn = client("secretsmanager", cache_url).create_secret(Name="ecr-pullthroughcache/up", SecretString=secret)
        ecr = client("ecr", cache_url)
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix="bench", upstreamRegistryUrl=HUB, credentialArn=arn["ARN"]
        )
        cache = LoggedIn(cache_url)

        def direct() -> float:
            return timed(lambda: upstream.pull("library/big", "1"))

        def miss() -> float:
            ecr.delete_repository(repositoryName="bench/library/big", force=True)
            return timed(lambda: cache.pull("bench/library/big", "1"))

        def hit() -> float:
            return timed(lambda: cache.pull("bench/library/big", "1"))

        cache.pull("bench/library/big", "1")  # warm both ends; the cache is full for an odd round's first hit
        upstream.pull("library/big", "1")
        times: dict[str, list[float]] = {"direct": [], "miss": [], "hit": []}
        for i in range(rounds):
            for side in (direct, miss, hit) if i % 2 == 0 else (hit, miss, direct):
                times[side.__name__].append(side())
        mb = LAYERS * LAYER_BYTES / 1e6
        medians = {name: statistics.median(values) for name, values in times.items()}
        print(
            f"pull through cache, {mb:.0f} MB image, {rounds} rounds (ms, medians): direct {medians['direct']:.0f}, "
            f"miss {medians['miss']:.0f}, hit {medians['hit']:.0f}"
        )
        report("P-stream", f"pull through cache miss / direct upstream pull, {mb:.0f} MB",
               ratios(times["miss"], times["direct"]), 1.2)  # fmt: skip
        report("P6", f"pull through cache hit / miss, {mb:.0f} MB", ratios(times["hit"], times["miss"]), 0.5)
    finally:
        for proc in (cache_proc, upstream_proc):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)


if __name__ == "__main__":
    main()
