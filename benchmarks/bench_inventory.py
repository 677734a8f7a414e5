"""P3: inventory of a registry with 5,000 repositories x 4 images, against a hand-written boto3 loop.

Both make the same calls (describe_repositories, describe_images per repository, the template audit's
reads) against the same emulator in the same run; ecrlab describes repositories concurrently.
Loop and inventory alternate for ROUNDS rounds and the medians are compared: on a shared machine one pair
swings by ±15 %. Target: ecrlab <= 1.0 x the loop. Usage: python benchmarks/bench_inventory.py [REPOSITORIES [ROUNDS]]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import tracemalloc

import ecrlab
from ecrlab import templates
from ecrlab.inventory import inventory

IMAGES_PER_REPOSITORY = 4


def seed(registry: ecrlab.Registry, repositories: int) -> None:
    """Fill the emulator through moto's backend directly: the benchmark measures reading, not writing."""
    from moto.ecr.models import ecr_backends

    backend = ecr_backends[registry.account_id][registry.region]
    for r in range(repositories):
        name = f"team-{r % 50}/service-{r}"
        backend.create_repository(name, None, None, None, "MUTABLE", [])
        for i in range(IMAGES_PER_REPOSITORY):
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "layers": [],
                    "annotations": {"r": str(r), "i": str(i)},
                }
            )
            backend.put_image(name, manifest, f"v{i}")


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
    registry = ecrlab.connect()
    start = time.perf_counter()
    seed(registry, repositories)
    print(f"seeded {repositories} repositories x {IMAGES_PER_REPOSITORY} images in {time.perf_counter() - start:.1f} s")
    loops, ours = [], []
    for _ in range(rounds):
        loop_s, rows = timed(hand_written_loop, registry)
        ours_s, frame = timed(inventory, registry, progress=False)
        assert len(rows) == len(frame) == repositories * IMAGES_PER_REPOSITORY
        loops.append(loop_s)
        ours.append(ours_s)
    loop_s, ours_s = statistics.median(loops), statistics.median(ours)
    print(f"P3 hand-written loop: {loop_s:.1f} s (median of {rounds})")
    print(
        f"P3 ecrlab inventory:  {ours_s:.1f} s (median of {rounds}), {len(frame)} rows, "
        f"peak {peak_mib(inventory, registry, progress=False):.0f} MiB traced in a separate pass"
    )
    shown = ", ".join(f"{o / lp:.3f}" for lp, o in zip(loops, ours, strict=True))
    print(f"P3 ratio inventory/loop = {ours_s / loop_s:.3f} (target <= 1.0); each round: {shown}")


if __name__ == "__main__":
    main()
