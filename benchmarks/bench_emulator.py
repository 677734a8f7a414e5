"""P2 and P5: the emulator's cost per call against plain `moto_server`, and `import ecrlab` against `import boto3`.

P2: moto's own `moto_server` command and `ecrlab emulator serve` run as two server processes; one client process
sends the same boto3 workload (create a repository, describe it, put an image, list images) to both, call by
call, alternating which server is asked first. A round is ITERATIONS passes of the four calls on each side; its
ratio is ecrlab's time over moto's. Server CPU per call (from /proc, over the whole run) is printed beside it.
`moto_server` logs each request (to /dev/null here), a few tens of microseconds of a call of milliseconds.
Target P2: ecrlab <= 0.85 x moto per call.

P5: fresh interpreters importing `ecrlab` and `boto3`, alternately. Target P5: ecrlab <= 1.2 x boto3.
Usage: python benchmarks/bench_emulator.py [ROUNDS]
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
from rounds import cpu_seconds, interleaved, process_seconds, ratios, report

BIN = Path(sys.executable).parent
ITERATIONS = 10
IMPORT_ROUNDS = 10
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []})


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("moto_server did not start")


def start_ecrlab() -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [str(BIN / "ecrlab"), "emulator", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def client(url: str):
    return boto3.client(
        "ecr",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIABENCH00000000000",
        aws_secret_access_key="x",
    )


def calls(ecr, name: str) -> list[Callable[[], object]]:
    return [
        lambda: ecr.create_repository(repositoryName=name),
        lambda: ecr.describe_repositories(repositoryNames=[name]),
        lambda: ecr.put_image(repositoryName=name, imageManifest=MANIFEST, imageTag="v1"),
        lambda: ecr.list_images(repositoryName=name),
    ]


def p2(rounds: int) -> None:
    moto_server, moto_url = start_moto()
    ecrlab_server, ecrlab_url = start_ecrlab()
    try:
        moto, ours = client(moto_url), client(ecrlab_url)
        for ecr in (moto, ours):  # warm-up: connections, first-request imports, moto's app per service
            for call in calls(ecr, "warm-up"):
                call()
        cpu_before = cpu_seconds(moto_server.pid), cpu_seconds(ecrlab_server.pid)
        per_round_moto, per_round_ours = [], []
        for r in range(rounds):
            spent = {"moto": 0.0, "ours": 0.0}
            for i in range(ITERATIONS):
                name = f"repo-{r}-{i}"
                pairs = zip(calls(moto, name), calls(ours, name), strict=True)
                for k, (moto_call, our_call) in enumerate(pairs):
                    order = [("moto", moto_call), ("ours", our_call)]
                    for side, call in order if (r + i + k) % 2 == 0 else order[::-1]:
                        start = time.perf_counter()
                        call()
                        spent[side] += time.perf_counter() - start
            per_round_moto.append(spent["moto"])
            per_round_ours.append(spent["ours"])
        moto_cpu = cpu_seconds(moto_server.pid) - cpu_before[0]
        ours_cpu = cpu_seconds(ecrlab_server.pid) - cpu_before[1]
    finally:
        for server in (moto_server, ecrlab_server):
            server.terminate()
            server.wait()
    n = rounds * ITERATIONS * 4
    print(
        f"P2 per call: moto_server {sum(per_round_moto) / n * 1000:.2f} ms, ecrlab {sum(per_round_ours) / n * 1000:.2f}"
        f" ms; server CPU per call: moto_server {moto_cpu / n * 1000:.2f} ms, ecrlab {ours_cpu / n * 1000:.2f} ms "
        f"(ratio {ours_cpu / moto_cpu:.3f}, whole run); {n} calls per side"
    )
    report(
        "P2",
        "ecrlab server / plain moto_server, per call, paired call by call",
        ratios(per_round_ours, per_round_moto),
        0.85,
    )


def p5() -> None:
    ecrlab_s, boto3_s = interleaved(
        lambda: process_seconds([sys.executable, "-c", "import ecrlab"]),
        lambda: process_seconds([sys.executable, "-c", "import boto3"]),
        IMPORT_ROUNDS,
    )
    report("P5", "import ecrlab / import boto3, fresh interpreters", ratios(ecrlab_s, boto3_s), 1.2)
    registry_s, boto3_s = interleaved(
        lambda: process_seconds([sys.executable, "-c", "import ecrlab.registry"]),
        lambda: process_seconds([sys.executable, "-c", "import boto3"]),
        IMPORT_ROUNDS,
    )
    what = "import ecrlab.registry (connect's module, imports boto3) / import boto3"
    report("P5r", what, ratios(registry_s, boto3_s), 1.2)


def main() -> None:
    p2(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
    p5()


if __name__ == "__main__":
    main()
