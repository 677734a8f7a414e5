"""The registry inventory: every image, its scan status and its repository's template drift."""

from __future__ import annotations

import json

import pandas as pd

from ecrlab.inventory import COLUMNS, PROBE, inventory, threads_worth_it


def manifest(n: int) -> str:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "layers": [],
            "annotations": {"n": str(n)},
        }
    )


def test_inventory_lists_every_image_with_drift(registry):
    ecr = registry.client()
    ecr.create_repository_creation_template(
        prefix="prod", appliedFor=["CREATE_ON_PUSH"], imageTagMutability="IMMUTABLE"
    )
    for name in ("prod/api", "dev/api", "empty"):
        ecr.create_repository(repositoryName=name)
    for n in range(3):
        ecr.put_image(repositoryName="prod/api", imageManifest=manifest(n), imageTag=f"v{n}")
    ecr.put_image(repositoryName="dev/api", imageManifest=manifest(9), imageTag="latest")
    frame = inventory(registry, progress=False)
    assert list(frame.columns) == COLUMNS
    assert frame["repository"].tolist() == ["dev/api", "prod/api", "prod/api", "prod/api"]
    prod = frame[frame["repository"] == "prod/api"]
    assert set(prod["template"]) == {"prod"} and set(prod["drifted_settings"]) == {1}
    dev = frame[frame["repository"] == "dev/api"].iloc[0]
    assert pd.isna(dev["template"]) and dev["drifted_settings"] == 0 and dev["tags"] == "latest"


def test_threads_only_where_calls_wait():
    assert threads_worth_it(wall_seconds=0.40, cpu_seconds=0.03)  # AWS: a call is mostly network round trip
    assert not threads_worth_it(wall_seconds=0.10, cpu_seconds=0.095)  # an endpoint in this process: all CPU here


def test_inventory_is_the_same_past_the_probe_and_through_a_server_process(registry, server):
    import ecrlab

    for reg in (registry, ecrlab.connect(endpoint_url=server)):
        ecr = reg.client()
        names = [f"team/app-{i:02d}" for i in range(PROBE + 5)]  # some described one by one, the rest in the pool
        for n, name in enumerate(names):
            ecr.create_repository(repositoryName=name)
            ecr.put_image(repositoryName=name, imageManifest=manifest(n), imageTag="v1")
        frame = inventory(reg, progress=False)
        assert frame["repository"].tolist() == names and set(frame["tags"]) == {"v1"}


def test_inventory_lists_repositories_once(registry):
    """One DescribeRepositories walk serves the images and the template audit (issue 17)."""
    ecr = registry.client()
    ecr.create_repository_creation_template(prefix="ROOT", appliedFor=["CREATE_ON_PUSH"])
    for name in ("a1", "b1"):
        ecr.create_repository(repositoryName=name)
    calls: list[str] = []
    ecr.meta.events.register("before-call.ecr.DescribeRepositories", lambda **kwargs: calls.append("call"))
    inventory(registry, progress=False)
    assert calls == ["call"]
