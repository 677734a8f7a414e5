"""A whole registry in one DataFrame: every image with its repository, scan status and template drift.

Repositories are listed once; their images are described concurrently (ECR allows parallel Describe
calls; botocore clients are thread-safe), with a progress bar and rows kept as small tuples. Threads pay off
only while calls wait on the network: the first few repositories are described one by one, and when those
calls kept this process's CPU busy the whole time (an endpoint in this very process, as the embedded emulator
is) the rest are too, as more threads would only contend for the GIL.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ecrlab.registry import Registry

COLUMNS = ["repository", "digest", "tags", "pushed_at", "size", "scan_status", "template", "drifted_settings"]


def _images(ecr: Any, repository: str) -> list[tuple[Any, ...]]:
    rows = []
    for page in ecr.get_paginator("describe_images").paginate(repositoryName=repository):
        for image in page["imageDetails"]:
            rows.append(
                (
                    repository,
                    image["imageDigest"],
                    ",".join(sorted(image.get("imageTags", []))),
                    image.get("imagePushedAt"),
                    image.get("imageSizeInBytes"),
                    image.get("imageScanStatus", {}).get("status"),
                )
            )
    return rows


PROBE = 8  # repositories described one by one first, to see whether calls wait or compute


def threads_worth_it(wall_seconds: float, cpu_seconds: float) -> bool:
    """Whether calls spent their time waiting (network: threads overlap it) rather than computing here."""
    return cpu_seconds < 0.8 * wall_seconds


def inventory(registry: Registry, *, workers: int = 8, progress: bool = True) -> pd.DataFrame:
    """One row per image (`COLUMNS`), sorted by repository and digest; empty repositories get no rows."""
    import pandas as pd
    from tqdm.auto import tqdm

    from ecrlab import templates

    ecr = registry.client()
    repositories = [
        repo for page in ecr.get_paginator("describe_repositories").paginate() for repo in page["repositories"]
    ]
    names = [repo["repositoryName"] for repo in repositories]
    drift = templates.audit(registry, repositories=repositories)
    by_repository = {
        name: (group["template"].iloc[0], int((~group["compliant"]).sum()))
        for name, group in drift.groupby("repository")
    }
    rows: list[tuple[Any, ...]] = []
    bar = tqdm(total=len(names), desc="describing images", disable=not progress)

    def add(images: list[tuple[Any, ...]]) -> None:
        rows.extend((*row, *by_repository.get(row[0], (None, 0))) for row in images)
        bar.update()

    wall, cpu = time.perf_counter(), time.process_time()
    for name in names[:PROBE]:
        add(_images(ecr, name))
    if not threads_worth_it(time.perf_counter() - wall, time.process_time() - cpu):
        workers = 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for images in pool.map(lambda name: _images(ecr, name), names[PROBE:]):
            add(images)
    bar.close()
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["repository", "digest"], ignore_index=True)
