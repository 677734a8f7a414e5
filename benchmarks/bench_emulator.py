"""P2 and P5: the emulator's call overhead against plain moto, and `import ecrlab` against `import boto3`.

P2 runs the same boto3 workload (create, describe, put-image, list) against moto's own threaded server and
against ecrlab's emulator server, each in a fresh process, alternating rounds; prints the median ratio.
P5 times fresh interpreters importing each package. Target: P2 ≤ 1.10, P5 ≤ 1.2.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

ROUNDS = 5
CALLS = 100

WORKLOAD = """
import json, sys, time, boto3
SERVER = sys.argv[1]
if SERVER == "moto":
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
else:
    from ecrlab.emulator.server import EmulatorServer
    url = EmulatorServer().start().url
ecr = boto3.client("ecr", endpoint_url=url, region_name="us-east-1",
                   aws_access_key_id="AKIABENCH00000000000", aws_secret_access_key="x")
# No config or layers: ecrlab (like ECR) refuses a manifest whose blobs were never uploaded.
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "layers": []})
ecr.describe_repositories()  # warm-up: connection and first-request imports
start = time.perf_counter()
for i in range(CALLS):
    ecr.create_repository(repositoryName=f"repo-{i}")
    ecr.describe_repositories(repositoryNames=[f"repo-{i}"])
    ecr.put_image(repositoryName=f"repo-{i}", imageManifest=manifest, imageTag="v1")
    ecr.list_images(repositoryName=f"repo-{i}")
print(time.perf_counter() - start)
""".replace("CALLS", str(CALLS))


def workload_seconds(server: str) -> float:
    out = subprocess.run([sys.executable, "-c", WORKLOAD, server], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def import_seconds(module: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return time.perf_counter() - start


def main() -> None:
    moto_times, ecrlab_times = [], []
    for _ in range(ROUNDS):
        moto_times.append(workload_seconds("moto"))
        ecrlab_times.append(workload_seconds("ecrlab"))
    moto_s, ecrlab_s = statistics.median(moto_times), statistics.median(ecrlab_times)
    calls = CALLS * 4
    print(
        f"P2 plain moto server: {moto_s / calls * 1000:.2f} ms/call, ecrlab emulator: "
        f"{ecrlab_s / calls * 1000:.2f} ms/call ({calls} calls x {ROUNDS} rounds, median)"
    )
    print(f"P2 ratio ecrlab/moto = {ecrlab_s / moto_s:.3f} (target <= 1.10)")

    boto3_times = [import_seconds("boto3") for _ in range(10)]
    ecrlab_import = [import_seconds("ecrlab") for _ in range(10)]
    registry_import = [import_seconds("ecrlab.registry") for _ in range(10)]
    b, e, r = (statistics.median(t) for t in (boto3_times, ecrlab_import, registry_import))
    print(
        f"P5 import boto3: {b * 1000:.0f} ms, import ecrlab: {e * 1000:.0f} ms, "
        f"import ecrlab.registry (connect's module, imports boto3): {r * 1000:.0f} ms (median of 10)"
    )
    print(f"P5 ratio ecrlab/boto3 = {e / b:.3f}, ecrlab.registry/boto3 = {r / b:.3f} (target <= 1.2)")


if __name__ == "__main__":
    main()
