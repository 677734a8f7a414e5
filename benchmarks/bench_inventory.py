"""P3: inventory of a registry with 5,000 repositories x 4 images, against a hand-written boto3 loop.

Both make the same calls (describe_repositories, describe_images per repository, the template audit's
reads) against the same emulator in the same run. The emulator is an `ecrlab emulator serve` process, as a
registry is remote: in the client's own process it would share one GIL with the client, and ecrlab's concurrency
(meant for network round trips) could not show.
Loop and inventory alternate round by round (which goes first alternates too); each round's ratio is reported.
Target: ecrlab <= 1.0 x the loop. Usage: python benchmarks/bench_inventory.py [REPOSITORIES [ROUNDS]]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rounds import interleaved, ratios, report

import ecrlab
from ecrlab import templates
from ecrlab.inventory import inventory

IMAGES_PER_REPOSITORY = 4


def seed(registry: ecrlab.Registry, repositories: int) -> None:
    """Fill the registry through the API, eight repositories at a time: the benchmark measures reading."""
    ecr = registry.client()

    def one(r: int) -> None:
        name = f"team-{r % 50}/service-{r}"
        ecr.create_repository(repositoryName=name)
        for i in range(IMAGES_PER_REPOSITORY):
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "layers": [],
                "annotations": {"r": str(r), "i": str(i)},
            }
            ecr.put_image(repositoryName=name, imageManifest=json.dumps(manifest), imageTag=f"v{i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(repositories)))


def hand_written_loop(registry: ecrlab.Registry) -> list[tuple]:
    """What an engineer writes without ecrlab: paginate repositories, then each repository's images."""
    ecr = registry.client()
    rows = []
    for page in ecr.get_paginator("describe_repositories").paginate():
        for repo in page["repositories"]:
            for images in ecr.get_paginator("describe_images").paginate(repositoryName=repo["repositoryName"]):
                for image in images["imageDetails"]:
                    rows.append(
                        (
                            repo["repositoryName"],
                            image["imageDigest"],
                            image.get("imageTags"),
                            image.get("imageScanStatus", {}).get("status"),
                        )
                    )
    templates.audit(registry)
    return rows


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def peak_mib(function, *args, **kwargs) -> float:
    """Peak Python allocation while `function` runs (a separate pass: tracing slows everything down)."""
    tracemalloc.start()
    function(*args, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    repositories = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "ecrlab"), "emulator", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        measure(ecrlab.connect(endpoint_url=server.stdout.readline().strip()), repositories, rounds)
    finally:
        server.terminate()
        server.wait()


def measure(registry: ecrlab.Registry, repositories: int, rounds: int) -> None:
    start = time.perf_counter()
    seed(registry, repositories)
    print(f"seeded {repositories} repositories x {IMAGES_PER_REPOSITORY} images in {time.perf_counter() - start:.1f} s")
    frames: list[object] = []

    def loop_seconds() -> float:
        seconds, rows = timed(hand_written_loop, registry)
        assert len(rows) == repositories * IMAGES_PER_REPOSITORY
        return seconds

    def inventory_seconds() -> float:
        seconds, frame = timed(inventory, registry, progress=False)
        assert len(frame) == repositories * IMAGES_PER_REPOSITORY
        frames.append(frame)
        return seconds

    ours, loops = interleaved(inventory_seconds, loop_seconds, rounds)
    print(
        f"P3 hand-written loop: {statistics.median(loops):.1f} s, inventory: {statistics.median(ours):.1f} s (medians)"
    )
    print(f"P3 inventory peak {peak_mib(inventory, registry, progress=False):.0f} MiB traced in a separate pass")
    report("P3", f"inventory / hand-written boto3 loop, {repositories} repositories", ratios(ours, loops), 1.0)


if __name__ == "__main__":
    main()
