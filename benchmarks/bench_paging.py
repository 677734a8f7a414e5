"""P-paging: a 100-item DescribeRepositories page at 5,000 repositories against the same page at 100.

Two `ecrlab` emulator servers, each in its own process, one holding 100 repositories and one 5,000 (created
through moto's backend inside the server process before it serves: the benchmark measures reading). One client
asks both for a page (`maxResults` 100; of the 5,000, the first and the 41st through its token in turn),
call by call, alternating which is asked first. A round is CALLS such calls on each side. Listing costs what the
page holds, not what it leaves out. Target: 5,000 / 100 <= 5.
Usage: python benchmarks/bench_paging.py [ROUNDS]
"""

from __future__ import annotations

import subprocess
import sys
import time

import boto3
from rounds import ratios, report

CALLS = 10
PAGE = 100

SERVE = """
import sys
from moto.ecr.models import ecr_backends
from ecrlab.emulator.server import EmulatorServer
server = EmulatorServer()
backend = ecr_backends["123456789012"]["us-east-1"]
for i in range(int(sys.argv[1])):
    backend.create_repository(f"team-{i % 50}/service-{i}", None, {"encryptionType": "AES256"},
                              {"scanOnPush": False}, "MUTABLE", [])
print(server.url, flush=True)
server.serve_forever()
"""


def start(repositories: int) -> tuple[subprocess.Popen[str], object]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(repositories)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    ecr = boto3.client(
        "ecr",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIABENCH00000000000",
        aws_secret_access_key="x",
    )
    return server, ecr


def one_call(ecr, token: str | None) -> float:
    start = time.perf_counter()
    page = ecr.describe_repositories(maxResults=PAGE, **({"nextToken": token} if token else {}))
    spent = time.perf_counter() - start
    assert len(page["repositories"]) == PAGE
    return spent


def deep_token(ecr, pages: int) -> str:
    """The token of page `pages` + 1: a later page must cost no more than the first."""
    token = None
    for _ in range(pages):
        token = ecr.describe_repositories(maxResults=PAGE, **({"nextToken": token} if token else {}))["nextToken"]
    assert token
    return token


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    small_server, small = start(PAGE)
    large_server, large = start(5000)
    try:
        deep = deep_token(large, 40)
        for ecr in (small, large):
            one_call(ecr, None)
        per_small, per_large = [], []
        for r in range(rounds):
            spent = {"small": 0.0, "large": 0.0}
            for k in range(CALLS):
                # the large registry's first page, then its 41st (through a token), in turn
                order = [("small", small, None), ("large", large, deep if k % 2 else None)]
                for side, ecr, token in order if (r + k) % 2 == 0 else order[::-1]:
                    spent[side] += one_call(ecr, token)
            per_small.append(spent["small"])
            per_large.append(spent["large"])
    finally:
        for server in (small_server, large_server):
            server.terminate()
            server.wait()
    n = rounds * CALLS
    print(
        f"P-paging a {PAGE}-item page: {sum(per_small) / n * 1000:.1f} ms at {PAGE} repositories, "
        f"{sum(per_large) / n * 1000:.1f} ms at 5,000 (first and 41st pages in turn; {n} pages per side)"
    )
    report(
        "P-paging", "DescribeRepositories page of 100 at 5,000 / at 100 repositories", ratios(per_large, per_small), 5
    )


if __name__ == "__main__":
    main()
