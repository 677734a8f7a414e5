"""A whole registry in one DataFrame: every image with its repository, scan status and template drift.

Repositories are listed once; their images are described concurrently (ECR allows parallel Describe
calls; botocore clients are thread-safe), with a progress bar and rows kept as small tuples.
"""

from __future__ import annotations

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


def inventory(registry: Registry, *, workers: int = 8, progress: bool = True) -> pd.DataFrame:
    """One row per image (`COLUMNS`), sorted by repository and digest; empty repositories get no rows."""
    import pandas as pd
    from tqdm.auto import tqdm

    from ecrlab import templates

    ecr = registry.client()
    names = [
        repo["repositoryName"]
        for page in ecr.get_paginator("describe_repositories").paginate()
        for repo in page["repositories"]
    ]
    drift = templates.audit(registry)
    by_repository = {
        name: (group["template"].iloc[0], int((~group["compliant"]).sum()))
        for name, group in drift.groupby("repository")
    }
    rows: list[tuple[Any, ...]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for images in tqdm(
            pool.map(lambda name: _images(ecr, name), names),
            total=len(names),
            desc="describing images",
            disable=not progress,
        ):
            rows += [(*row, *by_repository.get(row[0], (None, 0))) for row in images]
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["repository", "digest"], ignore_index=True)
