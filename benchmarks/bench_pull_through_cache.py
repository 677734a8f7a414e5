"""P-stream and P6: a pull through cache miss against a direct pull from the same upstream, and a hit against a miss.

A 50 MB image (five 10 MB layers of random bytes) lives in an upstream registry: an `ecrlab emulator serve`
process of its own, reached over a link of LINK_MB_S megabytes a second (a relay process that paces what the far
end sends, per connection), as a registry on the internet is. A second `ecrlab emulator serve` process is the
cache, whose Docker Hub rule reaches the upstream over that link (`--upstream registry-1.docker.io=<link>`, logged
in with the upstream's ECR token kept in Secrets Manager). This process is the client: it logs in once and reads
manifests and blobs over one connection pool, as `docker login` then `docker pull` do, in full, and throws the
bytes away. Each round pulls the image three ways: from the upstream over the link (direct), through the cache
after deleting its repository (miss), and through the filled cache (hit); the order alternates round by round
(direct, miss, hit; hit, miss, direct). Two places for the cache: next to the client (as ECR is to a job in its
region: filling the cache then serving it costs the link once plus a fast local copy), and behind the same kind
of link as the upstream (every hop alike: filling then serving would cost the link twice, which is how a miss
cost 2x a direct pull before misses streamed). A miss streams each layer from the upstream to the client while it
fills the cache, so either way it costs about one direct pull. Targets: miss / direct <= 1.2; hit / miss <= 0.5
where the cache is next to the client. The same rounds with every hop on bare loopback follow, for information:
there the cache's own work per byte (sha256 of every byte, a disk copy) is most of a miss.
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
from rounds import ratios, report, spread

ROUNDS = 15
LAYERS, LAYER_BYTES = 5, 10_000_000
LINK_MB_S = 100  # a fast internet link to Docker Hub's CDN, about 800 Mbit/s
HUB = "registry-1.docker.io"
BIN = Path(sys.executable).parent
ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
# The link: a relay in its own process that paces the upstream's answers to `rate` bytes a second per connection.
LINK = """
import socket, sys, threading, time
target, rate = int(sys.argv[1]), float(sys.argv[2])

def pump(source, sink, paced):
    start, sent = time.perf_counter(), 0
    try:
        while data := source.recv(65536):
            sink.sendall(data)
            sent += len(data)
            if paced:
                start = max(start, time.perf_counter() - 0.05)  # an idle connection earns no burst
                time.sleep(max(0.0, start + sent / rate - time.perf_counter()))
                start, sent = (start + sent / rate, 0)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    client, _ = listener.accept()
    upstream = socket.create_connection(("127.0.0.1", target))
    for nodelay in (client, upstream):
        nodelay.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=pump, args=(client, upstream, False), daemon=True).start()
    threading.Thread(target=pump, args=(upstream, client, True), daemon=True).start()
"""


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

    def __init__(self, url: str, api: str | None = None) -> None:
        self.url, self.http = url, urllib3.PoolManager(retries=False)
        token = client("ecr", api or url).get_authorization_token()["authorizationData"][0]["authorizationToken"]
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


def link(upstream_url: str, megabytes_per_second: float) -> tuple[subprocess.Popen[str], str]:
    port = upstream_url.rsplit(":", 1)[1]
    command = [sys.executable, "-c", LINK, port, str(megabytes_per_second * 1e6)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, f"http://127.0.0.1:{proc.stdout.readline().strip()}"


def cache_of(upstream_url: str, password: str) -> tuple[subprocess.Popen[str], str, Any]:
    """A cache server whose rule `bench` reaches the upstream at `upstream_url` as Docker Hub: (process, URL, ECR)."""
    proc, url = serve("--upstream", f"{HUB}={upstream_url}")
    secret = json.dumps({"username": "AWS", "accessToken": password})
    arn = client("secretsmanager", url).create_secret(Name="ecr-pullthroughcache/up", SecretString=secret)["ARN"]
    ecr = client("ecr", url)
    ecr.create_pull_through_cache_rule(ecrRepositoryPrefix="bench", upstreamRegistryUrl=HUB, credentialArn=arn)
    return proc, url, ecr


def measure(direct_from: LoggedIn, ecr: Any, cache: LoggedIn, rounds: int) -> dict[str, list[float]]:
    """Per round, ms of a direct pull, a miss and a hit, in alternating order."""

    def direct() -> float:
        return timed(lambda: direct_from.pull("library/big", "1"))

    def miss() -> float:
        ecr.delete_repository(repositoryName="bench/library/big", force=True)
        return timed(lambda: cache.pull("bench/library/big", "1"))

    def hit() -> float:
        return timed(lambda: cache.pull("bench/library/big", "1"))

    cache.pull("bench/library/big", "1")  # warm both ends; the cache is full for an odd round's first hit
    direct_from.pull("library/big", "1")
    times: dict[str, list[float]] = {"direct": [], "miss": [], "hit": []}
    for i in range(rounds):
        for side in (direct, miss, hit) if i % 2 == 0 else (hit, miss, direct):
            times[side.__name__].append(side())
    return times


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS
    upstream_proc, upstream_url = serve()
    procs = [upstream_proc]
    try:
        client("ecr", upstream_url).create_repository(repositoryName="library/big")
        upstream = LoggedIn(upstream_url)
        upstream.push("library/big", "1")
        link_proc, link_url = link(upstream_url, LINK_MB_S)
        procs.append(link_proc)
        mb = LAYERS * LAYER_BYTES / 1e6
        over = f"over a {LINK_MB_S} MB/s link"
        setups = (
            (f"cache next to the client, upstream {over}", link_url, False),
            (f"every hop {over}", link_url, True),
            ("every hop on bare loopback", upstream_url, False),
        )
        for label, reach, client_over_link in setups:
            cache_proc, cache_url, ecr = cache_of(reach, upstream.password)
            procs.append(cache_proc)
            cache = LoggedIn(cache_url)
            if client_over_link:
                cache_link_proc, cache_link_url = link(cache_url, LINK_MB_S)
                procs.append(cache_link_proc)
                cache = LoggedIn(cache_link_url, api=cache_url)
            times = measure(LoggedIn(reach), ecr, cache, rounds)
            medians = {name: statistics.median(values) for name, values in times.items()}
            print(
                f"pull through cache, {mb:.0f} MB image, {label}, {rounds} rounds (ms, medians): "
                f"direct {medians['direct']:.0f}, miss {medians['miss']:.0f}, hit {medians['hit']:.0f}"
            )
            misses, hits = ratios(times["miss"], times["direct"]), ratios(times["hit"], times["miss"])
            if reach == upstream_url:  # for information: the cache's own work per byte, no target
                low, high = spread(misses)
                print(f"  miss / direct, {label}: median {statistics.median(misses):.3f} ({low:.3f}-{high:.3f})")
                continue
            report("P-stream", f"pull through cache miss / direct pull, {mb:.0f} MB, {label}", misses, 1.2)
            if not client_over_link:  # a hit is fast only where the cache is near the client
                report("P6", f"pull through cache hit / miss, {mb:.0f} MB, {label}", hits, 0.5)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
